"""API tokens get a scope and an expiry; idempotency keys keep an API call's answer to replay it."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Text, Timestamptz, Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-30T01:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "api token scope and expiry, idempotent api answers"


def _params(default, null=False, **more):
    return {"default": default, "null": null, "primary_key": False, "unique": False, "index": False,
            "index_method": IndexMethod.btree, "choices": None, "db_column_name": None, "secret": False, **more}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="mendan_core", description=DESCRIPTION)
    manager.add_column(table_class_name="ApiToken", tablename="mendan_api_token", column_name="scope",
                       db_column_name="scope", column_class_name="Varchar", column_class=Varchar,
                       params=_params("read", length=8), schema=None)
    manager.add_column(table_class_name="ApiToken", tablename="mendan_api_token", column_name="expires_at",
                       db_column_name="expires_at", column_class_name="Timestamptz", column_class=Timestamptz,
                       params=_params(None, null=True), schema=None)
    manager.add_column(table_class_name="IdempotencyKey", tablename="mendan_idempotency_key",
                       column_name="content_type", db_column_name="content_type", column_class_name="Varchar",
                       column_class=Varchar, params=_params("", length=100), schema=None)
    manager.add_column(table_class_name="IdempotencyKey", tablename="mendan_idempotency_key", column_name="body",
                       db_column_name="body", column_class_name="Text", column_class=Text, params=_params(""),
                       schema=None)
    return manager
