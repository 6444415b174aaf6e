import os

from piccolo.conf.apps import AppConfig

from plugins.live_interview.tables import RoomEvent

APP_CONFIG = AppConfig(
    app_name="live_interview",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "migrations"),
    table_classes=[RoomEvent],
    migration_dependencies=["core.db.piccolo_app", "core.interviews.piccolo_app"],
    commands=[],
)
