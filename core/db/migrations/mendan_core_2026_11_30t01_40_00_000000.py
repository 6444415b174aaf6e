"""Idempotency keys remember the API request's body (its hash), so a key reused for another request is refused."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-30T01:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "idempotency key fingerprint"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="mendan_core", description=DESCRIPTION)
    manager.add_column(
        table_class_name="IdempotencyKey", tablename="mendan_idempotency_key", column_name="fingerprint",
        db_column_name="fingerprint", column_class_name="Varchar", column_class=Varchar,
        params={"default": "", "length": 64, "null": False, "primary_key": False, "unique": False, "index": False,
                "index_method": IndexMethod.btree, "choices": None, "db_column_name": None, "secret": False},
        schema=None,
    )
    return manager
