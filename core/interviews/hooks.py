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
def mendan_piccolo_apps():
    return ["core.interviews.piccolo_app", "core.interviews.attributes.piccolo_app"]
