"""REST API v1: question sets and their evaluation items (`/api/v1/t/{tenant}/question-sets`).

The same rules as the admin's pages (core.interviews.question_sets): a set is saved as
unchangeable versions, and replacing its questions and items (PUT, with If-Match) makes the
next version. Admins only, as on the pages.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Request, Response, get, post, put
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, JSONBody, Parameter

from core import audit
from core.auth.guards import requires_admin
from core.interviews.question_sets import EvaluationItem, Question, QuestionSetProblem, StaleVersion, \
    add_version, announce_saved, create_question_set, items_of, latest_version, questions_of
from core.interviews.tables import QuestionSet, QuestionSetVersion
from core.rest.auth import requires_scope
from core.rest.etags import require_if_match, tagged
from core.rest.pagination import CreatedAfter, CreatedBefore, CursorParam, Limit, created_between, paginate
from core.rest.problems import ApiError, FieldError, problem_responses
from core.tenancy import TenantScope
from core.interviews.question_sets import KEY_PATTERN, MAX_FOLLOW_UPS, MAX_RETAKES, MAX_THINKING_S
from core.text_input import NAME_LENGTH, TextProblem, clean_text, single_line
from core.web.i18n import gettext as _

TEXT_LENGTH = 1000  # as on the editor page: a question's text and an item's description
MAX_ANSWER_S = 3600  # an answer's time limit: an hour is past any interview question
SCALE_BOUND = 1000  # a scale's ends lie within ±1000


class Item(msgspec.Struct):
    """An evaluation item: scores are whole numbers from `scale_min` to `scale_max`, stored under
    `key`, which stays the same across the set's versions."""

    key: Annotated[str, msgspec.Meta(examples=["clarity"])]
    name: Annotated[str, msgspec.Meta(examples=["話の明瞭さ"])]
    description: str
    scale_min: int
    scale_max: int
    required: bool


class QuestionOut(msgspec.Struct):
    """A question. `time_limit_s`: answer time in seconds; for a self-interview `thinking_time_s`
    before recording, `retakes` (0-2) and `follow_ups` (generated questions, 0-2)."""

    text: str
    time_limit_s: int
    follow_ups: int
    recorded: bool
    thinking_time_s: int
    retakes: int


class Version(msgspec.Struct):
    """One unchangeable version of a question set; interviews and evaluations point at one."""

    id: UUID
    number: int
    questions: list[QuestionOut]
    items: list[Item]
    created_at: datetime


class QuestionSetOut(msgspec.Struct):
    """A question set with its newest version."""

    id: UUID
    name: str
    latest_version: Version | None
    created_at: datetime


class QuestionSetPage(msgspec.Struct):
    """One page of question sets, oldest first; `next_cursor` is null on the last page."""

    items: list[QuestionSetOut]
    next_cursor: str | None


class QuestionIn(msgspec.Struct, forbid_unknown_fields=True):
    text: single_line(TEXT_LENGTH, examples=["自己紹介をしてください。"])
    time_limit_s: Annotated[int, msgspec.Meta(ge=1, le=MAX_ANSWER_S)] = 120
    follow_ups: Annotated[int, msgspec.Meta(ge=0, le=MAX_FOLLOW_UPS)] = 0
    recorded: bool = True
    thinking_time_s: Annotated[int, msgspec.Meta(ge=0, le=MAX_THINKING_S)] = 0
    retakes: Annotated[int, msgspec.Meta(ge=0, le=MAX_RETAKES)] = 0


class ItemIn(msgspec.Struct, forbid_unknown_fields=True):
    """An item; leave `key` empty for a new one (it is made from the name), or send the key of an
    item of the previous version to keep it the same item (a renamed item, say)."""

    name: single_line(NAME_LENGTH, examples=["話の明瞭さ"])
    key: Annotated[str, msgspec.Meta(max_length=63, pattern=f"^$|{KEY_PATTERN.pattern}")] = ""
    description: single_line(TEXT_LENGTH) = ""
    scale_min: Annotated[int, msgspec.Meta(ge=-SCALE_BOUND, le=SCALE_BOUND)] = 1
    scale_max: Annotated[int, msgspec.Meta(ge=-SCALE_BOUND, le=SCALE_BOUND)] = 5
    required: bool = True


