"""Recordings finished before completion was a state machine were announced then: the sweeper
must not fire `mendan_recording_completed` for them again."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-30T04:51:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "recordings finished before count as announced"


async def mark_announced():
    from core.interviews.tables import Recording

    await Recording.raw("UPDATE mendan_recording SET announced_at = COALESCE(completed_at, created_at) "
                        "WHERE state <> 'uploading' AND announced_at IS NULL")


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="mendan_interviews", description=DESCRIPTION)
    manager.add_raw(mark_announced)
    return manager
