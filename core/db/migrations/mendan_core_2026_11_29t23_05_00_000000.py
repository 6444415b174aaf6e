"""FeatureValue.superseded: the recording's rows stay stored but no longer count, because a
retake replaced the recording (core.interviews.takes)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Boolean
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-29T23:05:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "feature value superseded"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="mendan_core", description=DESCRIPTION)
    manager.add_column(
        table_class_name="FeatureValue", tablename="mendan_feature_value", column_name="superseded",
        db_column_name="superseded", column_class_name="Boolean", column_class=Boolean,
        params={"default": False, "null": False, "primary_key": False, "unique": False, "index": False,
                "index_method": IndexMethod.btree, "choices": None, "db_column_name": None, "secret": False},
        schema=None,
    )
    return manager
