"""The ethics_model plugin's table: one stored report per analysis of a model version."""

from piccolo.columns import JSON, UUID, ForeignKey, Integer, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from core.tables import Tenant, User


class ModelReport(Table, tablename="ethics_model_report"):
    id = UUID(primary_key=True)
    tenant = ForeignKey(references=Tenant, index=True)
    model_version_id = Varchar(length=64)  # as the AI model plugin names it
    model_version_number = Integer(default=0)
    requested_by = ForeignKey(references=User, null=True)
    made_at = Timestamptz(default=TimestamptzNow())
    risk = Varchar(length=8, default="")  # low | medium | high
    report = JSON(default={})  # core.fairness_report's shape
