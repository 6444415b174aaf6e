"""The usage ledger: one append-only row per billable act.

The usage key is derived from the act itself (tenant + meter + the interview or job
id), never made up at send time, so recording the same act twice stores one row and
the key can be Stripe's meter event `identifier`. The unique constraint on the key
with `ON CONFLICT DO NOTHING` makes this hold under concurrent writers, on SQLite
and PostgreSQL alike.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import structlog

from billing.catalogue import UnknownMeter, meters
from billing.tables import UsageRow
from core.runtime import runtime
from core.tenancy import TenantScope

log = structlog.get_logger("mendan.billing")

# Clocks of web and worker machines differ a little; Stripe also allows five minutes ahead.
FUTURE_TOLERANCE = timedelta(minutes=5)


def _tenant_id(scope_or_tenant: Any) -> UUID:
    if isinstance(scope_or_tenant, TenantScope):
        return scope_or_tenant.tenant_id
    value = getattr(scope_or_tenant, "id", scope_or_tenant)
    return value if isinstance(value, UUID) else UUID(str(value))


def usage_key(tenant_id: UUID | str, meter: str, act: str) -> str:
    """The ledger key (and Stripe identifier) of one act: stable across retries and processes."""
    digest = hashlib.sha256(f"{tenant_id}\x1f{meter}\x1f{act}".encode()).hexdigest()
    return f"mu_{digest[:48]}"


async def record_usage(
    scope_or_tenant: Any, meter: str, quantity: int, *, act: str, occurred_at: datetime | None = None
) -> bool:
    """Record `quantity` units of `meter` for one act; True when stored, False when the act
    was already recorded (the first record stands)."""
    if meter not in meters(runtime().host):
        raise UnknownMeter(meter)
    if not act:
        raise ValueError("a usage row needs the act it bills (an interview or job id)")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise ValueError(f"quantity must be a positive whole number of units, not {quantity!r}")
    now = datetime.now(timezone.utc)
    if occurred_at is not None and occurred_at.tzinfo is None:
        raise ValueError("occurred_at must carry a time zone")
    if occurred_at is not None and occurred_at > now + FUTURE_TOLERANCE:
        raise ValueError("usage can not have occurred in the future")
    tenant_id = _tenant_id(scope_or_tenant)
    key = usage_key(tenant_id, meter, act)
    row = UsageRow(
        tenant=tenant_id, meter=meter, quantity=quantity, usage_key=key, source_ref=act[:200],
        occurred_at=occurred_at or now,
    )
    inserted = await UsageRow.insert(row).on_conflict(
        target=UsageRow.usage_key, action="DO NOTHING"
    ).returning(UsageRow.id)
    if not inserted:
        log.info("usage_already_recorded", tenant_id=str(tenant_id), meter=meter, act=act)
    return bool(inserted)
