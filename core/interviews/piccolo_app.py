"""The interviews domain's piccolo app: its tables and migrations."""

import os

from piccolo.conf.apps import AppConfig

from core.interviews import tables

APP_CONFIG = AppConfig(
    app_name="mendan_interviews",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "migrations"),
    table_classes=[
        tables.JoinLink,
        tables.QuestionSet,
        tables.QuestionSetVersion,
        tables.Interview,
        tables.Recording,
        tables.Evaluation,
        tables.MailSender,
        tables.InterviewImport,
        tables.ImportVideo,
    ],
    migration_dependencies=["core.db.piccolo_app"],
    commands=[],
)
