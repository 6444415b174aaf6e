"""A tenant's storage quota for recordings, as an operator sets it (None: the settings' default)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import BigInt
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-30T04:52:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "tenant storage quota"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="mendan_core", description=DESCRIPTION)
    manager.add_column(
        table_class_name="Tenant", tablename="mendan_tenant", column_name="storage_quota_bytes",
        db_column_name="storage_quota_bytes", column_class_name="BigInt", column_class=BigInt,
        params={"default": None, "null": True, "primary_key": False, "unique": False, "index": False,
                "index_method": IndexMethod.btree, "choices": None, "db_column_name": None, "secret": False},
        schema=None,
    )
    return manager
