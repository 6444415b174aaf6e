"""Recordings remember their video codec, so the interview page can say when a browser cannot
play it (MPEG-4 Part 2, say). Recordings from before stay "" (unknown): no notice is shown."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-29T22:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "recording video codec"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="mendan_interviews", description=DESCRIPTION)
    manager.add_column(
        table_class_name="Recording",
        tablename="mendan_recording",
        column_name="video_codec",
        db_column_name="video_codec",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 32,
            "default": "",
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )
    return manager
