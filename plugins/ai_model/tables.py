"""The AI model plugin's tables: model versions and predictions (all named `ai_model_*`)."""

from piccolo.columns import JSON, UUID, Boolean, ForeignKey, Integer, Real, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from core.tables import Tenant, User


class ModelVersion(Table, tablename="ai_model_version"):
    id = UUID(primary_key=True)
    tenant = ForeignKey(references=Tenant, index=True)
    number = Integer()  # 1, 2, 3... per tenant
    state = Varchar(length=16, default="building")  # building | ready | failed
    active = Boolean(default=False)
    created_by = ForeignKey(references=User, null=True)
    created_at = Timestamptz(default=TimestamptzNow())
    job_id = UUID(null=True, default=None)
    n_interviews = Integer(default=0)
    feature_names = JSON(default=[])
    extractor_versions = JSON(default={})  # extractor name -> version used
    items = JSON(default={})  # item key -> {name, scale_min, scale_max, categorical, n, metrics, importance}
    per_expert = JSON(default={})  # item key -> expert id -> metrics on that expert's own scores (admins only)
    training_snapshot = JSON(default={})  # interview id -> {item key: label}
    warnings = JSON(default=[])
    error = Text(default="")
    artifact_key = Varchar(length=200, default="")


class Prediction(Table, tablename="ai_model_prediction"):
    id = UUID(primary_key=True)
    tenant = ForeignKey(references=Tenant, index=True)
    interview_id = UUID(index=True)
    item_key = Varchar(length=63)
    model_version = ForeignKey(references=ModelVersion, null=True)  # None: a base model answered
    source = Varchar(length=120, default="")  # "v3", or the base model's name
    value = Real(null=True, default=None)  # None with insufficient_data
    insufficient_data = Text(default="")  # why no number was given
    contributions = JSON(default=[])  # [[feature, shap value], ...], largest effect first
    base_value = Real(default=0.0)
    status = Varchar(length=16, default="unconfirmed")  # unconfirmed | confirmed | overridden
    override_value = Real(null=True, default=None)
    reviewed_by = ForeignKey(references=User, null=True)
    reviewed_at = Timestamptz(null=True, default=None)
    comment = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
