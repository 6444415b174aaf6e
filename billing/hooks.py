"""The billing domain's answers to the host's hooks, registered by the assembly (`mendan.assembly`)."""

from __future__ import annotations

from core.hookspecs import hookimpl


@hookimpl
def mendan_piccolo_apps():
    return ["billing.piccolo_app"]
