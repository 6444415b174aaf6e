"""Question sets: ordered questions and evaluation items, kept as unchangeable versions.

Editing a set makes a new version; interviews and evaluations keep pointing at the
version they used, so a score always means what the evaluator saw.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import asdict, dataclass
from typing import Any

from core.db.json_columns import json_value
from core.db.constraints import retry_on_conflict, write_transaction
from core.interviews.tables import QuestionSet, QuestionSetVersion
from core.tenancy import TenantScope
from core.web.i18n import gettext as _


class QuestionSetProblem(ValueError):
    """The question set cannot be saved like this; the message is for the admin. `field` is the
    input it is about for API clients ("name", "questions[0].text", "items[1].key"), or None."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


MAX_RETAKES = 2
MAX_FOLLOW_UPS = 2
MAX_THINKING_S = 600


@dataclass(frozen=True)
class Question:
    """One question of a set, as stored in `QuestionSetVersion.questions`.

    `time_limit_s`: the answer time in seconds. For an interview without an interviewer (kind
    "self"): `thinking_time_s` seconds to think before recording starts (0-600), `retakes` how
    often the answer may be recorded again (0-2), `follow_ups` how many follow-up questions may
    be generated from the answer (0-2; versions saved before this was a count hold True = 1).
    """

    text: str
    follow_ups: int = 0
    time_limit_s: int = 120
    recorded: bool = True
    thinking_time_s: int = 0
    retakes: int = 0


@dataclass(frozen=True)
class EvaluationItem:
    key: str
    name: str
    description: str = ""
    scale_min: int = 1
    scale_max: int = 5
    required: bool = True


KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_]{0,62}$")


def _item_key(name: str, taken: set[str]) -> str:
    """A new item's key: readable from a Latin-script name when that is free in the tenant,
    else (any other script, or taken) the readable part and a random suffix (`item_3f9a1c2e`).
    Random rather than counted, so two sets never arrive at the same key by numbering."""
    base = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:40]
    if base and base[0].isalpha() and base not in taken:
        return base
    while True:
        key = f"{base if base and base[0].isalpha() else 'item'}_{secrets.token_hex(4)}"
        if key not in taken:
            return key


async def keys_of_other_sets(scope: TenantScope, question_set_id: Any = None) -> set[str]:
    """Item keys used by the tenant's question sets other than `question_set_id` (all versions)."""
    query = scope.select(QuestionSetVersion, QuestionSetVersion.items)
    if question_set_id is not None:
        query = query.where(QuestionSetVersion.question_set != question_set_id)
    return {item["key"] for row in await query for item in json_value(row["items"]) or []}


def checked(questions: list[Question], items: list[EvaluationItem],
            other_sets: set[str] = frozenset()) -> tuple[list[dict], list[dict]]:
    """Rows to store; new items get keys (`_item_key`), and a key another set of the tenant
    uses is refused, since scores under one key are pooled as the same item's (model labels)."""
    if not questions:
        raise QuestionSetProblem(_("Add at least one question."), field="questions")
    if not items:
        raise QuestionSetProblem(_("Add at least one evaluation item."), field="items")
    for n, q in enumerate(questions):
        if not q.text.strip() or q.time_limit_s <= 0:
            raise QuestionSetProblem(_("Every question needs a text and a positive answer time."),
                                     field=f"questions[{n}].{'text' if not q.text.strip() else 'time_limit_s'}")
        if not 0 <= q.thinking_time_s <= MAX_THINKING_S:
            raise QuestionSetProblem(_("Thinking time is 0 to %(max)s seconds.") % {"max": MAX_THINKING_S},
                                     field=f"questions[{n}].thinking_time_s")
        if not 0 <= q.retakes <= MAX_RETAKES:
            raise QuestionSetProblem(_("Retakes are 0 to %(max)s.") % {"max": MAX_RETAKES},
                                     field=f"questions[{n}].retakes")
        if not 0 <= int(q.follow_ups) <= MAX_FOLLOW_UPS:
            raise QuestionSetProblem(_("Follow-up questions are 0 to %(max)s.") % {"max": MAX_FOLLOW_UPS},
                                     field=f"questions[{n}].follow_ups")
    keys: set[str] = set()
    item_rows = []
    for n, item in enumerate(items):
        if not item.name.strip():
            raise QuestionSetProblem(_("Every evaluation item needs a name."), field=f"items[{n}].name")
        if item.scale_min >= item.scale_max:
            raise QuestionSetProblem(_("A scale's lowest score must be below its highest."),
                                     field=f"items[{n}].scale_min")
        key = item.key or _item_key(item.name, keys | set(other_sets) | {i.key for i in items})
        if not KEY_PATTERN.match(key):
            raise QuestionSetProblem(_("An evaluation item's key is lowercase letters, digits and _."),
                                     field=f"items[{n}].key")
        if key in other_sets:
            raise QuestionSetProblem(_("The key “%(key)s” belongs to an evaluation item of another question set.")
                                     % {"key": key}, field=f"items[{n}].key")
        if key in keys:
            raise QuestionSetProblem(_("Two evaluation items have the same key."), field=f"items[{n}].key")
        keys.add(key)
        item_rows.append({**asdict(item), "key": key})
    return [{**asdict(q), "follow_ups": int(q.follow_ups)} for q in questions], item_rows


