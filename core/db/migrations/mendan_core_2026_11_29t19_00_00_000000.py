"""Unique (tenant, plugin_key) for plugin settings, so switching a plugin is an upsert. Of
duplicate rows the most recently updated one is kept (it is the state the tenant last chose)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.querystring import QueryString

from core.db.constraints import create_unique_index, drop_index
from core.db.engine import current_engine

ID = "2026-11-29T19:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "one plugin setting per tenant and plugin"

INDEX = "mendan_plugin_setting_tenant_key_unique"


async def _query(sql: str, *args):
    return await current_engine().run_querystring(QueryString(sql, *args))


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="mendan_core", description=DESCRIPTION)

    async def add_constraint():
        rows = await _query("SELECT id, tenant, plugin_key, updated_at FROM mendan_plugin_setting")
        groups: dict = {}
        for row in rows:
            groups.setdefault((str(row["tenant"]), row["plugin_key"]), []).append(row)
        for found in groups.values():
            found.sort(key=lambda r: (str(r["updated_at"]), r["id"]), reverse=True)
            for row in found[1:]:
                await _query("DELETE FROM mendan_plugin_setting WHERE id = {}", row["id"])
        await create_unique_index("mendan_plugin_setting", ["tenant", "plugin_key"], INDEX)

    async def remove_constraint():
        await drop_index(INDEX)

    manager.add_raw(add_constraint)
    manager.add_raw_backwards(remove_constraint)
    return manager
