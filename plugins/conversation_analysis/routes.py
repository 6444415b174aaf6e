"""Pages of the conversation analysis option, under /t/{tenant}/conversation_analysis/."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.response import Redirect, Template

from core import audit
from core.auth.guards import requires_admin, requires_staff
from core.tables import Tenant
from core.web.rendering import page
from plugins.conversation_analysis.service import latest_report, report_view


@get("/", name="conversation_analysis_lift", guards=[requires_staff])
async def lift_page(request: Request, tenant_row: NamedDependency[Tenant]) -> Template:
    report = await latest_report(tenant_row)
    return await page(request, "conversation_analysis/page.html", report=report,
                      items=report_view(report) if report else [])


@post("/lift", name="conversation_analysis_compute", guards=[requires_admin])
async def start_lift(request: Request, tenant_row: NamedDependency[Tenant]) -> Redirect:
    job_id = await request.app.state.tasks.enqueue("conversation_analysis.lift", tenant_id=tenant_row.id)
    await audit.record("conversation_analysis.lift_requested", tenant_id=tenant_row.id, actor=request.user,
                       target=str(job_id), ip=audit.client_ip(request))
    return Redirect(f"/t/{tenant_row.slug}/jobs/{job_id}")


HANDLERS = [lift_page, start_lift]