async def create_question_set(scope: TenantScope, *, name: str, questions: list[Question],
                              items: list[EvaluationItem], author: Any = None) -> QuestionSetVersion:
    if not name.strip():
        raise QuestionSetProblem(_("The question set needs a name."), field="name")
    q_rows, item_rows = checked(questions, items, await keys_of_other_sets(scope))
    async with write_transaction():
        qs = await scope.add(QuestionSet(name=name.strip()[:200], latest_number=1))
        return await scope.add(QuestionSetVersion(question_set=qs.id, number=1, questions=q_rows,
                                                  items=item_rows, created_by=getattr(author, "id", author)))


class StaleVersion(QuestionSetProblem):
    """Someone saved a newer version than the one the change was made from."""


async def add_version(scope: TenantScope, question_set_id: Any, *, questions: list[Question],
                      items: list[EvaluationItem], author: Any = None,
                      made_from: int | None = None) -> QuestionSetVersion:
    """A new version numbered one above the newest (distinct under concurrent saves). An item
    keeps its key (the editor sends it back, so a renamed item stays the same item); an item
    without one takes the key of the same name in the previous version, else a new key. Keys
    never move between question sets. With `made_from` (the number of the version the change
    was made from), a newer version saved meanwhile raises StaleVersion instead of being
    replaced. Raises ConflictError when concurrent saves keep winning."""
    qs = await scope.get(QuestionSet, question_set_id)
    previous = await latest_version(scope, qs.id)
    known = {i["name"]: i["key"] for i in json_value(previous.items)} if previous else {}
    items = [EvaluationItem(**{**asdict(i), "key": i.key or known.get(i.name, "")}) for i in items]
    q_rows, item_rows = checked(questions, items, await keys_of_other_sets(scope, qs.id))

    async def insert_next() -> QuestionSetVersion:
        # The number is read inside the writing transaction; the unique index on
        # (question_set, number) turns a concurrent save's same number into a retry.
        async with write_transaction():
            rows = await scope.select(QuestionSetVersion, QuestionSetVersion.number).where(
                QuestionSetVersion.question_set == qs.id).order_by(QuestionSetVersion.number, ascending=False).limit(1)
            number = (rows[0]["number"] if rows else 0) + 1
            if made_from is not None and number - 1 != made_from:
                raise StaleVersion(_("Someone saved this question set meanwhile; load it again."))
            version = await scope.add(QuestionSetVersion(question_set=qs.id, number=number, questions=q_rows,
                                                         items=item_rows, created_by=getattr(author, "id", author)))
            await scope.update(QuestionSet, {QuestionSet.latest_number: number}).where(
                (QuestionSet.id == qs.id) & (QuestionSet.latest_number < number))
            return version

    return await retry_on_conflict(insert_next)


async def latest_version(scope: TenantScope, question_set_id: Any) -> QuestionSetVersion | None:
    return await scope.objects(QuestionSetVersion).where(
        QuestionSetVersion.question_set == question_set_id
    ).order_by(QuestionSetVersion.number, ascending=False).first()


def items_of(version: QuestionSetVersion) -> list[EvaluationItem]:
    return [EvaluationItem(**i) for i in json_value(version.items)]


def questions_of(version: QuestionSetVersion) -> list[Question]:
    """The version's questions in order; fields added later take their defaults."""
    return [Question(**{**q, "follow_ups": int(q.get("follow_ups") or 0)}) for q in json_value(version.questions)]



async def announce_saved(scope: TenantScope, version: QuestionSetVersion) -> None:
    """Tell the tenant's enabled plugins a question set version was saved (`mendan_question_set_saved`)."""
    from core.runtime import runtime

    await runtime().host.call_for_tenant("mendan_question_set_saved", tenant_id=scope.tenant_id,
                                         version_id=str(version.id))
