"""A staff member's home page: the lists the domains and plugins answer through
`mendan_home_sections`, and the tenant's failed jobs for an admin (jobs are the core's)."""

from __future__ import annotations

from typing import Any

import structlog

from core.db.tables import Job
from core.plugins import HomeSection, PluginHost
from core.tenancy import TenantScope
from core.web.job_names import job_name

log = structlog.get_logger("mendan.plugins")
ROWS = 5


async def failed_jobs_section(host: PluginHost, tenant: Any, language: str) -> HomeSection:
    """The tenant's failed jobs, newest first, each named in words and linking to its job page."""
    scope = TenantScope(tenant.id)
    failed = Job.state == "failed"
    rows = await scope.objects(Job).where(failed).order_by(Job.created_at, ascending=False).limit(ROWS)
    return HomeSection("失敗したジョブ", "Failed jobs",
                       tuple((f"{job_name(host, j.actor, language)} ({j.created_at:%Y-%m-%d %H:%M})", f"jobs/{j.id}") for j in rows),
                       "jobs?job_state=failed", await scope.count(Job).where(failed),
                       empty_ja="失敗したジョブはありません。", empty_en="No job has failed.", order=40)


async def home_sections(host: PluginHost, tenant: Any, user: Any, language: str) -> list[dict[str, Any]]:
    """The sections of `user`'s home page in `language`, in their order: title, rows of
    (text, href), total (None: not counted), href of the whole list, the text when empty.
    An interviewee has none. A plugin's answer that is not a HomeSection is left out and logged."""
    if user.role == "interviewee":
        return []
    sections: list[HomeSection] = []
    for key, answer in await host.call_for_tenant("mendan_home_sections", tenant=tenant, user=user):
        for section in answer if isinstance(answer, (list, tuple)) else [answer]:
            if isinstance(section, HomeSection):
                sections.append(section)
            else:
                log.error("plugin_home_failed", plugin=key, error=f"not a HomeSection: {section!r}")
    if user.role == "admin":
        sections.append(await failed_jobs_section(host, tenant, language))
    base = f"/t/{tenant.slug}/"
    return [{"title": s.title(language), "rows": [(text, base + path) for text, path in s.rows],
             "total": s.total, "more": base + s.more_path, "empty": s.empty(language)}
            for s in sorted(sections, key=lambda s: s.order)]
