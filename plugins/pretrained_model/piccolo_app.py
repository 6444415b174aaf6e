import os

from piccolo.conf.apps import AppConfig

from plugins.pretrained_model.tables import Artifact, Choice, ItemMapping, Material, VendorItem, VendorVersion

APP_CONFIG = AppConfig(
    app_name="pretrained_model",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "migrations"),
    table_classes=[VendorItem, Material, VendorVersion, Artifact, ItemMapping, Choice],
    migration_dependencies=["core.db.piccolo_app"],
    commands=[],
)
