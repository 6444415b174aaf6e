"""Unique (tenant, month) for closed periods. Of duplicates left by two closings at once, the
earliest closed is kept: it is the invoice that was final first."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.querystring import QueryString

from core.db.constraints import create_unique_index, drop_index
from core.db.engine import current_engine

ID = "2026-11-29T19:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "one closed period per tenant and month"

INDEX = "billing_closed_period_tenant_month_unique"


async def _query(sql: str, *args):
    return await current_engine().run_querystring(QueryString(sql, *args))


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="mendan_billing", description=DESCRIPTION)

    async def add_constraint():
        rows = await _query("SELECT id, tenant, month, closed_at FROM billing_closed_period")
        groups: dict = {}
        for row in rows:
            groups.setdefault((str(row["tenant"]), str(row["month"])), []).append(row)
        for found in groups.values():
            found.sort(key=lambda r: (str(r["closed_at"]), r["id"]))
            for row in found[1:]:
                await _query("DELETE FROM billing_closed_period WHERE id = {}", row["id"])
        await create_unique_index("billing_closed_period", ["tenant", "month"], INDEX)

    async def remove_constraint():
        await drop_index(INDEX)

    manager.add_raw(add_constraint)
    manager.add_raw_backwards(remove_constraint)
    return manager
