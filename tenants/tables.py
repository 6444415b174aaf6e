"""The tenants domain's tables: profile, contract and its history, option history,
maintenance windows, emergency stops, consent texts and records, deletion reports.

Rows of one tenant carry `tenant` and are reached through `core.tenancy.TenantScope`;
maintenance windows, whole-service stops and deletion reports belong to the platform.
"""

from __future__ import annotations

from piccolo.columns import JSON, UUID, Boolean, Date, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from core.db.tables import Tenant, User

COURSES = ("weekday", "always")
CONTRACT_STATES = ("active", "ended")


class TenantProfile(Table, tablename="tenants_profile"):
    """Whom the operator contacts at the customer. The tenant's mail sender address and
    its DKIM key live with the interviews domain (`core.interviews.senders`)."""

    tenant = ForeignKey(references=Tenant, unique=True, index=True)
    contact_name = Varchar(length=200, default="")
    contact_email = Varchar(length=254, default="")
    # Linked from the consent page; the tenant's admin sets it on the mail settings page.
    privacy_policy_url = Varchar(length=500, default="")
    updated_at = Timestamptz(default=TimestamptzNow())


class Contract(Table, tablename="tenants_contract"):
    tenant = ForeignKey(references=Tenant, index=True)
    course = Varchar(length=16, default="weekday")  # weekday | always (spec table 5-1)
    starts_on = Date()
    ends_on = Date(null=True, default=None)
    # Days kept after the end before the data is deleted; None is one calendar month (spec 4.2).
    retention_grace_days = Integer(null=True, default=None)
    status = Varchar(length=16, default="active")  # active | ended
    created_at = Timestamptz(default=TimestamptzNow())


class ContractChange(Table, tablename="tenants_contract_change"):
    """One change of a contract: who, when, and each field's old and new value."""

    tenant = ForeignKey(references=Tenant, index=True)
    contract = ForeignKey(references=Contract, index=True)
    by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    at = Timestamptz(default=TimestamptzNow())
    changes = JSON(default={})


class OptionToggle(Table, tablename="tenants_option_toggle"):
    """Each switch of a plugin for a tenant; billing pro-rates option fees from this history."""

    tenant = ForeignKey(references=Tenant, index=True)
    plugin_key = Varchar(length=63, index=True)
    active = Boolean()
    at = Timestamptz(default=TimestamptzNow(), index=True)
    by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)


class MaintenanceWindow(Table, tablename="tenants_maintenance_window"):
    """A planned stop: interactive services of every tenant close from start to end."""

    starts_at = Timestamptz(index=True)
    ends_at = Timestamptz(index=True)
    message = Text(default="")
    created_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())


class EmergencyStop(Table, tablename="tenants_emergency_stop"):
    """An unannounced stop of one tenant, or of the whole service when `tenant` is empty."""

    tenant = ForeignKey(references=Tenant, null=True, index=True)
    message = Text(default="")
    started_at = Timestamptz(default=TimestamptzNow())
    ended_at = Timestamptz(null=True, default=None, index=True)
    started_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)


class ConsentText(Table, tablename="tenants_consent_text"):
    """A versioned consent text of a tenant for one purpose (recording, training)."""

    tenant = ForeignKey(references=Tenant, index=True)
    purpose = Varchar(length=32, index=True)
    version = Integer()
    text_ja = Text()
    text_en = Text()
    created_at = Timestamptz(default=TimestamptzNow())


class ConsentRecord(Table, tablename="tenants_consent_record"):
    """Who accepted which version of which consent text, when and from where."""

    tenant = ForeignKey(references=Tenant, index=True)
    user = ForeignKey(references=User, index=True)
    consent_text = ForeignKey(references=ConsentText)
    purpose = Varchar(length=32)
    version = Integer()
    accepted_at = Timestamptz(default=TimestamptzNow())
    ip = Varchar(length=64, default="")
    # "": accepted on the consent page; else who obtained it and how, as an admin declared it
    # (a bulk import of past interviews).
    source = Text(default="")


class DeletionReport(Table, tablename="tenants_deletion_report"):
    """What a purge deleted: counts per table, blob store and plugin; no personal data.

    Kept after the tenant row is gone, so it names the tenant by id and slug only.
    """

    tenant_id = UUID(index=True)
    tenant_slug = Varchar(length=63)
    reason = Varchar(length=16)  # expired | request
    requested_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    counts = JSON(default={})
    at = Timestamptz(default=TimestamptzNow())
