import os

from piccolo.conf.apps import AppConfig

from plugins.ai_model.tables import ModelVersion, Prediction

APP_CONFIG = AppConfig(
    app_name="ai_model",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "migrations"),
    table_classes=[ModelVersion, Prediction],
    migration_dependencies=["core.db.piccolo_app"],
    commands=[],
)
