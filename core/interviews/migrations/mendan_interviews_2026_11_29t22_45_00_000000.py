"""Interview.finished_at: when the interviewee said they were done (a self-interview's finish);
new uploads are refused from then on."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Timestamptz
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-29T22:45:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "interview finished_at"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="mendan_interviews", description=DESCRIPTION)
    manager.add_column(
        table_class_name="Interview", tablename="mendan_interview", column_name="finished_at",
        db_column_name="finished_at", column_class_name="Timestamptz", column_class=Timestamptz,
        params={"default": None, "null": True, "primary_key": False, "unique": False, "index": False,
                "index_method": IndexMethod.btree, "choices": None, "db_column_name": None, "secret": False},
        schema=None,
    )
    return manager