class QuestionSetIn(msgspec.Struct, forbid_unknown_fields=True):
    """A new question set: its name, questions and evaluation items, in order."""

    name: single_line(NAME_LENGTH, examples=["一次面接"])
    questions: list[QuestionIn]
    items: list[ItemIn]


class VersionIn(msgspec.Struct, forbid_unknown_fields=True):
    """The questions and items of the set's next version, in order."""

    questions: list[QuestionIn]
    items: list[ItemIn]




def version_of(version: QuestionSetVersion) -> Version:
    return Version(id=version.id, number=version.number, created_at=version.created_at,
                   questions=[QuestionOut(text=q.text, time_limit_s=q.time_limit_s, follow_ups=int(q.follow_ups),
                                          recorded=q.recorded, thinking_time_s=q.thinking_time_s, retakes=q.retakes)
                              for q in questions_of(version)],
                   items=[Item(key=i.key, name=i.name, description=i.description, scale_min=i.scale_min,
                               scale_max=i.scale_max, required=i.required) for i in items_of(version)])


async def _set_of(scope: TenantScope, qs: QuestionSet) -> QuestionSetOut:
    latest = await latest_version(scope, qs.id)
    return QuestionSetOut(id=qs.id, name=qs.name, created_at=qs.created_at,
                          latest_version=version_of(latest) if latest else None)


def _clean(value: str, field: str, label: str, max_length: int, problems: list[FieldError]) -> str:
    try:
        return clean_text(value, label=label, max_length=max_length)
    except TextProblem as exc:
        problems.append(FieldError(field, str(exc)))
        return value


def _read(questions: list[QuestionIn], items: list[ItemIn]) -> tuple[list[Question], list[EvaluationItem]]:
    """The body's rows as the domain's, texts cleaned as the editor page cleans them; 422 with
    every field's problem."""
    problems: list[FieldError] = []
    read_questions = [Question(text=_clean(q.text, f"questions[{n}].text", _("Question"), TEXT_LENGTH, problems),
                               follow_ups=q.follow_ups, time_limit_s=q.time_limit_s, recorded=q.recorded,
                               thinking_time_s=q.thinking_time_s, retakes=q.retakes)
                      for n, q in enumerate(questions)]
    read_items = [EvaluationItem(key=i.key, name=_clean(i.name, f"items[{n}].name", _("Item name"), NAME_LENGTH,
                                                        problems),
                                 description=_clean(i.description, f"items[{n}].description", _("Description"),
                                                    TEXT_LENGTH, problems) if i.description else "",
                                 scale_min=i.scale_min, scale_max=i.scale_max, required=i.required)
                  for n, i in enumerate(items)]
    if problems:
        raise ApiError(422, errors=problems)
    return read_questions, read_items


def _refused(exc: QuestionSetProblem) -> ApiError:
    return ApiError(422, "invalid_question_set", str(exc), errors=[FieldError(exc.field or "", str(exc))])


def _location(request: Request, set_id: Any) -> str:
    return f"/api/v1/t/{request.path_params['tenant']}/question-sets/{set_id}"


@get("/question-sets", summary="List question sets", operation_id="listQuestionSets",
     description="The tenant's question sets with their newest version, oldest first, a page at a time. "
                 "Admins; scope `read`.",
     guards=[requires_scope("read"), requires_admin], responses=problem_responses(403, 422))
async def list_question_sets(tenant_scope: NamedDependency[TenantScope], limit: Limit = 20,
                             cursor: CursorParam = None, created_after: CreatedAfter = None,
                             created_before: CreatedBefore = None) -> QuestionSetPage:
    query = created_between(tenant_scope.objects(QuestionSet), QuestionSet, created_after, created_before)
    rows, next_cursor = await paginate(query, QuestionSet, limit=limit, cursor=cursor)
    return QuestionSetPage(items=[await _set_of(tenant_scope, qs) for qs in rows], next_cursor=next_cursor)


@get("/question-sets/{set_id:uuid}", summary="Read a question set", operation_id="getQuestionSet",
     description="A question set with its newest version (questions, evaluation items with keys and scales) and "
                 "its `ETag`, which `PUT` needs in `If-Match`. Admins; scope `read`.",
     guards=[requires_scope("read"), requires_admin], responses=problem_responses(403))
