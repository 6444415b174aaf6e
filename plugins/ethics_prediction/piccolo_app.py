import os

from piccolo.conf.apps import AppConfig

from plugins.ethics_prediction.tables import Snapshot

APP_CONFIG = AppConfig(
    app_name="ethics_prediction",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "migrations"),
    table_classes=[Snapshot],
    migration_dependencies=["core.db.piccolo_app"],
    commands=[],
)
