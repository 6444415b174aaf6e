"""The billing domain as a piccolo app: its tables and migrations."""

import os

from piccolo.conf.apps import AppConfig

from billing import tables

APP_CONFIG = AppConfig(
    app_name="mendan_billing",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "migrations"),
    table_classes=[
        tables.UsageRow,
        tables.UsageDelivery,
        tables.Price,
        tables.StripeCustomer,
        tables.ClosedPeriod,
    ],
    migration_dependencies=["core.db.piccolo_app"],
    commands=[],
)
