"""The report page and its CSV, under /t/{tenant}/video_analysis/ (admins and experts): over
every interview of the tenant for an admin, over the interviews an expert takes part in for them.
Both show the stored report (`report_store.report_for`); neither computes statistics while the
report is up to date."""

from __future__ import annotations

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.response import Response, Template

from core.auth.guards import requires_role
from core.features import feature_labels
from core.interviews.api import in_tokyo
from core.tenancy import TenantScope
from core.web.rendering import page
from plugins.face_features.video_analysis.report_data import EXTRACTOR
from plugins.face_features.video_analysis.report_content import csv_text
from plugins.face_features.video_analysis.report_store import report_for

GUARDS = [requires_role("admin", "expert")]
TABLE_ROWS = 50  # of each test's table on the page; the CSV has every row


@get("/", guards=GUARDS, name="video_analysis_report")
async def report_page(request: Request, tenant_scope: NamedDependency[TenantScope]) -> Template:
    report = await report_for(tenant_scope, request.user)
    content = report.content
    return await page(
        request, "video_analysis/report.html", report=content, computed_at=in_tokyo(report.computed_at),
        item_names={item["key"]: item["name"] for item in content["items"]},
        correlations=content["correlations"][:TABLE_ROWS], differences=content["differences"][:TABLE_ROWS],
        feature_name=_feature_names(request),
    )


def _feature_names(request: Request):
    """key -> the face feature's name in the reader's language, from the extractor's labels (the
    key itself for a feature without one)."""
    labels = feature_labels(request.app.state.plugin_host.feature_extractors(None))

    def name(key: str) -> str:
        label = labels.get(f"{EXTRACTOR}.{key}")
        return label.name() if label is not None else key

    return name


@get("/report.csv", guards=GUARDS, name="video_analysis_csv")
async def report_csv(request: Request, tenant_scope: NamedDependency[TenantScope]) -> Response[str]:
    report = await report_for(tenant_scope, request.user)
    # The byte-order mark lets spreadsheet programs read the items' Japanese names as UTF-8.
    return Response(
        "\ufeff" + csv_text(report.content), media_type="text/csv",
        headers={"content-disposition": 'attachment; filename="video-analysis.csv"'},
    )


ROUTES = [report_page, report_csv]
