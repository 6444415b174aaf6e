"""The interviews domain's answers to the host's hooks, registered by the assembly
(`mendan.assembly`) through the same door as a plugin's, so the core's pages never import
the domain."""

from __future__ import annotations

from typing import Any

from core.hookspecs import hookimpl
from core.interviews.nav import interview_nav


@hookimpl
def mendan_nav_items(user: Any):
    return interview_nav(user)


@hookimpl
async def mendan_home_sections(tenant: Any, user: Any):
    from core.interviews.home import home_sections

    return await home_sections(tenant, user)


@hookimpl
def mendan_job_names():
    return {"core.extract_features": ("動画の分析", "Video analysis"), "core.reanalyse": ("動画の再分析", "Video re-analysis"),
            "core.import_interviews": ("過去の面談の取り込み", "Importing past interviews")}


@hookimpl
def mendan_piccolo_apps():
    return ["core.interviews.piccolo_app", "core.interviews.attributes.piccolo_app"]
