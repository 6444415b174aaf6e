"""Item keys unique per question set: before, items of different sets could share a key
(every Japanese name became `item`, `item_2`, ...), and their expert scores were pooled.

For each key that several question sets of a tenant use, the set that used it first keeps
it (its scores and the models built on them stay meaningful); every other set's item gets
a new key (`{key}_{8 hex}`) in all its versions, and the scores of evaluations made with
those versions move to the new key. Predictions keep the key of the model that made them.
"""

import json
import secrets
from collections import defaultdict

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-29T18:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "evaluation item keys unique per question set"


def _json(value):
    return json.loads(value) if isinstance(value, str) else (value or [])


async def separate_shared_keys():
    from core.interviews.tables import Evaluation, QuestionSetVersion

    versions = await QuestionSetVersion.select(
        QuestionSetVersion.id, QuestionSetVersion.tenant, QuestionSetVersion.question_set, QuestionSetVersion.items,
    ).order_by(QuestionSetVersion.created_at)
    sets_of_key = defaultdict(list)  # (tenant, key) -> question sets in order of first use
    taken = defaultdict(set)  # tenant -> keys
    for v in versions:
        for item in _json(v["items"]):
            users = sets_of_key[(v["tenant"], item["key"])]
            if v["question_set"] not in users:
                users.append(v["question_set"])
            taken[v["tenant"]].add(item["key"])
    renamed = {}  # (question set, old key) -> new key
    for (tenant, key), sets in sets_of_key.items():
        for question_set in sets[1:]:
            new = f"{key[:50]}_{secrets.token_hex(4)}"
            while new in taken[tenant]:
                new = f"{key[:50]}_{secrets.token_hex(4)}"
            taken[tenant].add(new)
            renamed[(question_set, key)] = new
    for v in versions:
        items = _json(v["items"])
        if not any((v["question_set"], i["key"]) in renamed for i in items):
            continue
        moves = {i["key"]: renamed[(v["question_set"], i["key"])] for i in items if (v["question_set"], i["key"]) in renamed}
        for item in items:
            item["key"] = moves.get(item["key"], item["key"])
        await QuestionSetVersion.update({QuestionSetVersion.items: items}).where(QuestionSetVersion.id == v["id"])
        evaluations = await Evaluation.select(Evaluation.id, Evaluation.scores).where(
            Evaluation.question_set_version == v["id"])
        for e in evaluations:
            scores = {moves.get(k, k): s for k, s in dict(_json(e["scores"])).items()}
            await Evaluation.update({Evaluation.scores: scores}).where(Evaluation.id == e["id"])


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="mendan_interviews", description=DESCRIPTION)
    manager.add_raw(separate_shared_keys)
    return manager
