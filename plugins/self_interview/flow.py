"""Where an interviewee stands in a self-interview, read from what the server holds.

The plan is the question set's fixed questions in order, each followed by the follow-up
questions generated from its answer. A question is answered once a recording with its key holds
bytes (complete, or still uploading), so a reload or a lost connection resumes at the first
question without one and keeps every answer already sent. Retakes are further recordings of the
same key; the newest complete one is the answer.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from dataclasses import asdict, dataclass
from typing import Any
from uuid import UUID

from core.interviews.api import Interview, QuestionSetVersion, Recording, questions_of
from core.tables import User
from core.tenancy import TenantScope
from core.web.i18n import gettext as _
from plugins.self_interview.tables import Accommodation, Finished, GeneratedQuestion

MAX_TIME_FACTOR = 3.0
MAX_EXTRA_RETAKES = 2


class AccommodationProblem(ValueError):
    """The accommodation is out of bounds; the message is for the admin."""


@dataclass(frozen=True)
class Step:
    """One question as the interviewee meets it; times already stretched by accommodations."""

    key: str  # q1, q2, ... for fixed questions; q2.f1 for a follow-up of q2
    text: str
    generated: bool
    reason: str
    provider: str
    source_phrase: str
    thinking_s: int
    answer_s: int
    retakes_left: int
    follow_ups: int  # how many follow-ups may be generated from its answer
    takes: int  # recordings of it holding bytes (0: not answered yet)
    complete: bool  # its newest take is uploaded in full


@dataclass(frozen=True)
class FlowState:
    steps: list[Step]
    finished: bool

    @property
    def current(self) -> int:
        """Index of the first unanswered step; len(steps) when all are answered."""
        return next((i for i, s in enumerate(self.steps) if s.takes == 0), len(self.steps))

    @property
    def uploads_complete(self) -> bool:
        return all(s.takes > 0 and s.complete for s in self.steps)

    def as_json(self) -> dict[str, Any]:
        return {"steps": [asdict(s) for s in self.steps], "current": self.current, "total": len(self.steps),
                "finished": self.finished, "uploads_complete": self.uploads_complete}


def fixed_key(index: int) -> str:
    return f"q{index + 1}"


async def accommodation_of(scope: TenantScope, interviewee: Any) -> tuple[float, int]:
    """(extra time factor, extra retakes) granted to the interviewee; (1.0, 0) when none."""
    row = await scope.objects(Accommodation).where(Accommodation.interviewee == interviewee).first()
    return (row.extra_time_factor, row.extra_retakes) if row else (1.0, 0)


def checked_accommodation(factor: float, retakes: int) -> tuple[float, int]:
    """Bounds of an accommodation: factor 1.0-3.0 (finite), extra retakes 0-2."""
    if not math.isfinite(factor) or not 1.0 <= factor <= MAX_TIME_FACTOR:
        raise AccommodationProblem(_("The time factor is 1.0 to %(max)s.") % {"max": MAX_TIME_FACTOR})
    if not 0 <= retakes <= MAX_EXTRA_RETAKES:
        raise AccommodationProblem(_("Extra retakes are 0 to %(max)s.") % {"max": MAX_EXTRA_RETAKES})
    return factor, retakes


async def set_accommodation(scope: TenantScope, interviewee: User, admin: User, factor: float,
                            retakes: int) -> Accommodation:
    """Store the interviewee's accommodation (one row per interviewee), after `checked_accommodation`."""
    factor, retakes = checked_accommodation(factor, retakes)
    row = await scope.objects(Accommodation).where(Accommodation.interviewee == interviewee.id).first()
    if row is None:
        return await scope.add(Accommodation(interviewee=interviewee.id, extra_time_factor=factor,
                                             extra_retakes=retakes, set_by=admin.id))
    await scope.update(Accommodation, {Accommodation.extra_time_factor: factor, Accommodation.extra_retakes: retakes,
                                       Accommodation.set_by: admin.id,
                                       Accommodation.updated_at: datetime.now(timezone.utc)}).where(
        Accommodation.id == row.id)
    row.extra_time_factor, row.extra_retakes = factor, retakes
    return row


async def takes_by_key(scope: TenantScope, interview_id: UUID) -> dict[str, list[Recording]]:
    """The interview's recordings that hold an answer (not refused, bytes received), by question
    key, in the order taken: the earlier takes of a retaken question are "superseded"."""
    rows = await scope.objects(Recording).where(
        (Recording.interview == interview_id) & (Recording.state != "refused")).order_by(Recording.sequence)
    found: dict[str, list[Recording]] = {}
    for r in rows:
        if r.question_key and (r.state in ("complete", "superseded") or r.upload_offset > 0):
            found.setdefault(r.question_key, []).append(r)
    return found


async def generated_of(scope: TenantScope, interview_id: UUID) -> list[GeneratedQuestion]:
    return await scope.objects(GeneratedQuestion).where(GeneratedQuestion.interview == interview_id).order_by(
        GeneratedQuestion.key)


async def flow_state(scope: TenantScope, interview: Interview) -> FlowState:
    version = await scope.get(QuestionSetVersion, interview.question_set_version)
    factor, extra = await accommodation_of(scope, interview.interviewee)
    takes = await takes_by_key(scope, interview.id)
    generated: dict[str, list[GeneratedQuestion]] = {}
    for g in await generated_of(scope, interview.id):
        generated.setdefault(g.source_key, []).append(g)

    def step(key: str, text: str, thinking: int, limit: int, retakes: int, follow_ups: int,
             source: GeneratedQuestion | None = None) -> Step:
        mine = takes.get(key, [])
        return Step(key=key, text=text, generated=source is not None, reason=source.reason if source else "",
                    provider=source.provider if source else "", source_phrase=source.source_phrase if source else "",
                    thinking_s=math.ceil(thinking * factor), answer_s=math.ceil(limit * factor),
                    retakes_left=max(0, retakes + extra - max(0, len(mine) - 1)), follow_ups=follow_ups,
                    takes=len(mine), complete=bool(mine) and mine[-1].state == "complete")

    steps = []
    for i, q in enumerate(questions_of(version)):
        if not q.recorded:
            continue
        key = fixed_key(i)
        steps.append(step(key, q.text, q.thinking_time_s, q.time_limit_s, q.retakes, q.follow_ups))
        for g in generated.get(key, []):
            steps.append(step(g.key, g.text, q.thinking_time_s, q.time_limit_s, 0, 0, source=g))
    finished = await scope.count(Finished).where(Finished.interview == interview.id) > 0
    return FlowState(steps=steps, finished=finished)
