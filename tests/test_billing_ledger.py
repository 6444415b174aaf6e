"""The usage ledger: one row per act, whatever the number of attempts or writers."""

import asyncio
import secrets
from datetime import datetime, timedelta, timezone

import pytest

from billing.catalogue import UnknownMeter, meters
from billing.ledger import record_usage, usage_key
from billing.tables import UsageRow
from core.tenancy import TenantScope
from tests.billing_fixtures import INTERVIEWS, MINUTES, register_billing_plugins


async def test_meter_catalogue_comes_from_plugin_metadata(host, app):
    register_billing_plugins(host)
    catalogue = meters(host)
    assert {INTERVIEWS, MINUTES} <= set(catalogue)
    assert catalogue[INTERVIEWS].plugin_key == "bill_x"
    assert catalogue[MINUTES].name("ja") == "録画（分）"


async def test_recording_the_same_act_twice_stores_one_row(host, app, make_tenant):
    register_billing_plugins(host)
    tenant = await make_tenant()
    assert await record_usage(tenant, INTERVIEWS, 1, act="interview:42") is True
    assert await record_usage(TenantScope(tenant.id), INTERVIEWS, 1, act="interview:42") is False
    assert await record_usage(tenant.id, MINUTES, 30, act="interview:42") is True  # another meter, another row
    rows = await UsageRow.select(UsageRow.meter, UsageRow.quantity, UsageRow.usage_key, UsageRow.source_ref).where(
        UsageRow.tenant == tenant.id).order_by(UsageRow.id)
    assert [(r["meter"], r["quantity"], r["source_ref"]) for r in rows] == [
        (INTERVIEWS, 1, "interview:42"), (MINUTES, 30, "interview:42")]
    assert rows[0]["usage_key"] == usage_key(tenant.id, INTERVIEWS, "interview:42")


async def test_concurrent_records_of_one_act_store_one_row(host, app, make_tenant):
    register_billing_plugins(host)
    tenant = await make_tenant()
    results = await asyncio.gather(*(record_usage(tenant, MINUTES, 12, act="job:7") for _ in range(10)))
    assert sorted(results) == [False] * 9 + [True]
    assert await UsageRow.count().where(UsageRow.tenant == tenant.id) == 1


async def test_usage_key_depends_on_tenant_meter_and_act_only(make_tenant):
    a, b = await make_tenant(), await make_tenant()
    key = usage_key(a.id, INTERVIEWS, "interview:1")
    assert key == usage_key(str(a.id), INTERVIEWS, "interview:1")
    assert len({key, usage_key(b.id, INTERVIEWS, "interview:1"), usage_key(a.id, MINUTES, "interview:1"),
                usage_key(a.id, INTERVIEWS, "interview:2")}) == 4
    assert len(key) <= 100  # Stripe's limit for an identifier


async def test_unknown_meters_and_bad_quantities_are_refused(host, app, make_tenant):
    register_billing_plugins(host)
    tenant = await make_tenant()
    with pytest.raises(UnknownMeter):
        await record_usage(tenant, "nobody.declares_this", 1, act="x")
    for bad in (0, -3, 1.5, True):
        with pytest.raises(ValueError):
            await record_usage(tenant, INTERVIEWS, bad, act="x")
    with pytest.raises(ValueError):
        await record_usage(tenant, INTERVIEWS, 1, act="x", occurred_at=datetime(2026, 11, 1))
    assert await UsageRow.count().where(UsageRow.tenant == tenant.id) == 0


@pytest.mark.postgres
async def test_recording_is_idempotent_on_postgresql(host, app, settings):
    """The same conflict handling on PostgreSQL: a fresh database, migrated, ten concurrent writers."""
    asyncpg = pytest.importorskip("asyncpg")
    try:
        admin = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres", timeout=3)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 is not reachable: {exc}")
    name = f"mendan_billing_{secrets.token_hex(4)}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    from core.config import use_settings
    from core.db.engine import bind_engine, make_engine
    from mendan.assembly import migrate
    from core.tenancy import create_tenant
    from tests.conftest import make_settings

    pg = make_settings(settings.data_dir, database_url=f"postgresql://postgres@127.0.0.1:5432/{name}")
    try:
        await migrate(pg)
        engine = bind_engine(make_engine(pg))
        await engine.start_connection_pool()
        try:
            register_billing_plugins(host)
            from core.storage import BlobStore

            tenant = await create_tenant(BlobStore.from_settings(settings), slug=f"pg-{secrets.token_hex(3)}", name="PG")
            results = await asyncio.gather(*(record_usage(tenant, INTERVIEWS, 1, act="interview:pg") for _ in range(10)))
            assert sorted(results) == [False] * 9 + [True]
            assert await UsageRow.count().where(UsageRow.tenant == tenant.id) == 1
        finally:
            await engine.close_connection_pool()
    finally:
        use_settings(settings)
        bind_engine(make_engine(settings))
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


async def test_usage_in_the_future_is_refused(host, app, make_tenant):
    register_billing_plugins(host)
    tenant = await make_tenant()
    with pytest.raises(ValueError):
        await record_usage(tenant, INTERVIEWS, 1, act="x", occurred_at=datetime.now(timezone.utc) + timedelta(hours=1))
