"""REST API v1: the tenant's people (`/api/v1/t/{tenant}/people`), the example every API
resource follows (docs/api.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Request, Response, get, patch, post
from litestar.di import NamedDependency
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import FromPath, JSONBody, Parameter, RawBody

from core import audit
from core.auth.guards import requires_admin
from core.csv_input import REQUEST_MAX_BYTES as CSV_REQUEST_MAX_BYTES
from core.db.tables import Tenant, User
from core.interviews.people import CSV_COLUMNS, TENANT_ROLES, PersonProblem, change_role, create_person, \
    import_people, set_active
from core.interviews.staff_invitation import invite_staff, needs_invitation
from core.rest.auth import requires_scope
from core.rest.etags import require_if_match, tagged
from core.rest.pagination import CreatedAfter, CreatedBefore, CursorParam, Limit, created_between, in_states, paginate
from core.rest.problems import ApiError, FieldError, problem_responses
from core.tenancy import TenantScope
from core.text_input import NAME_LENGTH, SINGLE_LINE_PATTERN, TextProblem, clean_text, single_line
from core.web.i18n import LANGUAGES, gettext as _

Role = Annotated[str, msgspec.Meta(max_length=16, pattern=SINGLE_LINE_PATTERN,
                                   description="admin, interviewer, expert or interviewee", examples=["interviewee"])]
Language = Annotated[str, msgspec.Meta(max_length=8, pattern=SINGLE_LINE_PATTERN, description="ja or en",
                                       examples=["ja"])]


class Person(msgspec.Struct):
    """A user of the tenant."""

    id: Annotated[UUID, msgspec.Meta(examples=["5f0c7c1e-8a53-4d3c-9d1a-0b6f1c2d3e4f"])]
    email: Annotated[str, msgspec.Meta(examples=["hanako@example.jp"])]
    display_name: Annotated[str, msgspec.Meta(examples=["山田 花子"])]
    role: Role
    language: Annotated[str, msgspec.Meta(description="ja or en", examples=["ja"])]
    active: bool
    created_at: Annotated[datetime, msgspec.Meta(examples=["2026-04-01T09:00:00+09:00"])]


class PersonPage(msgspec.Struct):
    """One page of people, oldest first; `next_cursor` is null on the last page."""

    items: list[Person]
    next_cursor: str | None


class PersonCreate(msgspec.Struct, forbid_unknown_fields=True):
    """A person to register; without a password they sign in by the links they are mailed (staff:
    an invitation that sets their first password)."""

    email: single_line(254, examples=["hanako@example.jp"])
    role: Role
    display_name: single_line(NAME_LENGTH, examples=["山田 花子"]) = ""
    language: Language = "ja"
    password: single_line(200, description="At least 10 characters, or empty.") = ""


class PersonChange(msgspec.Struct, forbid_unknown_fields=True):
    """What a PATCH may change; absent members stay as they are. A new `role`, or `active: false`,
    revokes the person's API tokens and reset links."""

    display_name: single_line(NAME_LENGTH, examples=["山田 花子"]) | None = None
    language: Language | None = None
    role: Role | None = None
    active: bool | None = None


def person_of(user: User) -> Person:
    return Person(id=user.id, email=user.email, display_name=user.display_name, role=user.role,
                  language=user.language, active=user.active, created_at=user.created_at)


@get("/people", summary="List people", operation_id="listPeople",
     description="The tenant's people, oldest first, a page at a time; filter by `role` and creation time. "
                 "Admins; scope `read`.",
     guards=[requires_scope("read"), requires_admin], responses=problem_responses(403, 422))
async def list_people(tenant_scope: NamedDependency[TenantScope], limit: Limit = 20, cursor: CursorParam = None,
                      role: Annotated[str | None, Parameter(max_length=16,
                                                            description="Only this role.")] = None,
                      created_after: CreatedAfter = None, created_before: CreatedBefore = None) -> PersonPage:
    query = in_states(tenant_scope.objects(User), User.role, role, TENANT_ROLES)
    query = created_between(query, User, created_after, created_before)
    rows, next_cursor = await paginate(query, User, limit=limit, cursor=cursor)
    return PersonPage(items=[person_of(u) for u in rows], next_cursor=next_cursor)


@get("/people/{person_id:uuid}", summary="Read a person", operation_id="getPerson",
     description="One person, with its `ETag`. Admins; scope `read`.",
     guards=[requires_scope("read"), requires_admin], responses=problem_responses(403))
async def get_person(request: Request, tenant_scope: NamedDependency[TenantScope],
                     person_id: FromPath[UUID]) -> Response[Person]:
    return tagged(request, person_of(await tenant_scope.get(User, person_id)))


@post("/people", summary="Register a person", operation_id="createPerson",
      description="Registers one person; answers 201 with the person and its `Location`. Send an "
                  "`Idempotency-Key` so a retry does not register twice. Staff registered without a password are "
                  "mailed an invitation that sets their first password (valid 7 days, once). Admins; scope `write`.",
      guards=[requires_scope("write"), requires_admin], responses=problem_responses(403, 409, 422))
