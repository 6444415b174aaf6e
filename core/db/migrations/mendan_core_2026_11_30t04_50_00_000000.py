"""The job table is the outbox: when a job's message reached the broker (`sent_at`)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Timestamptz
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-30T04:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "job outbox: sent_at"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="mendan_core", description=DESCRIPTION)
    manager.add_column(
        table_class_name="Job", tablename="mendan_job", column_name="sent_at", db_column_name="sent_at",
        column_class_name="Timestamptz", column_class=Timestamptz,
        params={"default": None, "null": True, "primary_key": False, "unique": False, "index": False,
                "index_method": IndexMethod.btree, "choices": None, "db_column_name": None, "secret": False},
        schema=None,
    )
    return manager
