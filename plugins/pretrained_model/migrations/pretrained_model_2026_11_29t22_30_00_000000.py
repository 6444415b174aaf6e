from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import UUID, Integer
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-29T22:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "one vendor version per training job; the own-model version the blend's weights were measured on"


def _params(**overrides):
    return {"null": True, "primary_key": False, "unique": False, "index": False, "index_method": IndexMethod.btree,
            "choices": None, "db_column_name": None, "secret": False, "default": None, **overrides}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="pretrained_model", description=DESCRIPTION)
    manager.add_column(
        table_class_name="VendorVersion", tablename="pretrained_model_version", column_name="job_id",
        db_column_name="job_id", column_class_name="UUID", column_class=UUID, params=_params(), schema=None,
    )
    manager.add_column(
        table_class_name="Choice", tablename="pretrained_model_choice", column_name="weights_measured_on",
        db_column_name="weights_measured_on", column_class_name="Integer", column_class=Integer,
        params=_params(), schema=None,
    )
    return manager
