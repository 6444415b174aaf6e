from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import JSON, Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-29T18:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "per-item build results, failure reasons, prediction digests"


def _params(**overrides):
    return {"null": False, "primary_key": False, "unique": False, "index": False, "index_method": IndexMethod.btree,
            "choices": None, "db_column_name": None, "secret": False, **overrides}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ai_model", description=DESCRIPTION)
    for column in ("skipped", "failure"):
        manager.add_column(
            table_class_name="ModelVersion", tablename="ai_model_version", column_name=column,
            db_column_name=column, column_class_name="JSON", column_class=JSON,
            params=_params(default="{}"), schema=None,
        )
    manager.add_column(
        table_class_name="Prediction", tablename="ai_model_prediction", column_name="features_digest",
        db_column_name="features_digest", column_class_name="Varchar", column_class=Varchar,
        params=_params(length=64, default=None, null=True), schema=None,
    )
    return manager
