"""ethics_model pages: model versions and their reports (HTML, PDF, CSV). Only roles with the
protected-attributes permission see any of it; everyone else gets 404."""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from core import audit
from core.interviews.api import definitions, requires_attribute_access, uuid_or_404
from core.tables import json_value
from core.fairness_report import report_csv, report_html, report_pdf
from core.tenancy import TenantScope
from core.web.i18n import current_language
from core.web.rendering import page
from plugins.ethics_model.tables import ModelReport

GUARDS = [requires_attribute_access]


@get("/", name="ethics_model_index", guards=GUARDS)
async def index(request: Request, tenant_scope: NamedDependency[TenantScope]) -> Template:
    host = request.app.state.plugin_host
    answers = await host.call_for_tenant("mendan_model_versions", tenant_id=tenant_scope.tenant_id)
    versions = [v for _key, listed in answers for v in listed]
    reports = await tenant_scope.select(ModelReport, ModelReport.id, ModelReport.model_version_number,
                                        ModelReport.made_at, ModelReport.risk).order_by(ModelReport.made_at,
                                                                                        ascending=False)
    return await page(request, "ethics_model/index.html", versions=versions, reports=reports,
                      has_attributes=bool(await definitions(tenant_scope)))


@post("/versions/{version_id:str}/analyse", name="ethics_model_analyse", guards=GUARDS, media_type=MediaType.HTML)
async def analyse(request: Request, tenant_scope: NamedDependency[TenantScope], version_id: FromPath[str]) -> Redirect:
    job = await request.app.state.tasks.enqueue("ethics_model.analyse", tenant_id=tenant_scope.tenant_id,
                                                version_id=str(uuid_or_404(version_id)),
                                                requested_by=str(request.user.id))
    await audit.record("ethics_model.analysis_requested", tenant_id=tenant_scope.tenant_id, actor=request.user,
                       target=version_id, ip=audit.client_ip(request))
    return Redirect(f"/t/{request.path_params['tenant']}/jobs/{job}")


async def _report(scope: TenantScope, report_id: str) -> ModelReport:
    return await scope.get(ModelReport, uuid_or_404(report_id))


@get("/reports/{report_id:str}", name="ethics_model_report", guards=GUARDS)
async def report_page(request: Request, tenant_scope: NamedDependency[TenantScope], report_id: FromPath[str]) -> Template:
    row = await _report(tenant_scope, report_id)
    report = json_value(row.report)
    return await page(request, "ethics_model/report.html", row=row, report=report,
                      body=report_html(report, current_language.get(), standalone=False))


@get("/reports/{report_id:str}/pdf", name="ethics_model_report_pdf", guards=GUARDS)
async def report_as_pdf(request: Request, tenant_scope: NamedDependency[TenantScope], report_id: FromPath[str]) -> Response:
    row = await _report(tenant_scope, report_id)
    return Response(report_pdf(json_value(row.report), current_language.get()), media_type="application/pdf",
                    headers={"content-disposition": f'attachment; filename="ethics-model-{row.id}.pdf"'})


@get("/reports/{report_id:str}/csv", name="ethics_model_report_csv", guards=GUARDS)
async def report_as_csv(request: Request, tenant_scope: NamedDependency[TenantScope], report_id: FromPath[str]) -> Response:
    row = await _report(tenant_scope, report_id)
    return Response(report_csv(json_value(row.report)), media_type="text/csv",
                    headers={"content-disposition": f'attachment; filename="ethics-model-{row.id}.csv"'})


HANDLERS: list[Any] = [index, analyse, report_page, report_as_pdf, report_as_csv]
