"""TenantProfile.privacy_policy_url: the privacy policy linked from the consent page."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-30T05:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "tenant privacy policy url"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="mendan_tenants", description=DESCRIPTION
    )

    manager.add_column(
        table_class_name="TenantProfile",
        tablename="tenants_profile",
        column_name="privacy_policy_url",
        db_column_name="privacy_policy_url",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "default": "",
            "length": 500,
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
