"""Admin pages for question sets: list, create, and edit (each save is a new version)."""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any
from uuid import UUID

from litestar import MediaType, Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from core import audit
from core.auth.guards import requires_admin
from core.interviews.question_sets import EvaluationItem, Question, QuestionSetProblem, add_version, \
    announce_saved, create_question_set, items_of, latest_version, questions_of
from core.interviews.tables import QuestionSet, QuestionSetVersion
from core.interviews.web_forms import PAGE_SIZE, Form, page_window, text
from core.tenancy import TenantScope
from core.text_input import NAME_LENGTH, TextProblem, clean_text
from core.web.flash import flash
from core.web.i18n import N_, gettext as _
from core.web.rendering import page
from core.rest.pagination import PageNumber

BLANK_ROWS = 3
ROW_LIMIT = 100  # questions, and items, in one set: the editor's rows are numbered fields
TEXT_LENGTH = 1000  # a question's text and an item's description, in code points; longer ones are refused, never cut


def _int(data: dict[str, Any], name: str, default: int) -> int:
    try:
        return int(text(data, name) or default)
    except ValueError as exc:
        raise QuestionSetProblem(_("Numbers must be whole numbers.")) from exc


def _name(data: dict[str, Any], field: str, label: str, max_length: int = NAME_LENGTH) -> str:
    try:
        return clean_text(text(data, field), label=label, max_length=max_length)
    except TextProblem as exc:
        raise QuestionSetProblem(str(exc)) from exc


def row_numbers(data: dict[str, Any], field: str) -> list[int]:
    """The row numbers of the posted `field` (`q_text` for questions, `i_name` for items), in
    order: the editor's script may leave gaps after removing rows, and questions and items are
    numbered apart, so rows are found by name, not counted from 0."""
    pattern = re.compile(rf"{field}_(\d{{1,6}})")
    return sorted(int(m.group(1)) for key in data if (m := pattern.fullmatch(key)))


def read_form(data: dict[str, Any]) -> tuple[list[Question], list[EvaluationItem]]:
    """Rows are numbered fields (q_text_0, i_name_0, ...) in any number up to ROW_LIMIT each;
    empty rows are skipped, order is row-number order. Raises QuestionSetProblem beyond the limit."""
    question_rows, item_rows = row_numbers(data, "q_text"), row_numbers(data, "i_name")
    if max(len(question_rows), len(item_rows)) > ROW_LIMIT:
        raise QuestionSetProblem(_("A question set has at most %(limit)s questions and %(limit)s evaluation items.")
                                 % {"limit": ROW_LIMIT})
    questions, items = [], []
    for n in question_rows:
        if text(data, f"q_text_{n}"):
            questions.append(Question(text=_name(data, f"q_text_{n}", _("Question"), max_length=TEXT_LENGTH),
                                      follow_ups=_int(data, f"q_follow_{n}", 0),
                                      time_limit_s=_int(data, f"q_limit_{n}", 120),
                                      recorded=bool(text(data, f"q_recorded_{n}")),
                                      thinking_time_s=_int(data, f"q_thinking_{n}", 0),
                                      retakes=_int(data, f"q_retakes_{n}", 0)))
    for n in item_rows:
        if text(data, f"i_name_{n}"):
            items.append(EvaluationItem(key=text(data, f"i_key_{n}"), name=_name(data, f"i_name_{n}", _("Item name")),
                                        description=_name(data, f"i_desc_{n}", _("Description"),
                                                          max_length=TEXT_LENGTH),
                                        scale_min=_int(data, f"i_min_{n}", 1), scale_max=_int(data, f"i_max_{n}", 5),
                                        required=bool(text(data, f"i_required_{n}"))))
    return questions, items


