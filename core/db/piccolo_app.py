"""The core's piccolo app: its tables and migrations."""

import os

from piccolo.conf.apps import AppConfig

from core.db import tables

APP_CONFIG = AppConfig(
    app_name="mendan_core",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "migrations"),
    table_classes=[
        tables.Tenant,
        tables.User,
        tables.WebSession,
        tables.ApiToken,
        tables.PasswordReset,
        tables.Job,
        tables.AuditEntry,
        tables.PluginSetting,
        tables.FeatureValue,
        tables.AnalysisRun,
        tables.AnalysisStep,
        tables.TranscriptRecord,
        tables.IdempotencyKey,
        tables.MailTemplate,
        tables.MailContact,
    ],
    migration_dependencies=[],
    commands=[],
)
