"""The piccolo app of the avatar's voice cache (`self_interview_voice`), kept apart from the
plugin's flow tables so each has its own migrations."""

import os

from piccolo.conf.apps import AppConfig

from plugins.self_interview.tables_voice import SelfInterviewVoice

APP_CONFIG = AppConfig(
    app_name="self_interview_voice",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "voice_migrations"),
    table_classes=[SelfInterviewVoice],
    migration_dependencies=["core.db.piccolo_app"],
    commands=[],
)
