import os

from piccolo.conf.apps import AppConfig

from plugins.ethics_model.tables import ModelReport

APP_CONFIG = AppConfig(
    app_name="ethics_model",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "migrations"),
    table_classes=[ModelReport],
    migration_dependencies=["core.db.piccolo_app"],
    commands=[],
)
