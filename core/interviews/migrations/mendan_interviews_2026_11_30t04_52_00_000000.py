"""When a recording's upload last accepted a chunk: the sweep expires uploads idle too long, and
ending a live interview waits only for uploads still making progress."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Timestamptz
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-30T04:52:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "recording last chunk time"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="mendan_interviews", description=DESCRIPTION)
    manager.add_column(
        table_class_name="Recording", tablename="mendan_recording", column_name="last_chunk_at",
        db_column_name="last_chunk_at", column_class_name="Timestamptz", column_class=Timestamptz,
        params={"default": None, "null": True, "primary_key": False, "unique": False, "index": False,
                "index_method": IndexMethod.btree, "choices": None, "db_column_name": None, "secret": False},
        schema=None,
    )
    return manager
