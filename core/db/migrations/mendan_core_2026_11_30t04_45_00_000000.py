"""A running job carries its worker and that worker's heartbeat, so a lost worker shows and its job moves on."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Timestamptz, Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-30T04:45:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "job worker heartbeat"


def _params(**values):
    return {"null": False, "primary_key": False, "unique": False, "index": False, "index_method": IndexMethod.btree,
            "choices": None, "db_column_name": None, "secret": False, **values}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="mendan_core", description=DESCRIPTION)
    manager.add_column(
        table_class_name="Job", tablename="mendan_job", column_name="worker_id", db_column_name="worker_id",
        column_class_name="Varchar", column_class=Varchar, params=_params(default="", length=200), schema=None,
    )
    for name in ("heartbeat_at", "lease_until"):
        manager.add_column(
            table_class_name="Job", tablename="mendan_job", column_name=name, db_column_name=name,
            column_class_name="Timestamptz", column_class=Timestamptz, params=_params(default=None, null=True),
            schema=None,
        )
    return manager
