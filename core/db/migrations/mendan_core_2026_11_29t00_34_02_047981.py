from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import UUID
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-29T00:34:02:047981"
VERSION = "1.38.0"
DESCRIPTION = "session owner"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="mendan_core", description=DESCRIPTION
    )

    manager.add_column(
        table_class_name="WebSession",
        tablename="mendan_session",
        column_name="user_id",
        db_column_name="user_id",
        column_class_name="UUID",
        column_class=UUID,
        params={
            "default": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": True,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    return manager
