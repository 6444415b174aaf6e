"""Unique (question_set, number) for question-set versions and (interview, evaluator) for
evaluations, after resolving the duplicates that concurrent saves may have left:

- versions with the same number are renumbered 1..n per question set in the order they were
  made (created_at, then id); rows are referenced by id, so interviews keep their version, and
  `latest_number` is set to n;
- of several evaluations by one evaluator of one interview (double submissions) the locked one,
  else the newest, is kept; each removed row's scores and comment go to the audit log.
"""

import json

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.querystring import QueryString

from core import audit

from core.db.constraints import create_unique_index, drop_index
from core.db.engine import current_engine

ID = "2026-11-29T19:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique version numbers and one evaluation per evaluator"

VERSION_INDEX = "mendan_question_set_version_number_unique"
EVALUATION_INDEX = "mendan_evaluation_interview_evaluator_unique"


async def _query(sql: str, *args):
    return await current_engine().run_querystring(QueryString(sql, *args))


async def _renumber_versions() -> None:
    rows = await _query("SELECT id, question_set, number, created_at FROM mendan_question_set_version")
    by_set: dict = {}
    for row in rows:
        by_set.setdefault(str(row["question_set"]), []).append(row)
    for set_id, versions in by_set.items():
        if len({v["number"] for v in versions}) == len(versions):
            continue
        versions.sort(key=lambda v: (v["number"], str(v["created_at"]), str(v["id"])))
        # Two passes, so no intermediate state repeats a number.
        for n, v in enumerate(versions, start=1):
            await _query("UPDATE mendan_question_set_version SET number = {} WHERE id = {}", -n, v["id"])
        for n, v in enumerate(versions, start=1):
            await _query("UPDATE mendan_question_set_version SET number = {} WHERE id = {}", n, v["id"])
        await _query("UPDATE mendan_question_set SET latest_number = {} WHERE id = {}", len(versions),
                     versions[0]["question_set"])


async def _one_evaluation_each() -> None:
    rows = await _query("SELECT id, tenant, interview, evaluator, locked, updated_at, scores, comment "
                        "FROM mendan_evaluation")
    groups: dict = {}
    for row in rows:
        groups.setdefault((str(row["interview"]), str(row["evaluator"])), []).append(row)
    for (interview, evaluator), found in groups.items():
        if len(found) < 2:
            continue
        found.sort(key=lambda r: (bool(r["locked"]), str(r["updated_at"]), str(r["id"])), reverse=True)
        for row in found[1:]:
            detail = {"kept": str(found[0]["id"]), "removed": str(row["id"]), "evaluator": evaluator,
                      "scores": json.loads(row["scores"]) if isinstance(row["scores"], str) else row["scores"],
                      "comment": row["comment"]}
            await audit.record("evaluation.duplicate_removed", tenant_id=row["tenant"], target=interview,
                               detail=detail)
            await _query("DELETE FROM mendan_evaluation WHERE id = {}", row["id"])


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="mendan_interviews", description=DESCRIPTION)

    async def add_constraints():
        await _renumber_versions()
        await create_unique_index("mendan_question_set_version", ["question_set", "number"], VERSION_INDEX)
        await _one_evaluation_each()
        await create_unique_index("mendan_evaluation", ["interview", "evaluator"], EVALUATION_INDEX)

    async def remove_constraints():
        await drop_index(VERSION_INDEX)
        await drop_index(EVALUATION_INDEX)

    manager.add_raw(add_constraints)
    manager.add_raw_backwards(remove_constraints)
    return manager
