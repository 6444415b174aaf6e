"""Snapshots are immutable: the database refuses every UPDATE, and keeps one per tenant and month."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-29T18:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "snapshots are immutable"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ethics_prediction", description=DESCRIPTION)

    async def snapshots_are_immutable():
        # A snapshot is never changed after it is made: the database itself refuses UPDATEs
        # (deleting a tenant's rows stays possible), and one snapshot per tenant and month.
        from piccolo.engine.sqlite import SQLiteEngine

        class RawTable(Table):
            pass

        await RawTable.raw(
            "CREATE UNIQUE INDEX ethics_prediction_snapshot_month ON ethics_prediction_snapshot (tenant, period)")
        if isinstance(RawTable._meta.db, SQLiteEngine):
            await RawTable.raw(
                "CREATE TRIGGER ethics_prediction_snapshot_immutable BEFORE UPDATE ON ethics_prediction_snapshot "
                "BEGIN SELECT RAISE(ABORT, 'ethics_prediction snapshots are immutable'); END")
        else:
            await RawTable.raw(
                "CREATE FUNCTION ethics_prediction_snapshot_immutable() RETURNS trigger AS $$ BEGIN "
                "RAISE EXCEPTION 'ethics_prediction snapshots are immutable'; END; $$ LANGUAGE plpgsql")
            await RawTable.raw(
                "CREATE TRIGGER ethics_prediction_snapshot_immutable BEFORE UPDATE ON ethics_prediction_snapshot "
                "FOR EACH ROW EXECUTE FUNCTION ethics_prediction_snapshot_immutable()")

    manager.add_raw(snapshots_are_immutable)

    return manager
