"""ConsentRecord.source: where a consent declared by an admin (a bulk import) was obtained."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Text
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-30T01:03:17:577390"
VERSION = "1.38.0"
DESCRIPTION = "consent record source"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="mendan_tenants", description=DESCRIPTION
    )

    manager.add_column(
        table_class_name="ConsentRecord",
        tablename="tenants_consent_record",
        column_name="source",
        db_column_name="source",
        column_class_name="Text",
        column_class=Text,
        params={
            "default": "",
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    return manager
