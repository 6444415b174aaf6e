"""The report page and its CSV, under /t/{tenant}/video_analysis/ (admins and experts): over
every interview of the tenant for an admin, over the interviews an expert takes part in for them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.response import Response, Template

from core.auth.guards import requires_role
from core.interviews.api import visible_interview_ids
from core.tenancy import TenantScope
from core.web.rendering import page
from plugins.face_features.video_analysis import plots
from plugins.face_features.video_analysis.report_data import evaluation_labels, face_feature_table
from plugins.face_features.video_analysis.statistics import report_tables

if TYPE_CHECKING:
    import pandas as pd

GUARDS = [requires_role("admin", "expert")]


async def _visible_tables(request: Request, scope: TenantScope) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(face features, expert labels), each indexed by interview id (text), of the interviews the
    signed-in user may see (`visible_interview_ids`)."""
    features, labels = await face_feature_table(scope), await evaluation_labels(scope)
    visible = await visible_interview_ids(scope, request.user)
    if visible is not None:
        features, labels = features[features.index.isin(visible)], labels[labels.index.isin(visible)]
    return features, labels


@get("/", guards=GUARDS, name="video_analysis_report")
async def report_page(request: Request, tenant_scope: NamedDependency[TenantScope]) -> Template:
    features, labels = await _visible_tables(request, tenant_scope)
    tables = report_tables(features, labels)
    return await page(
        request, "video_analysis/report.html",
        interviews=len(features), items=list(labels.columns), tables=tables,
        histograms=plots.histograms(features), heatmap=plots.correlation_heatmap(tables.correlations),
    )


@get("/report.csv", guards=GUARDS, name="video_analysis_csv")
async def report_csv(request: Request, tenant_scope: NamedDependency[TenantScope]) -> Response[str]:
    tables = report_tables(*await _visible_tables(request, tenant_scope))
    return Response(
        tables.csv(), media_type="text/csv",
        headers={"content-disposition": 'attachment; filename="video-analysis.csv"'},
    )


ROUTES = [report_page, report_csv]
