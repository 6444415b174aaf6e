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
    job_id = UUID(null=True, default=None)  # unique (migration): one version per build job
    n_interviews = Integer(default=0)
    feature_names = JSON(default=[])
    extractor_versions = JSON(default={})  # extractor name -> version used
    items = JSON(default={})  # item key -> {name, scale_min, scale_max, categorical, n, metrics, importance}
    per_expert = JSON(default={})  # item key -> expert id -> metrics on that expert's own scores (admins only)
    training_snapshot = JSON(default={})  # interview id -> {item key: label}
    skipped = JSON(default={})  # item key -> why no model was built for it: {"code", "item", "n", ...}
    warnings = JSON(default=[])  # [{"code": "few", "item", "n", "recommended"}] (older versions: English text)
    error = Text(default="")  # the exception, for operators and logs
    failure = JSON(default={})  # why the build failed, for the page: {"code", ...params} (plugins.ai_model.texts)
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
    # sha256 of the features predicted from; unique with (interview, item, source) (migration),
    # so one analysis is predicted once per model. None on rows from before it existed.
    features_digest = Varchar(length=64, null=True, default=None)
