"""The video_analysis plugin's table: the report page's content, computed ahead of the page."""

from piccolo.columns import JSON, UUID, ForeignKey, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from core.tables import Tenant


class VideoAnalysisReport(Table, tablename="video_analysis_report"):
    """One report per tenant and audience (unique): `audience` is "all" (admins read every
    interview of the tenant) or "user:{id}" (an expert, over the interviews they take part in).
    `inputs` is the fingerprint of what it was computed from (`report_store.inputs_stamp`): a
    report whose fingerprint no longer matches is computed again before it is shown."""

    id = UUID(primary_key=True)
    tenant = ForeignKey(references=Tenant, index=True)
    audience = Varchar(length=64)
    inputs = Varchar(length=64)
    computed_at = Timestamptz(default=TimestamptzNow())
    report = JSON(default={})  # report_content.report_content's shape
