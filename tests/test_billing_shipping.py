"""Shipping the ledger to Stripe as billing meter events: exactly once, whatever fails.

The real stripe-python SDK talks to a local fake that speaks Stripe's wire format."""

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

import billing.shipping
from billing.invoice import month_of, reconciliation
from billing.ledger import record_usage, usage_key
from billing.shipping import mark_adjusted, ship_pending
from billing.stripe_gateway import StripeUnavailable
from billing.tables import DELIVERED, UsageDelivery, UsageRow
from core.db.tables import Job
from tests.billing_fixtures import INTERVIEWS, MINUTES, connect_to_stripe, register_billing_plugins, stripe_fake  # noqa: F401


class Crash(Exception):
    """The process dying between Stripe's answer and writing it down."""


async def outcomes(tenant) -> dict[str, str]:
    rows = await UsageDelivery.select(UsageDelivery.usage.usage_key.as_alias("key"), UsageDelivery.outcome).where(
        UsageDelivery.tenant == tenant.id)
    return {r["key"]: r["outcome"] for r in rows}


async def keys_of(tenant) -> list[str]:
    return [r["usage_key"] for r in await UsageRow.select(UsageRow.usage_key).where(UsageRow.tenant == tenant.id)]


async def test_crash_between_sending_and_marking_is_delivered_exactly_once(host, app, make_tenant, stripe_fake, monkeypatch):
    register_billing_plugins(host)
    tenant = await make_tenant()
    customer = await connect_to_stripe(tenant, INTERVIEWS)
    for n in range(5):
        await record_usage(tenant, INTERVIEWS, n + 1, act=f"interview:{n}")
    keys = await keys_of(tenant)

    real_mark = billing.shipping.mark_delivered
    crashed: list[str] = []

    async def crash_once(row, answer, event_name):
        if row["usage_key"] == keys[2] and not crashed:
            crashed.append(row["usage_key"])
            raise Crash("killed after Stripe accepted the event")
        await real_mark(row, answer, event_name)

    monkeypatch.setattr(billing.shipping, "mark_delivered", crash_once)
    with pytest.raises(Crash):
        await ship_pending()
    assert keys[2] in stripe_fake.events  # Stripe has it, the ledger does not know
    assert keys[2] not in await outcomes(tenant)

    monkeypatch.setattr(billing.shipping, "mark_delivered", real_mark)
    counts = await ship_pending()
    assert counts["duplicate"] == 1
    states = await outcomes(tenant)
    assert states[keys[2]] == "duplicate"
    assert set(states) == set(keys) and all(s in DELIVERED for s in states.values())
    assert stripe_fake.event_posts[keys[2]] == 2  # sent again, answered "identifier exists"
    mine = [k for k in stripe_fake.events if k in keys]
    assert sorted(mine) == sorted(keys)  # exactly one event per usage key
    event_name = stripe_fake.events[keys[0]]["event_name"]
    assert stripe_fake.usage_of(customer, event_name) == 1 + 2 + 3 + 4 + 5

    await ship_pending()  # nothing left: no further requests for these keys
    assert all(stripe_fake.event_posts[k] == (2 if k == keys[2] else 1) for k in keys)


async def test_stripe_outage_then_recovery_loses_and_doubles_nothing(host, app, make_tenant, stripe_fake):
    register_billing_plugins(host)
    tenant = await make_tenant()
    customer = await connect_to_stripe(tenant, MINUTES)
    for n in range(6):
        await record_usage(tenant, MINUTES, 10, act=f"job:{n}")
    keys = await keys_of(tenant)

    stripe_fake.fail_next(10_000)
    with pytest.raises(StripeUnavailable):
        await ship_pending()
    assert await outcomes(tenant) == {}  # nothing marked delivered while Stripe was down
    assert not any(k in stripe_fake.events for k in keys)
    assert max(stripe_fake.event_posts[k] for k in keys) >= 2  # the SDK retried before giving up

    stripe_fake.recover()
    await ship_pending()
    assert set((await outcomes(tenant)).values()) == {"sent"}
    assert sorted(k for k in stripe_fake.events if k in keys) == sorted(keys)
    event_name = stripe_fake.events[keys[0]]["event_name"]
    assert stripe_fake.usage_of(customer, event_name) == 60


