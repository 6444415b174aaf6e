"""The protected-attributes domain's piccolo app: its tables and migrations."""

import os

from piccolo.conf.apps import AppConfig

from core.interviews.attributes.tables import AttributeDefinition, PersonAttributes

APP_CONFIG = AppConfig(
    app_name="mendan_attributes",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "migrations"),
    table_classes=[AttributeDefinition, PersonAttributes],
    migration_dependencies=["core.db.piccolo_app"],
    commands=[],
)