def posted_rows(data: dict[str, Any]) -> tuple[list[SimpleNamespace], list[SimpleNamespace]]:
    """The refused form's rows as typed (raw strings), so the editor shows them again and nothing is lost.

    Returns (questions, items) with the attributes the editor reads from `Question` and
    `EvaluationItem`; rows left wholly empty are dropped.
    """
    questions, items = [], []
    for n in row_numbers(data, "q_text")[:ROW_LIMIT]:
        if text(data, f"q_text_{n}"):
            questions.append(SimpleNamespace(
                text=text(data, f"q_text_{n}"), follow_ups=text(data, f"q_follow_{n}"),
                time_limit_s=text(data, f"q_limit_{n}"), recorded=bool(text(data, f"q_recorded_{n}")),
                thinking_time_s=text(data, f"q_thinking_{n}"), retakes=text(data, f"q_retakes_{n}")))
    for n in row_numbers(data, "i_name")[:ROW_LIMIT]:
        if text(data, f"i_name_{n}"):
            items.append(SimpleNamespace(
                key=text(data, f"i_key_{n}"), name=text(data, f"i_name_{n}"), description=text(data, f"i_desc_{n}"),
                scale_min=text(data, f"i_min_{n}"), scale_max=text(data, f"i_max_{n}"),
                required=bool(text(data, f"i_required_{n}"))))
    return questions, items


async def _editor(request: Request, qs: QuestionSet | None, version: QuestionSetVersion | None,
                  status_code: int = 200, error: str | None = None,
                  posted: dict[str, Any] | None = None) -> Template:
    if posted is not None:
        questions, items = posted_rows(posted)
    else:
        questions = questions_of(version) if version else []
        items = items_of(version) if version else []
    return await page(request, "interviews/question_set.html", status_code=status_code, qs=qs, version=version,
                      questions=questions, items=items, question_rows=len(questions) + BLANK_ROWS,
                      item_rows=len(items) + BLANK_ROWS, error=error,
                      name=text(posted, "name") if posted else "")


class QuestionSetController(Controller):
    path = "/question-sets"
    guards = [requires_admin]

    @get("/")
    async def list_sets(self, request: Request, tenant_scope: NamedDependency[TenantScope],
                        page_number: PageNumber = 1) -> Template:
        limit, offset = page_window(page_number)
        rows = await tenant_scope.objects(QuestionSet).order_by(QuestionSet.created_at, ascending=False).limit(
            limit).offset(offset)
        return await page(request, "interviews/question_sets.html", sets=rows[:PAGE_SIZE],
                          page_number=max(1, page_number), has_next=len(rows) > PAGE_SIZE)

    @get("/new")
    async def new_set(self, request: Request) -> Template:
        return await _editor(request, None, None)

    @post("/", media_type=MediaType.HTML)
    async def create_set(self, request: Request, tenant_scope: NamedDependency[TenantScope], data: Form) -> Any:
        try:
            questions, items = read_form(data)
            version = await create_question_set(tenant_scope, name=_name(data, "name", _("Name")), questions=questions,
                                                items=items, author=request.user)
        except QuestionSetProblem as exc:
            return await _editor(request, None, None, status_code=400, error=str(exc), posted=data)
        await audit.record("question_set.created", tenant_id=tenant_scope.tenant_id, actor=request.user,
                           target=str(version.question_set), ip=audit.client_ip(request))
        await announce_saved(tenant_scope, version)
        flash(request, N_("The question set was saved."))
        return Redirect(f"/t/{request.path_params['tenant']}/question-sets/{version.question_set}")

    @get("/{set_id:uuid}")
    async def edit_set(self, request: Request, tenant_scope: NamedDependency[TenantScope],
                       set_id: FromPath[UUID]) -> Template:
        qs = await tenant_scope.get(QuestionSet, set_id)
        return await _editor(request, qs, await latest_version(tenant_scope, qs.id))

    @post("/{set_id:uuid}", media_type=MediaType.HTML)
    async def save_version(self, request: Request, tenant_scope: NamedDependency[TenantScope],
                           set_id: FromPath[UUID], data: Form) -> Any:
        qs = await tenant_scope.get(QuestionSet, set_id)
        try:
            questions, items = read_form(data)
            version = await add_version(tenant_scope, qs.id, questions=questions, items=items, author=request.user)
        except QuestionSetProblem as exc:
            return await _editor(request, qs, await latest_version(tenant_scope, qs.id), status_code=400,
                                 error=str(exc), posted=data)
        await audit.record("question_set.versioned", tenant_id=tenant_scope.tenant_id, actor=request.user,
                           target=str(qs.id), detail={"version": version.number}, ip=audit.client_ip(request))
        await announce_saved(tenant_scope, version)
        flash(request, N_("The question set was saved as version %(number)s."), number=version.number)
        return Redirect(f"/t/{request.path_params['tenant']}/question-sets/{qs.id}")