async def get_question_set(request: Request, tenant_scope: NamedDependency[TenantScope],
                           set_id: FromPath[UUID]) -> Response[QuestionSetOut]:
    return tagged(request, await _set_of(tenant_scope, await tenant_scope.get(QuestionSet, set_id)))


# Bounded to the database's INTEGER, so a huge number is a 422, not an overflow in the query.
VersionNumber = Annotated[int, Parameter(ge=1, le=2**31 - 1, description="The version's number, 1, 2, ...")]


@get("/question-sets/{set_id:uuid}/versions/{number:int}", summary="Read a version of a question set",
     operation_id="getQuestionSetVersion",
     description="One version by its number (1, 2, ...): what interviews and evaluations made with it saw. "
                 "Admins; scope `read`.",
     guards=[requires_scope("read"), requires_admin], responses=problem_responses(403, 422))
async def get_question_set_version(request: Request, tenant_scope: NamedDependency[TenantScope],
                                   set_id: FromPath[UUID], number: VersionNumber) -> Response[Version]:
    qs = await tenant_scope.get(QuestionSet, set_id)
    version = await tenant_scope.objects(QuestionSetVersion).where(
        (QuestionSetVersion.question_set == qs.id) & (QuestionSetVersion.number == number)).first()
    if version is None:
        raise NotFoundException()
    return tagged(request, version_of(version))


@post("/question-sets", summary="Create a question set", operation_id="createQuestionSet",
      description="A new question set (its version 1). Items without a key get one made from the name; a key "
                  "another question set uses is refused. Send an `Idempotency-Key` to make retries safe. "
                  "Admins; scope `write`.",
      guards=[requires_scope("write"), requires_admin], responses=problem_responses(403, 409, 422))
async def create_set(request: Request, tenant_scope: NamedDependency[TenantScope],
                     data: JSONBody[QuestionSetIn]) -> Response[QuestionSetOut]:
    questions, items = _read(data.questions, data.items)
    problems: list[FieldError] = []
    name = _clean(data.name, "name", _("Name"), NAME_LENGTH, problems)
    if problems:
        raise ApiError(422, errors=problems)
    try:
        version = await create_question_set(tenant_scope, name=name, questions=questions, items=items,
                                            author=request.user)
    except QuestionSetProblem as exc:
        raise _refused(exc) from None
    await audit.record("question_set.created", tenant_id=tenant_scope.tenant_id, actor=request.user,
                       target=str(version.question_set), ip=audit.client_ip(request))
    await announce_saved(tenant_scope, version)
    qs = await tenant_scope.get(QuestionSet, version.question_set)
    return tagged(request, await _set_of(tenant_scope, qs), status_code=201,
                  headers={"Location": _location(request, qs.id)})


@put("/question-sets/{set_id:uuid}", summary="Save a new version of a question set",
     operation_id="replaceQuestionSet",
     description="Replaces the questions and items by a new version (the earlier ones stay, for the interviews "
                 "made with them). Requires `If-Match` with the set's `ETag`: 428 without, 412 when someone "
                 "saved meanwhile. An item keeps its key when sent with it. Admins; scope `write`.",
     guards=[requires_scope("write"), requires_admin], responses=problem_responses(403, 409, 412, 422, 428))
async def replace_set(request: Request, tenant_scope: NamedDependency[TenantScope], set_id: FromPath[UUID],
                      data: JSONBody[VersionIn]) -> Response[QuestionSetOut]:
    qs = await tenant_scope.get(QuestionSet, set_id)
    current = await _set_of(tenant_scope, qs)
    require_if_match(request, current)
    questions, items = _read(data.questions, data.items)
    try:
        version = await add_version(tenant_scope, qs.id, questions=questions, items=items, author=request.user,
                                    made_from=current.latest_version.number if current.latest_version else 0)
    except StaleVersion:
        raise ApiError(412) from None
    except QuestionSetProblem as exc:
        raise _refused(exc) from None
    await audit.record("question_set.versioned", tenant_id=tenant_scope.tenant_id, actor=request.user,
                       target=str(qs.id), detail={"version": version.number}, ip=audit.client_ip(request))
    await announce_saved(tenant_scope, version)
    return tagged(request, await _set_of(tenant_scope, qs))


API_HANDLERS = [list_question_sets, get_question_set, get_question_set_version, create_set, replace_set]
