"""The admin's analysis page: which extractors have not yet seen which interviews, and a
button that queues their re-analysis (core.interviews.reanalysis)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template

from core.auth.guards import requires_admin
from core.db.tables import Tenant
from core.features import extractor_title
from core.hours import service_guard
from core.interviews.analysis import enabled_extractors
from core.interviews.reanalysis import stale_analyses
from core.tenancy import tenant_guard
from core.web.rendering import page

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


@get("/t/{tenant:str}/analysis/", guards=[tenant_guard, requires_admin, service_guard("batch")])
async def analysis_page(request: Request, tenant_row: NamedDependency[Tenant]) -> Template:
    titles = {e.name: extractor_title(e) for e in await enabled_extractors(tenant_row.id)}
    return await page(request, "interviews/analysis.html", extractors=await stale_analyses(tenant_row.id),
                      titles=titles)


@post("/t/{tenant:str}/analysis/reanalyse", guards=[tenant_guard, requires_admin, service_guard("batch")])
async def reanalyse_button(request: Request, tenant_row: NamedDependency[Tenant],
                           data: Form) -> Redirect:
    extractor = str(data.get("extractor") or "") or None
    job_id = await request.app.state.tasks.enqueue(
        "core.reanalyse", tenant_id=tenant_row.id, extractor=extractor, all_interviews=data.get("all") == "1")
    return Redirect(f"/t/{tenant_row.slug}/jobs/{job_id}", status_code=303)


ANALYSIS_HANDLERS = [analysis_page, reanalyse_button]