async def test_a_lost_answer_is_retried_with_the_same_idempotency_key(host, app, make_tenant, stripe_fake):
    """Stripe took the event but the answer never arrived: the SDK's retry is answered from
    Stripe's idempotency record, and a later run is answered "identifier exists"."""
    register_billing_plugins(host)
    tenant = await make_tenant()
    await connect_to_stripe(tenant, INTERVIEWS)
    await record_usage(tenant, INTERVIEWS, 1, act="interview:lost-once")
    once = usage_key(tenant.id, INTERVIEWS, "interview:lost-once")
    stripe_fake.lose_next_answers(1)
    await ship_pending()
    assert (await outcomes(tenant))[once] == "sent" and stripe_fake.event_posts[once] == 2

    await record_usage(tenant, INTERVIEWS, 1, act="interview:lost-always")
    always = usage_key(tenant.id, INTERVIEWS, "interview:lost-always")
    stripe_fake.lose_next_answers(3)  # the first try and both SDK retries
    with pytest.raises(StripeUnavailable):
        await ship_pending()
    assert always in stripe_fake.events and always not in await outcomes(tenant)
    await ship_pending()
    assert (await outcomes(tenant))[always] == "duplicate"
    assert [k for k in stripe_fake.events if k in (once, always)] == [once, always]


async def test_brief_5xx_is_retried_by_the_sdk_within_one_run(host, app, make_tenant, stripe_fake):
    register_billing_plugins(host)
    tenant = await make_tenant()
    await connect_to_stripe(tenant, INTERVIEWS)
    await record_usage(tenant, INTERVIEWS, 1, act="interview:brief")
    stripe_fake.fail_next(2)
    counts = await ship_pending()
    assert counts["sent"] >= 1
    key = usage_key(tenant.id, INTERVIEWS, "interview:brief")
    assert (await outcomes(tenant))[key] == "sent"
    assert key in stripe_fake.events


async def test_rows_older_than_stripes_window_are_flagged_not_dropped(host, app, make_tenant, stripe_fake):
    register_billing_plugins(host)
    tenant = await make_tenant()
    await connect_to_stripe(tenant, INTERVIEWS)
    old = datetime.now(timezone.utc) - timedelta(days=40)
    await record_usage(tenant, INTERVIEWS, 3, act="interview:old", occurred_at=old)
    await record_usage(tenant, INTERVIEWS, 1, act="interview:new")
    await ship_pending()
    key = usage_key(tenant.id, INTERVIEWS, "interview:old")
    states = await outcomes(tenant)
    assert states[key] == "flagged"
    assert key not in stripe_fake.events and stripe_fake.event_posts[key] == 0
    line = next(l for l in await reconciliation(month_of(old)) if l.tenant_id == str(tenant.id))
    assert (line.ledger, line.flagged, line.balanced) == (3, 3, False)

    delivery = await UsageDelivery.select(UsageDelivery.id).where(UsageDelivery.outcome == "flagged").where(
        UsageDelivery.tenant == tenant.id).first()
    assert await mark_adjusted(delivery["id"])
    line = next(l for l in await reconciliation(month_of(old)) if l.tenant_id == str(tenant.id))
    assert (line.adjusted, line.flagged, line.balanced) == (3, 0, True)


async def test_rows_wait_until_the_tenant_is_mapped_to_a_stripe_customer(host, app, make_tenant, stripe_fake):
    register_billing_plugins(host)
    mapped, unmapped = await make_tenant(), await make_tenant()
    await connect_to_stripe(mapped, MINUTES)
    await record_usage(unmapped, MINUTES, 5, act="job:waiting")
    counts = await ship_pending()
    assert counts["waiting"] >= 1
    assert await outcomes(unmapped) == {}
    assert usage_key(unmapped.id, MINUTES, "job:waiting") not in stripe_fake.event_posts


async def test_the_ship_usage_actor_retries_an_outage_with_backoff(host, app, client, make_tenant, stripe_fake):
    """Through Dramatiq: the job fails while Stripe answers 500, is retried, and succeeds once it recovers."""
    register_billing_plugins(host)
    tenant = await make_tenant()
    await connect_to_stripe(tenant, INTERVIEWS)
    await record_usage(tenant, INTERVIEWS, 2, act="interview:actor")
    key = usage_key(tenant.id, INTERVIEWS, "interview:actor")
    stripe_fake.fail_next(10_000)
    job_id = await app.state.tasks.enqueue("billing.ship_usage", tenant_id=None)
    for _ in range(200):
        job = await Job.objects().where(Job.id == job_id).first()
        if job.attempts >= 1 and job.state == "queued":
            break
        await asyncio.sleep(0.05)
    assert job.state == "queued" and "StripeUnavailable" in job.error
    stripe_fake.recover()
    for _ in range(600):
        job = await Job.objects().where(Job.id == job_id).first()
        if job.state in ("done", "failed"):
            break
        await asyncio.sleep(0.05)
    assert job.state == "done", job.error
    assert (await outcomes(tenant))[key] == "sent"
    assert len([k for k in stripe_fake.events if k == key]) == 1
