from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-30T08:33:20:000000"
VERSION = "1.38.0"
DESCRIPTION = "one report per tenant and audience"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="video_analysis", description=DESCRIPTION)

    async def one_per_audience():
        from core.db.constraints import create_unique_index

        # A raw step runs before the manager's own, so the table's migration is the one before.
        await create_unique_index("video_analysis_report", ["tenant", "audience"])

    manager.add_raw(one_per_audience)
    return manager
