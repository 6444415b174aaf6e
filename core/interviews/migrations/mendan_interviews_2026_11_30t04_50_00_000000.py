"""A recording's completion as states in the database (core.interviews.completion): when all its
bytes were in (`received_at`) and when `mendan_recording_completed` was fired (`announced_at`)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Timestamptz
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-30T04:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "recording completion: received_at, announced_at"

PARAMS = {"default": None, "null": True, "primary_key": False, "unique": False, "index": False,
          "index_method": IndexMethod.btree, "choices": None, "db_column_name": None, "secret": False}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="mendan_interviews", description=DESCRIPTION)
    for column in ("received_at", "announced_at"):
        manager.add_column(
            table_class_name="Recording", tablename="mendan_recording", column_name=column, db_column_name=column,
            column_class_name="Timestamptz", column_class=Timestamptz, params=dict(PARAMS), schema=None,
        )
    return manager
