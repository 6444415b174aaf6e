"""The report page and its CSV, under /t/{tenant}/video_analysis/ (admins and experts)."""

from __future__ import annotations

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.response import Response, Template

from core.auth.guards import requires_role
from core.tenancy import TenantScope
from core.web.rendering import page
from plugins.face_features.video_analysis import plots
from plugins.face_features.video_analysis.report_data import evaluation_labels, face_feature_table
from plugins.face_features.video_analysis.statistics import report_tables

GUARDS = [requires_role("admin", "expert")]


@get("/", guards=GUARDS, name="video_analysis_report")
async def report_page(request: Request, tenant_scope: NamedDependency[TenantScope]) -> Template:
    features = await face_feature_table(tenant_scope)
    labels = await evaluation_labels(tenant_scope)
    tables = report_tables(features, labels)
    return await page(
        request, "video_analysis/report.html",
        interviews=len(features), items=list(labels.columns), tables=tables,
        histograms=plots.histograms(features), heatmap=plots.correlation_heatmap(tables.correlations),
    )


@get("/report.csv", guards=GUARDS, name="video_analysis_csv")
async def report_csv(tenant_scope: NamedDependency[TenantScope]) -> Response[str]:
    tables = report_tables(await face_feature_table(tenant_scope), await evaluation_labels(tenant_scope))
    return Response(
        tables.csv(), media_type="text/csv",
        headers={"content-disposition": 'attachment; filename="video-analysis.csv"'},
    )


ROUTES = [report_page, report_csv]