async def create_person_api(request: Request, tenant_scope: NamedDependency[TenantScope],
                            tenant_row: NamedDependency[Tenant], data: JSONBody[PersonCreate]) -> Response[Person]:
    try:
        user = await create_person(tenant_scope, email=data.email, display_name=data.display_name, role=data.role,
                                   language=data.language, password=data.password)
    except PersonProblem as exc:
        raise ApiError(422, errors=[FieldError(exc.field or "body", str(exc))]) from None
    await audit.record("people.created", tenant_id=tenant_scope.tenant_id, actor=request.user,
                       target=str(user.id), detail={"role": user.role, "via": "api"}, ip=audit.client_ip(request))
    if needs_invitation(user):
        await invite_staff(tenant_scope, request.app.state.settings, request.app.state.tasks, tenant_row, user)
    location = f"/api/v1/t/{request.path_params['tenant']}/people/{user.id}"
    return tagged(request, person_of(user), status_code=201, headers={"Location": location})


@patch("/people/{person_id:uuid}", summary="Change a person", operation_id="changePerson",
       description="Changes the display name, language, role or whether the person is active. Needs "
                   "`If-Match` with the person's `ETag` (428 without it, 412 when someone changed the person "
                   "meanwhile). A new role or a deactivation revokes the person's API tokens. Admins may not "
                   "change their own role or deactivate themselves. Admins; scope `write`.",
       guards=[requires_scope("write"), requires_admin], responses=problem_responses(403, 412, 422, 428))
async def change_person(request: Request, tenant_scope: NamedDependency[TenantScope], person_id: FromPath[UUID],
                        data: JSONBody[PersonChange]) -> Response[Person]:
    user = await tenant_scope.get(User, person_id)
    require_if_match(request, person_of(user))
    changes: dict = {}
    if data.display_name is not None:
        try:
            changes[User.display_name] = clean_text(data.display_name, label=_("Display name"))
        except TextProblem as exc:
            raise ApiError(422, errors=[FieldError("display_name", str(exc))]) from None
    if data.language is not None:
        if data.language not in LANGUAGES:
            raise ApiError(422, errors=[FieldError("language", _("Unknown language; use ja or en."))])
        changes[User.language] = data.language
    own = user.id == request.user.id
    if own and ((data.role is not None and data.role != user.role) or data.active is False):
        raise ApiError(422, errors=[FieldError("role" if data.role is not None else "active",
                                               _("You cannot change your own role or deactivate yourself."))])
    if data.role is not None and data.role not in TENANT_ROLES:
        raise ApiError(422, errors=[FieldError("role", _("Unknown role; use admin, interviewer, expert or interviewee."))])
    async with tenant_scope.transaction():
        if changes:
            await tenant_scope.update(User, changes).where(User.id == user.id)
        if data.role is not None and data.role != user.role:
            await change_role(tenant_scope, user.id, data.role)
            changes[User.role] = data.role
        if data.active is not None and data.active != user.active:
            await set_active(tenant_scope, user.id, data.active)
            changes[User.active] = data.active
    if changes:
        await audit.record("people.changed", tenant_id=tenant_scope.tenant_id, actor=request.user,
                           target=str(user.id), detail={k._meta.name: v for k, v in changes.items()},
                           ip=audit.client_ip(request))
    return tagged(request, person_of(await tenant_scope.get(User, person_id)))


class ImportResult(msgspec.Struct):
    """How many people a CSV import registered."""

    created: Annotated[int, msgspec.Meta(examples=[60])]


CSV_EXAMPLE = "email,display_name,role,language\nhanako@example.jp,山田 花子,interviewee,ja\n"


class CsvBodyOperation(Operation):
    """The import's body is a CSV file, read raw; the schema says so."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.request_body = RequestBody(required=True, description="A CSV file with a header line.", content={
            "text/csv": OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING), example=CSV_EXAMPLE)})


@post("/people/import", summary="Import people from CSV", operation_id="importPeople",
      description=f"Registers every row of a CSV file sent as the body (`Content-Type: text/csv`; columns "
                  f"{', '.join(CSV_COLUMNS)}; UTF-8, UTF-8 with BOM or Shift_JIS). Every row is checked first: "
                  "a file with any error registers no one and answers 422 with each error's `line` and "
                  "`field`. Staff are mailed an invitation that sets their first password. Send an "
                  "`Idempotency-Key`. Admins; scope `write`.",
      guards=[requires_scope("write"), requires_admin], responses=problem_responses(403, 422),
      operation_class=CsvBodyOperation, request_max_body_size=CSV_REQUEST_MAX_BYTES)
async def import_people_api(request: Request, tenant_scope: NamedDependency[TenantScope],
                            tenant_row: NamedDependency[Tenant], body: RawBody) -> Response[ImportResult]:
    report = await import_people(tenant_scope, body)
    if not report.ok:
        raise ApiError(422, errors=[FieldError(e.column or "file", e.message, "row", e.line) for e in report.errors])
    for user in filter(needs_invitation, report.users):
        await invite_staff(tenant_scope, request.app.state.settings, request.app.state.tasks, tenant_row, user)
    await audit.record("people.imported", tenant_id=tenant_scope.tenant_id, actor=request.user,
                       detail={"created": report.created, "via": "api"}, ip=audit.client_ip(request))
    return Response(ImportResult(created=report.created), status_code=201)


API_HANDLERS = [list_people, get_person, create_person_api, change_person, import_people_api]
