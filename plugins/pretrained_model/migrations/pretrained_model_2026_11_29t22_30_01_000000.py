from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-29T22:30:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "one vendor version per training job"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="pretrained_model", description=DESCRIPTION)

    async def unique_job():
        from plugins.pretrained_model.tables import VendorVersion

        # NULLs are distinct: versions trained outside a job (the demo's) are not constrained.
        await VendorVersion.raw(
            "CREATE UNIQUE INDEX IF NOT EXISTS pretrained_model_version_job_id ON pretrained_model_version (job_id)")

    manager.add_raw(unique_job)
    return manager
