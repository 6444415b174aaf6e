"""Jobs made before the outbox count as sent: they were sent when they were made (the embedded
worker sends the unfinished ones again at start-up, as before)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-30T04:51:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "jobs made before the outbox count as sent"


async def mark_sent():
    from core.db.tables import Job

    await Job.raw("UPDATE mendan_job SET sent_at = created_at WHERE sent_at IS NULL")


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="mendan_core", description=DESCRIPTION)
    manager.add_raw(mark_sent)
    return manager
