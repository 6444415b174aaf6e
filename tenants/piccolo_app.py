"""The tenants domain as a piccolo app: its tables and migrations."""

import os

from piccolo.conf.apps import AppConfig

from tenants import tables

APP_CONFIG = AppConfig(
    app_name="mendan_tenants",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "migrations"),
    table_classes=[
        tables.TenantProfile,
        tables.Contract,
        tables.ContractChange,
        tables.OptionToggle,
        tables.MaintenanceWindow,
        tables.EmergencyStop,
        tables.ConsentText,
        tables.ConsentRecord,
        tables.DeletionReport,
    ],
    migration_dependencies=["core.db.piccolo_app"],
    commands=[],
)
