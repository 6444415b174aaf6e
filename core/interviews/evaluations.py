"""Evaluations: a score per evaluation item and a comment, one per evaluator and interview,
editable until locked. Expert evaluations are the AI model's training labels. Each save is
announced to the tenant's plugins (`mendan_evaluation_saved`)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

from piccolo.columns.combination import WhereRaw

from core.db.constraints import retry_on_conflict, write_transaction
from core.db.json_columns import json_value
from core.db.tables import User
from core.interviews.question_sets import items_of
from core.interviews.schedule import advance, experts_of, may_see
from core.interviews.tables import Evaluation, Interview, QuestionSetVersion
from core.tenancy import TenantScope
from core.text_input import TextProblem, clean_text
from core.web.i18n import gettext as _


COMMENT_LENGTH = 5000  # characters of an evaluation's comment


class EvaluationProblem(ValueError):
    """The evaluation cannot be saved like this; the message is for the evaluator. `code` names the
    rule for API clients, `field` the input it is about (`scores.<item key>`) or None."""

    def __init__(self, message: str, *, code: str = "invalid_evaluation", field: str | None = None) -> None:
        super().__init__(message)
        self.code, self.field = code, field


class EvaluationExists(EvaluationProblem):
    """The evaluator already has an evaluation of this interview (a create-only save)."""


def scores_of(evaluation: Evaluation) -> dict[str, int]:
    value = evaluation.scores
    return dict(json_value(value) or {})


def evaluator_role(user: User, interview: Interview) -> str | None:
    """Who may evaluate: the interviewer, the chosen experts, and admins."""
    if str(user.id) in experts_of(interview):
        return "expert"
    if str(user.id) == str(interview.interviewer):
        return "interviewer"
    if user.role == "admin":
        return "admin"
    return None


async def evaluation_of(scope: TenantScope, interview: Interview, user: User) -> Evaluation | None:
    return await scope.objects(Evaluation).where(
        (Evaluation.interview == interview.id) & (Evaluation.evaluator == user.id)).first()


async def may_see_scores(scope: TenantScope, user: User, interview: Interview) -> bool:
    """Whether `user` may see other people's scores of `interview` (evaluations, the AI's).

    Experts score blind: their scores are the AI model's labels, and seeing the interviewer's,
    other experts' or the AI's first would anchor them. So an assigned expert sees them only once
    they have saved their own evaluation. Admins and the interviewer see them always; an
    interviewee and anyone not taking part (`may_see`) never."""
    if user.role == "interviewee" or not may_see(user, interview):
        return False
    if evaluator_role(user, interview) != "expert":
        return True
    return await evaluation_of(scope, interview, user) is not None


def _assigned_as_expert(user: User) -> Any:
    """A condition on Interview: `user` is one of its experts (the quoted id inside the JSON list)."""
    return WhereRaw("CAST(experts AS TEXT) LIKE {}", f'%"{user.id}"%')


async def _evaluated_ids(scope: TenantScope, user: User) -> list[Any]:
    rows = await scope.select(Evaluation, Evaluation.interview).where(Evaluation.evaluator == user.id)
    return [r["interview"] for r in rows]


async def blinded_interview_ids(scope: TenantScope, user: User) -> set[str]:
    """The ids (text) of the interviews whose scores `user` may not see yet (`may_see_scores`
    False because they are an assigned expert who has not saved their evaluation); empty for
    anyone else. Lists of scores leave these interviews out."""
    evaluated = {str(i) for i in await _evaluated_ids(scope, user)}
    rows = await scope.select(Interview, Interview.id).where(_assigned_as_expert(user))
    return {str(r["id"]) for r in rows} - evaluated


async def awaiting_evaluation(scope: TenantScope, user: User, *, limit: int, offset: int, as_interviewer: bool = False
                              ) -> tuple[list[Interview], int]:
    """`user`'s queue: the interviews they are an assigned expert of (with `as_interviewer`: the
    interviewer of), held (not scheduled, not cancelled) and without their evaluation, oldest
    first by start. Returns (`limit` of them from `offset`, how many there are in all)."""
    role = (Interview.interviewer == user.id) if as_interviewer else _assigned_as_expert(user)
    condition = role & Interview.state.not_in(["scheduled", "cancelled"])
    evaluated = await _evaluated_ids(scope, user)
    if evaluated:
        condition = condition & Interview.id.not_in(evaluated)
    rows = await scope.objects(Interview).where(condition).order_by(Interview.starts_at).limit(limit).offset(offset)
    return list(rows), await scope.count(Interview).where(condition)


async def save_evaluation(scope: TenantScope, interview: Interview, user: User, raw_scores: dict[str, Any],
                          comment: str, *, create_only: bool = False) -> Evaluation:
    """Create or update `user`'s one evaluation of `interview` (scores by item key, a comment);
    with `create_only`, an evaluation already there is not changed (EvaluationExists).

    Raises EvaluationProblem (message for the evaluator) for a non-evaluator (code
    "not_an_evaluator"), an interview not held yet ("not_held_yet"), a locked evaluation
    ("evaluation_locked") or a missing or off-scale score ("invalid_score", field `scores.<key>`)."""
    role = evaluator_role(user, interview)
    if role is None:
        raise EvaluationProblem(_("You are not an evaluator of this interview."), code="not_an_evaluator")
    if interview.state in ("scheduled", "cancelled"):
        raise EvaluationProblem(_("The interview has not taken place yet."), code="not_held_yet")
    try:  # line breaks are kept; NUL and other control characters are refused (PostgreSQL cannot store NUL)
        comment = clean_text(comment, label=_("Comment"), max_length=COMMENT_LENGTH, multiline=True)
    except TextProblem as exc:
        raise EvaluationProblem(str(exc), code="validation_failed", field="comment") from exc

    async def write() -> Evaluation:
        # One row per (interview, evaluator), by a unique index: a double click's second insert
        # fails, is retried, and then finds and updates the first one's row.
        async with write_transaction():
            return await _write_evaluation(scope, interview, user, role, raw_scores, comment, create_only)

    row = await retry_on_conflict(write)
    await advance(scope, interview, "evaluated")
    await _announce_saved(scope, interview, role)
    return row


async def _announce_saved(scope: TenantScope, interview: Interview, role: str) -> None:
    """Tell the tenant's enabled plugins an evaluation was saved (`mendan_evaluation_saved`)."""
    from core.runtime import runtime

    await runtime().host.call_for_tenant("mendan_evaluation_saved", tenant_id=scope.tenant_id,
                                         interview_id=_uuid(interview.id), evaluator_role=role)


