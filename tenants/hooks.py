"""The tenants domain's answers to the host's hooks, registered by the assembly (`mendan.assembly`)."""

from __future__ import annotations

from core.hookspecs import hookimpl


@hookimpl
def mendan_job_names():
    return {"tenants.purge_expired": ("保存期間を過ぎたデータの削除", "Deleting data past its retention"),
            "tenants.purge_tenant": ("テナントのデータ削除", "Deleting a tenant's data")}


@hookimpl
def mendan_piccolo_apps():
    return ["tenants.piccolo_app"]
