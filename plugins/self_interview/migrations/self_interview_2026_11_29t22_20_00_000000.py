"""One follow-up question per (interview, key): two follow-up requests at the same moment could
both store theirs. Duplicates left by that race are removed first, keeping the earliest of each
key (the one the interviewee was asked: the page reads the state after the first store)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.querystring import QueryString

from core.db.constraints import create_unique_index, drop_index
from core.db.engine import current_engine

ID = "2026-11-29T22:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "one generated question per interview and key"

INDEX = "self_interview_generated_question_interview_key_unique"


async def _query(sql: str, *args):
    return await current_engine().run_querystring(QueryString(sql, *args))


async def _one_per_key() -> None:
    rows = await _query("SELECT id, interview, key, created_at FROM self_interview_generated_question")
    seen: set = set()
    for row in sorted(rows, key=lambda r: (str(r["created_at"]), str(r["id"]))):
        mark = (str(row["interview"]), row["key"])
        if mark in seen:
            await _query("DELETE FROM self_interview_generated_question WHERE id = {}", row["id"])
        seen.add(mark)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="self_interview", description=DESCRIPTION)

    async def add_constraint():
        await _one_per_key()
        await create_unique_index("self_interview_generated_question", ["interview", "key"], INDEX)

    async def remove_constraint():
        await drop_index(INDEX)

    manager.add_raw(add_constraint)
    manager.add_raw_backwards(remove_constraint)
    return manager
