"""The pretrained-model option's tables (all named `pretrained_model_*`).

The vendor workspace (items, material, versions, artifacts) belongs to the provider and has
no `tenant` column: no tenant page reads it except a published version's model card. What a
tenant decides (its item mapping, its choice of model) has a `tenant` column like any tenant row.
"""

from piccolo.columns import JSON, UUID, Boolean, Bytea, Date, ForeignKey, Integer, Real, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from core.tables import Tenant, User


class VendorItem(Table, tablename="pretrained_model_item"):
    """An evaluation item of the provider's own (the scale its training material was scored on)."""

    id = UUID(primary_key=True)
    key = Varchar(length=63, unique=True)
    name_ja = Varchar(length=200)
    name_en = Varchar(length=200)
    scale_min = Real(default=1.0)
    scale_max = Real(default=5.0)


class Material(Table, tablename="pretrained_model_material"):
    """One interview of the provider's training material: its features and expert scores only."""

    id = UUID(primary_key=True)
    origin = Varchar(length=16)  # imported | donated | generated
    reference = Varchar(length=200, default="")  # the provider's own reference, no personal data
    recorded_on = Date(null=True, default=None)
    features = JSON(default={})  # "{extractor}.{feature}" -> value
    scores = JSON(default={})  # vendor item key -> score
    donor = Varchar(length=200, default="")  # donated: the tenant that gave it (slug at the time)
    consent_record = Text(default="")  # donated: the reference of the donor's consent record
    created_at = Timestamptz(default=TimestamptzNow())


class VendorVersion(Table, tablename="pretrained_model_version"):
    """A vendor model trained on the material; tenants see it only once published, with its card."""

    id = UUID(primary_key=True)
    number = Integer(unique=True)
    state = Varchar(length=16, default="ready")  # training | ready (a job's version is "training" until its models are stored)
    job_id = UUID(null=True, default=None)  # the training job that made it (unique: one version per job)
    generated = Boolean(default=False)  # trained on generated material (the demo's)
    published = Boolean(default=False)
    published_at = Timestamptz(null=True, default=None)
    n_material = Integer(default=0)
    period_from = Date(null=True, default=None)
    period_to = Date(null=True, default=None)
    origins = JSON(default={})  # origin -> number of interviews
    feature_names = JSON(default=[])
    items = JSON(default={})  # vendor item key -> {name_ja, name_en, scale_min, scale_max, n, metrics, importance}
    card = JSON(default={})  # intended_use_ja/en, limits_ja/en, licence
    error = Text(default="")
    created_by = ForeignKey(references=User, null=True)
    created_at = Timestamptz(default=TimestamptzNow())


class Artifact(Table, tablename="pretrained_model_artifact"):
    """One item's CatBoost model (cbm) of a vendor version; the provider's, not a tenant's blob."""

    id = UUID(primary_key=True)
    version = ForeignKey(references=VendorVersion, index=True)
    item_key = Varchar(length=63)
    model = Bytea()


class ItemMapping(Table, tablename="pretrained_model_mapping"):
    """A tenant's evaluation item predicted by a vendor item (rescaled linearly onto its scale)."""

    id = UUID(primary_key=True)
    tenant = ForeignKey(references=Tenant, index=True)
    item_key = Varchar(length=63)
    vendor_item = Varchar(length=63)


class Choice(Table, tablename="pretrained_model_choice"):
    """The tenant admin's decision: which published version (its card seen) and which model predicts."""

    id = UUID(primary_key=True)
    tenant = ForeignKey(references=Tenant, unique=True)
    version = ForeignKey(references=VendorVersion, null=True)
    use = Varchar(length=16, default="fallback")  # fallback | vendor | own | blend
    weights = JSON(default={})  # tenant item key -> the vendor's share in the blend
    weights_measured_on = Integer(null=True, default=None)  # the own model's version number they were measured on
    chosen_by = ForeignKey(references=User, null=True)
    chosen_at = Timestamptz(default=TimestamptzNow())
