"""Pages for protected attributes: the tenant's definitions and each interviewee's answers
(permitted roles only; 404 for everyone else), and an interviewee's own self-declaration."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from litestar import Controller, MediaType, Request, Router, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, Parameter
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template

from core import audit
from core.interviews.attributes import (AttributeProblem, attributes_of, choices_of, define_attribute, definitions,
                             requires_attribute_access, set_attributes, uuid_or_404)
from core.db.tables import User
from core.hours import service_guard
from core.interviews.people_search import search_people
from core.interviews.web_forms import PAGE_SIZE, Form, page_window, text
from core.tenancy import TenantScope, tenant_guard
from core.web.i18n import gettext as _
from core.web.rendering import page
from core.rest.pagination import PageNumber

ATTRIBUTE_TEMPLATES = Path(__file__).parent / "templates"


async def _index(request: Request, scope: TenantScope, status_code: int = 200, error: str | None = None,
                 query: str = "", page_number: int = 1) -> Template:
    # A page of interviewees, or those matching a search: never the whole tenant.
    query, page_number = query.strip(), max(1, page_number)
    if query:
        people, has_next = await search_people(scope, query, ("interviewee",)), False
    else:
        limit, offset = page_window(page_number)
        rows = await scope.objects(User).where(User.role == "interviewee").order_by(
            User.display_name, User.email).limit(limit).offset(offset)
        people, has_next = rows[:PAGE_SIZE], len(rows) > PAGE_SIZE
    return await page(request, "attributes/index.html", status_code=status_code, error=error,
                      definitions=await definitions(scope), choices_of=choices_of, people=people, q=query,
                      page_number=page_number, has_next=has_next)


def _problem(exc: AttributeProblem) -> str:
    return _("The attribute could not be saved: %(reason)s") % {"reason": str(exc)}


class AttributeController(Controller):
    path = "/attributes"
    guards = [requires_attribute_access]

    @get("/")
    async def index(self, request: Request, tenant_scope: NamedDependency[TenantScope], q: Annotated[str, Parameter(max_length=200)] = "",
                    page_number: PageNumber = 1) -> Template:
        return await _index(request, tenant_scope, query=q, page_number=page_number)

    @post("/definitions", media_type=MediaType.HTML)
    async def define(self, request: Request, tenant_scope: NamedDependency[TenantScope], data: Form) -> Any:
        try:
            definition = await define_attribute(tenant_scope, key=text(data, "key"), name_ja=text(data, "name_ja"),
                                                name_en=text(data, "name_en"), choices_text=text(data, "choices"))
        except AttributeProblem as exc:
            return await _index(request, tenant_scope, status_code=400, error=_problem(exc))
        await audit.record("attributes.defined", tenant_id=tenant_scope.tenant_id, actor=request.user,
                           target=definition.key, ip=audit.client_ip(request))
        return Redirect(f"/t/{request.path_params['tenant']}/attributes/")

    @get("/people/{person_id:str}")
    async def person(self, request: Request, tenant_scope: NamedDependency[TenantScope], person_id: FromPath[str]) -> Template:
        return await _person_page(request, tenant_scope, person_id)

    @post("/people/{person_id:str}", media_type=MediaType.HTML)
    async def save_person(self, request: Request, tenant_scope: NamedDependency[TenantScope], person_id: FromPath[str],
                          data: Form) -> Any:
        person = await tenant_scope.get(User, uuid_or_404(person_id))
        answers = {d.key: text(data, f"attr_{d.key}") for d in await definitions(tenant_scope)}
        try:
            await set_attributes(tenant_scope, person.id, answers, actor=request.user)
        except AttributeProblem as exc:
            return await _person_page(request, tenant_scope, person_id, status_code=400, error=_problem(exc))
        # The audit entry names the person, never the values.
        await audit.record("attributes.entered", tenant_id=tenant_scope.tenant_id, actor=request.user,
                           target=str(person.id), ip=audit.client_ip(request))
        return Redirect(f"/t/{request.path_params['tenant']}/attributes/")


async def _person_page(request: Request, scope: TenantScope, person_id: str, status_code: int = 200,
                       error: str | None = None, self_declaration: bool = False) -> Template:
    person = await scope.get(User, uuid_or_404(person_id))
    if person.role != "interviewee":
        raise NotFoundException()
    return await page(request, "attributes/person.html", status_code=status_code, error=error, person=person,
                      definitions=await definitions(scope), choices_of=choices_of,
                      answers=await attributes_of(scope, person.id), self_declaration=self_declaration)


def _interviewee_only(connection: Any, _handler: Any) -> None:
    if connection.user is None or connection.user.role != "interviewee":
        raise NotFoundException()


@get("/attributes/me", guards=[_interviewee_only])
async def my_attributes(request: Request, tenant_scope: NamedDependency[TenantScope]) -> Template:
    return await _person_page(request, tenant_scope, str(request.user.id), self_declaration=True)


@post("/attributes/me", guards=[_interviewee_only], media_type=MediaType.HTML)
async def declare_attributes(request: Request, tenant_scope: NamedDependency[TenantScope], data: Form) -> Any:
    answers = {d.key: text(data, f"attr_{d.key}") for d in await definitions(tenant_scope)}
    try:
        await set_attributes(tenant_scope, request.user.id, answers, actor=request.user, self_declared=True,
                             consent=text(data, "consent") == "yes")
    except AttributeProblem as exc:
        return await _person_page(request, tenant_scope, str(request.user.id), status_code=400,
                                  error=_problem(exc), self_declaration=True)
    await audit.record("attributes.declared", tenant_id=tenant_scope.tenant_id, actor=request.user,
                       target=str(request.user.id), ip=audit.client_ip(request))
    return Redirect(f"/t/{request.path_params['tenant']}/attributes/me?saved=1")


def attributes_router() -> Router:
    return Router(path="/t/{tenant:str}", route_handlers=[AttributeController, my_attributes, declare_attributes],
                  guards=[tenant_guard, service_guard("interactive")], tags=["attributes"])
