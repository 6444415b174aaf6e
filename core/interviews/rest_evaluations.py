"""REST API v1: evaluations of an interview (`/api/v1/t/{tenant}/interviews/{id}/evaluations`).

The evaluation page's rules (core.interviews.evaluations): the interviewer, the chosen experts
and admins evaluate once the interview took place, a score per item within its scale. One
evaluation per evaluator and interview: through the API a second one is a conflict (the page
edits the first until it is locked).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, JSONBody

from core import audit
from core.auth.guards import requires_staff
from core.interviews.evaluations import COMMENT_LENGTH, EvaluationProblem, evaluator_role, may_see_scores, \
    save_evaluation, scores_of
from core.interviews.question_sets import KEY_PATTERN, items_of
from core.interviews.rest_question_sets import SCALE_BOUND
from core.interviews.tables import Evaluation, QuestionSetVersion
from core.interviews.web_interviews import visible_interview
from core.rest.auth import requires_scope
from core.rest.etags import tagged
from core.rest.problems import ApiError, FieldError, problem_responses
from core.tenancy import TenantScope
from core.text_input import multi_line
from core.web.i18n import gettext as _

STATUS = {"not_an_evaluator": 403, "not_held_yet": 409, "evaluation_exists": 409, "evaluation_locked": 409}


ItemKey = Annotated[str, msgspec.Meta(max_length=63, pattern=KEY_PATTERN.pattern)]

class EvaluationOut(msgspec.Struct):
    """One evaluator's scores (item key -> score) against the question set version they saw.
    `evaluator_role`: expert (the AI model learns from these), interviewer or admin."""

    id: UUID
    interview: UUID
    evaluator: UUID
    evaluator_role: str
    question_set_version: UUID
    scores: Annotated[dict[str, int], msgspec.Meta(examples=[{"clarity": 4, "warmth": 5}])]
    comment: str
    locked: bool
    updated_at: datetime


class EvaluationList(msgspec.Struct):
    """`hidden_until_evaluated`: true for an expert who has not saved their own evaluation yet;
    experts score blind, so `items` is empty for them until then."""

    items: list[EvaluationOut]
    hidden_until_evaluated: bool = False


class EvaluationIn(msgspec.Struct, forbid_unknown_fields=True):
    """Your scores by evaluation item key (every required item; each within its scale) and a comment."""

    scores: Annotated[dict[ItemKey, Annotated[int, msgspec.Meta(ge=-SCALE_BOUND, le=SCALE_BOUND)]],
                      msgspec.Meta(max_length=200, examples=[{"clarity": 4, "warmth": 5}])]
    comment: multi_line(COMMENT_LENGTH) = ""


def evaluation_out(row: Evaluation) -> EvaluationOut:
    return EvaluationOut(id=row.id, interview=row.interview, evaluator=row.evaluator,
                         evaluator_role=row.evaluator_role, question_set_version=row.question_set_version,
                         scores=scores_of(row), comment=row.comment, locked=row.locked, updated_at=row.updated_at)


@get("/interviews/{interview_id:uuid}/evaluations", summary="List an interview's evaluations",
     operation_id="listEvaluations",
     description="Every evaluation of the interview. Staff who take part (admins: any); scope `read`. Experts "
                 "score blind: until they have saved their own, the list is empty and `hidden_until_evaluated` true.",
     guards=[requires_scope("read"), requires_staff], responses=problem_responses(403))
async def list_evaluations(request: Request, tenant_scope: NamedDependency[TenantScope],
                           interview_id: FromPath[UUID]) -> EvaluationList:
    interview = await visible_interview(tenant_scope, request.user, interview_id)
    if not await may_see_scores(tenant_scope, request.user, interview):
        return EvaluationList(items=[], hidden_until_evaluated=True)
    rows = await tenant_scope.objects(Evaluation).where(Evaluation.interview == interview.id).order_by(
        Evaluation.updated_at)
    return EvaluationList(items=[evaluation_out(r) for r in rows])


@get("/interviews/{interview_id:uuid}/evaluations/{evaluation_id:uuid}", summary="Read an evaluation",
     operation_id="getEvaluation", description="One evaluation. Staff who take part (admins: any); scope `read`. "
                                               "An expert who has not saved their own evaluation gets 403 "
                                               "`evaluate_first` (experts score blind).",
     guards=[requires_scope("read"), requires_staff], responses=problem_responses(403))
async def get_evaluation(request: Request, tenant_scope: NamedDependency[TenantScope], interview_id: FromPath[UUID],
                         evaluation_id: FromPath[UUID]) -> Response[EvaluationOut]:
    interview = await visible_interview(tenant_scope, request.user, interview_id)
    row = await tenant_scope.get(Evaluation, evaluation_id)
    if row.interview != interview.id:
        raise NotFoundException()
    if not await may_see_scores(tenant_scope, request.user, interview):
        raise ApiError(403, "evaluate_first", _("Other evaluations appear once you have saved your own."))
    return tagged(request, evaluation_out(row))


@post("/interviews/{interview_id:uuid}/evaluations", summary="Evaluate an interview", operation_id="createEvaluation",
      description="Your evaluation of the interview. The interviewer, its experts and admins evaluate once it took "
                  "place (409 `not_held_yet` before; 403 `not_an_evaluator` for others); one per evaluator (409 "
                  "`evaluation_exists` for a second); a missing, unknown or off-scale score is a 422 "
                  "`invalid_score` naming `scores.<key>`. Scope `write`.",
      guards=[requires_scope("write"), requires_staff], responses=problem_responses(403, 409, 422))
async def create_evaluation(request: Request, tenant_scope: NamedDependency[TenantScope],
                            interview_id: FromPath[UUID], data: JSONBody[EvaluationIn]) -> Response[EvaluationOut]:
    interview = await visible_interview(tenant_scope, request.user, interview_id)
    if evaluator_role(request.user, interview) is None:
        raise ApiError(403, "not_an_evaluator", _("You are not an evaluator of this interview."))
    version = await tenant_scope.get(QuestionSetVersion, interview.question_set_version)
    known = {item.key for item in items_of(version)}
    unknown = [key for key in data.scores if key not in known]
    if unknown:
        message = _("This is not an evaluation item of the interview's question set.")
        raise ApiError(422, "invalid_score", message, errors=[FieldError(f"scores.{key}", message) for key in unknown])
    try:
        row = await save_evaluation(tenant_scope, interview, request.user, dict(data.scores), data.comment,
                                    create_only=True)
    except EvaluationProblem as exc:
        status = STATUS.get(exc.code, 422)
        raise ApiError(status, exc.code, str(exc),
                       errors=[FieldError(exc.field, str(exc))] if exc.field else None) from None
    await audit.record("evaluation.saved", tenant_id=tenant_scope.tenant_id, actor=request.user,
                       target=str(interview.id), ip=audit.client_ip(request))
    return tagged(request, evaluation_out(row), status_code=201,
                  headers={"Location": f"/api/v1/t/{request.path_params['tenant']}/interviews/{interview.id}"
                                       f"/evaluations/{row.id}"})


API_HANDLERS = [list_evaluations, get_evaluation, create_evaluation]
