import os

from piccolo.conf.apps import AppConfig

from plugins.face_features.video_analysis.tables import VideoAnalysisReport

APP_CONFIG = AppConfig(
    app_name="video_analysis",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "migrations"),
    table_classes=[VideoAnalysisReport],
    migration_dependencies=["core.db.piccolo_app"],
    commands=[],
)