async def _write_evaluation(scope: TenantScope, interview: Interview, user: User, role: str,
                            raw_scores: dict[str, Any], comment: str, create_only: bool) -> Evaluation:
    existing = await evaluation_of(scope, interview, user)
    if existing is not None and create_only:
        raise EvaluationExists(_("You have already evaluated this interview."), code="evaluation_exists")
    if existing is not None and existing.locked:
        raise EvaluationProblem(_("This evaluation is locked and can no longer be changed."), code="evaluation_locked")
    version_id = existing.question_set_version if existing else interview.question_set_version
    version = await scope.get(QuestionSetVersion, version_id)
    scores: dict[str, int] = {}
    for item in items_of(version):
        value = str(raw_scores.get(item.key, "")).strip()
        if not value:
            if item.required:
                raise EvaluationProblem(_("Give a score for “%(item)s”.") % {"item": item.name}, code="invalid_score",
                                        field=f"scores.{item.key}")
            continue
        try:
            score = int(value)
        except ValueError as exc:
            raise EvaluationProblem(_("Scores are whole numbers."), code="invalid_score",
                                    field=f"scores.{item.key}") from exc
        if not item.scale_min <= score <= item.scale_max:
            raise EvaluationProblem(_("“%(item)s” takes a score from %(low)s to %(high)s.")
                                    % {"item": item.name, "low": item.scale_min, "high": item.scale_max},
                                    code="invalid_score", field=f"scores.{item.key}")
        scores[item.key] = score
    now = datetime.now(timezone.utc)
    if existing is None:
        row = await scope.add(Evaluation(interview=interview.id, evaluator=user.id, evaluator_role=role,
                                         question_set_version=version.id, scores=scores,
                                         comment=comment[:5000], updated_at=now))
    else:
        await scope.update(Evaluation, {Evaluation.scores: scores, Evaluation.comment: comment[:5000],
                                        Evaluation.updated_at: now}).where(Evaluation.id == existing.id)
        row = existing
        row.scores, row.comment = scores, comment[:5000]
    return row


async def lock_evaluations(scope: TenantScope, interview: Interview) -> int:
    rows = await scope.update(Evaluation, {Evaluation.locked: True}).where(
        Evaluation.interview == interview.id).returning(Evaluation.id)
    return len(rows)


async def expert_labels(scope: TenantScope) -> dict[UUID, dict[str, float]]:
    """Training labels: per interview, the mean expert score of each evaluation item.

    Interviews without an expert evaluation are left out. Items are keyed by the
    evaluation item's key, which stays the same across question set versions.
    """
    sums: dict[UUID, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    rows = await scope.objects(Evaluation).where(Evaluation.evaluator_role == "expert")
    for row in rows:
        for key, score in scores_of(row).items():
            sums[_uuid(row.interview)][key].append(int(score))
    return {interview: {key: sum(v) / len(v) for key, v in items.items()} for interview, items in sums.items()}


def _uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))
