"""Protected-attribute tables: what a tenant collects, and each person's answers (sealed)."""

from piccolo.columns import JSON, UUID, Boolean, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from core.db.tables import Tenant, User


class AttributeDefinition(Table, tablename="mendan_attribute_definition"):
    """One protected attribute a tenant collects (gender, age band, ...) and its values."""

    id = UUID(primary_key=True)
    tenant = ForeignKey(references=Tenant, index=True)
    key = Varchar(length=63)
    name_ja = Varchar(length=200)
    name_en = Varchar(length=200)
    choices = JSON(default=[])  # [{"key", "ja", "en"}]; "prefer not to say" is always added
    position = Integer(default=0)
    active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())


class PersonAttributes(Table, tablename="mendan_person_attributes"):
    """One person's answers, sealed with the tenant's data key; never stored as features."""

    id = UUID(primary_key=True)
    tenant = ForeignKey(references=Tenant, index=True)
    person = ForeignKey(references=User, index=True, unique=True)
    sealed = Text()  # base64(nonce + AES-GCM ciphertext of {"attribute key": "value key"})
    source = Varchar(length=8)  # admin | self
    consent_at = Timestamptz(null=True, default=None)  # when the person consented (self-declared)
    updated_by = ForeignKey(references=User, null=True)
    updated_at = Timestamptz(default=TimestamptzNow())
