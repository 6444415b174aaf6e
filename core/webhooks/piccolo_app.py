"""The webhooks domain's piccolo app: its tables and migrations."""

import os

from piccolo.conf.apps import AppConfig

from core.webhooks import tables

APP_CONFIG = AppConfig(
    app_name="mendan_webhooks",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "migrations"),
    table_classes=[tables.WebhookEndpoint, tables.WebhookDelivery, tables.WebhookAttempt],
    migration_dependencies=["core.db.piccolo_app"],
    commands=[],
)
