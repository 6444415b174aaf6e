import os

from piccolo.conf.apps import AppConfig

from plugins.self_interview.tables import Accommodation, Finished, GeneratedQuestion

APP_CONFIG = AppConfig(
    app_name="self_interview",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "migrations"),
    table_classes=[GeneratedQuestion, Accommodation, Finished],
    migration_dependencies=["core.db.piccolo_app", "core.interviews.piccolo_app"],
    commands=[],
)
