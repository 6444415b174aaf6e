"""Shipping the ledger to Stripe: the `billing.ship_usage` actor.

Each unsent usage row becomes one billing meter event whose `identifier` is the
row's usage key, then a `UsageDelivery` row says what happened. A crash between the
two leaves the row unsent; the next run sends it again and Stripe's answer that the
identifier exists marks it delivered, so Stripe counts it once. Stripe enforces
identifier uniqueness for at least 24 hours, which is why shipping runs every few
minutes rather than daily.

Rows older than Stripe's 35-day window are never sent and never dropped: they are
flagged for an operator's manual adjustment and listed in /ops/billing/.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any

import structlog

from billing.catalogue import prices
from billing.stripe_gateway import MeterEventAnswer, send_meter_event, stripe_client
from billing.tables import StripeCustomer, UsageDelivery, UsageRow
from core.web.i18n import N_
from core.runtime import runtime

log = structlog.get_logger("mendan.billing")

BATCH = 200
IN_FLIGHT = 8  # meter events sent at once
STRIPE_WINDOW = timedelta(days=35)
TOO_OLD = N_("older than Stripe's 35-day window")  # a flagged row's reason, translated where shown
# An event must reach Stripe inside the window, not merely leave here inside it.
WINDOW_MARGIN = timedelta(hours=1)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


async def unsent_ids(after: int, limit: int) -> list[int]:
    rows = await UsageRow.raw(
        'SELECT u.id FROM billing_usage u WHERE u.id > {} AND NOT EXISTS '
        '(SELECT 1 FROM billing_delivery d WHERE d."usage" = u.id) ORDER BY u.id LIMIT {}',
        after, limit,
    )
    return [row["id"] for row in rows]


async def mark_delivered(row: dict[str, Any], answer: MeterEventAnswer, event_name: str) -> None:
    """Write down what Stripe answered; a concurrent shipper's row for the same usage wins."""
    await UsageDelivery.insert(UsageDelivery(
        usage=row["id"], tenant=row["tenant"], outcome=answer.outcome, event_name=event_name,
        detail=answer.detail[:2000],
    )).on_conflict(target=UsageDelivery.usage, action="DO NOTHING")


async def ship_pending(client: Any = None, *, now: datetime | None = None) -> Counter:
    """Ship every unsent row once; returns counts by outcome (`waiting`: no Stripe mapping yet).

    Raises `StripeUnavailable` after recording what did get through, so a retry resumes.
    """
    client = client or stripe_client()
    counts: Counter = Counter()
    if client is None:
        log.info("billing_shipping_not_configured")
        return counts
    now = now or utcnow()
    too_old = now - STRIPE_WINDOW + WINDOW_MARGIN
    customers = {
        str(c["tenant"]): c["customer_id"]
        for c in await StripeCustomer.select(StripeCustomer.tenant, StripeCustomer.customer_id)
        if c["customer_id"]
    }
    event_names = {key: p.stripe_event_name for key, p in (await prices("meter")).items() if p.stripe_event_name}
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def ship(row: dict[str, Any]) -> None:
        event_name = event_names.get(row["meter"], "")
        if row["occurred_at"] < too_old:
            await mark_delivered(row, MeterEventAnswer("flagged", TOO_OLD), event_name)
            counts["flagged"] += 1
            return
        customer_id = customers.get(str(row["tenant"]))
        if not customer_id or not event_name:
            counts["waiting"] += 1
            return
        async with gate:
            answer = await asyncio.to_thread(
                send_meter_event, client, event_name=event_name, customer_id=customer_id,
                value=row["quantity"], identifier=row["usage_key"], timestamp=row["occurred_at"],
            )
        await mark_delivered(row, answer, event_name)
        counts[answer.outcome] += 1

    after = 0
    while ids := await unsent_ids(after, BATCH):
        after = ids[-1]
        rows = await UsageRow.select().where(UsageRow.id.is_in(ids)).order_by(UsageRow.id)
        results = await asyncio.gather(*(ship(row) for row in rows), return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            log.warning("billing_shipping_interrupted", counts=dict(counts), error=repr(failures[0]))
            raise failures[0]
    log.info("billing_shipped", **counts)
    return counts


async def ship_usage(tenant_id: str | None = None) -> str:
    """The `billing.ship_usage` actor: all tenants' unsent rows; Dramatiq retries an outage."""
    counts = await ship_pending()
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "nothing to ship"


SHIP_EVERY_SECONDS = int(os.environ.get("BILLING_SHIP_SECONDS", "300"))


async def billing_clock() -> None:
    while True:
        await asyncio.sleep(SHIP_EVERY_SECONDS)
        tasks = runtime().tasks
        await tasks.enqueue("billing.ship_usage", tenant_id=None)
        await tasks.enqueue("billing.close_periods", tenant_id=None)


async def start_billing_clock(app: Any) -> None:
    """Every web process keeps the schedule: shipping twice is harmless (identifiers), and the
    jobs go to whichever worker takes them."""
    app.state.billing_clock = asyncio.get_running_loop().create_task(billing_clock())


async def stop_billing_clock(app: Any) -> None:
    task = app.state.get("billing_clock")
    if task is not None:
        task.cancel()


async def delivery_counts() -> dict[str, Counter]:
    """Usage rows per tenant by shipping outcome (`unsent` for rows without a delivery)."""
    rows = await UsageRow.raw(
        'SELECT u.tenant AS tenant, d.outcome AS outcome, COUNT(*) AS n FROM billing_usage u '
        'LEFT JOIN billing_delivery d ON d."usage" = u.id GROUP BY u.tenant, d.outcome'
    )
    counts: dict[str, Counter] = {}
    for row in rows:
        counts.setdefault(str(row["tenant"]), Counter())[row["outcome"] or "unsent"] += int(row["n"])
    return counts


async def deliveries_needing_attention(limit: int = 200) -> list[dict[str, Any]]:
    """Flagged (too old for Stripe) and rejected rows, oldest first, for the operators."""
    return await UsageDelivery.select(
        UsageDelivery.id, UsageDelivery.outcome, UsageDelivery.detail, UsageDelivery.at,
        UsageDelivery.tenant.slug.as_alias("slug"), UsageDelivery.usage.meter.as_alias("meter"),
        UsageDelivery.usage.quantity.as_alias("quantity"), UsageDelivery.usage.occurred_at.as_alias("occurred_at"),
        UsageDelivery.usage.usage_key.as_alias("usage_key"),
    ).where(UsageDelivery.outcome.is_in(["flagged", "rejected"])).order_by(UsageDelivery.id).limit(limit)


async def mark_adjusted(delivery_id: int) -> bool:
    """An operator adjusted a flagged row by hand (e.g. an invoice item in Stripe)."""
    done = await UsageDelivery.update({UsageDelivery.outcome: "adjusted", UsageDelivery.at: utcnow()}).where(
        (UsageDelivery.id == delivery_id) & (UsageDelivery.outcome == "flagged")
    ).returning(UsageDelivery.id)
    return bool(done)


async def send_again(delivery_id: int) -> bool:
    """Forget a rejection (after fixing the mapping), so the next run ships the row again."""
    done = await UsageDelivery.delete().where(
        (UsageDelivery.id == delivery_id) & (UsageDelivery.outcome == "rejected")
    ).returning(UsageDelivery.id)
    return bool(done)
