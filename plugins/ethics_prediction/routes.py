"""ethics_prediction pages: the monthly snapshots (browsable, never changed) and an analysis
of any window of predictions, as HTML, PDF and CSV. Protected-attributes permission only;
everyone else gets 404."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath, Parameter
from litestar.response import Template

from core.interviews.api import requires_attribute_access, uuid_or_404
from core.tables import json_value
from core.fairness_report import report_csv, report_html, report_pdf
from core.hours import TOKYO
from core.tenancy import TenantScope
from core.web.i18n import current_language
from core.web.i18n import gettext as _
from core.web.rendering import page
from plugins.ethics_prediction.monitoring import verify, window_report
from plugins.ethics_prediction.tables import Snapshot

GUARDS = [requires_attribute_access]
Day = Annotated[str | None, Parameter(max_length=10, description="YYYY-MM-DD")]
WINDOW_DAYS = 30


@get("/", name="ethics_prediction_index", guards=GUARDS)
async def index(request: Request, tenant_scope: NamedDependency[TenantScope]) -> Template:
    snapshots = await tenant_scope.select(Snapshot, Snapshot.id, Snapshot.period, Snapshot.made_at, Snapshot.risk,
                                          Snapshot.alerted, Snapshot.n_predictions).order_by(Snapshot.period,
                                                                                             ascending=False)
    return await page(request, "ethics_prediction/index.html", snapshots=snapshots)


async def _snapshot(scope: TenantScope, snapshot_id: str) -> Snapshot:
    return await scope.get(Snapshot, uuid_or_404(snapshot_id))


@get("/snapshots/{snapshot_id:str}", name="ethics_prediction_snapshot", guards=GUARDS)
async def snapshot_page(request: Request, tenant_scope: NamedDependency[TenantScope], snapshot_id: FromPath[str]) -> Template:
    row = await _snapshot(tenant_scope, snapshot_id)
    report = json_value(row.report)
    return await page(request, "ethics_prediction/report.html", report=report, intact=verify(row),
                      base=f"snapshots/{row.id}", body=report_html(report, current_language.get(), standalone=False))


def _window(since: str | None, until: str | None) -> tuple[datetime, datetime]:
    try:
        end = datetime.strptime(until, "%Y-%m-%d").replace(tzinfo=TOKYO) + timedelta(days=1) if until else None
        start = datetime.strptime(since, "%Y-%m-%d").replace(tzinfo=TOKYO) if since else None
    except ValueError as exc:
        from litestar.exceptions import ValidationException

        raise ValidationException(_("Dates must be written YYYY-MM-DD.")) from exc
    end = end or datetime.now(TOKYO).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    start = start or end - timedelta(days=WINDOW_DAYS)
    if start >= end:
        from litestar.exceptions import ValidationException

        raise ValidationException(_("The start of the window must come before its end."))
    return start, end


@get("/window", name="ethics_prediction_window", guards=GUARDS)
async def window_page(request: Request, tenant_scope: NamedDependency[TenantScope], since: Day = None,
                      until: Day = None) -> Template:
    start, end = _window(since, until)
    report = await window_report(tenant_scope.tenant_id, start, end)
    return await page(request, "ethics_prediction/report.html", report=report, intact=True, base=None,
                      body=report_html(report, current_language.get(), standalone=False))


@get("/snapshots/{snapshot_id:str}/pdf", name="ethics_prediction_snapshot_pdf", guards=GUARDS)
async def snapshot_pdf(request: Request, tenant_scope: NamedDependency[TenantScope], snapshot_id: FromPath[str]) -> Response:
    row = await _snapshot(tenant_scope, snapshot_id)
    return Response(report_pdf(json_value(row.report), current_language.get()), media_type="application/pdf",
                    headers={"content-disposition": f'attachment; filename="ethics-predictions-{row.period}.pdf"'})


@get("/snapshots/{snapshot_id:str}/csv", name="ethics_prediction_snapshot_csv", guards=GUARDS)
async def snapshot_csv(request: Request, tenant_scope: NamedDependency[TenantScope], snapshot_id: FromPath[str]) -> Response:
    row = await _snapshot(tenant_scope, snapshot_id)
    return Response(report_csv(json_value(row.report)), media_type="text/csv",
                    headers={"content-disposition": f'attachment; filename="ethics-predictions-{row.period}.csv"'})


HANDLERS: list[Any] = [index, snapshot_page, window_page, snapshot_pdf, snapshot_csv]
