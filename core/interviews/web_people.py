"""Admin pages for the tenant's people: list, create, CSV import, deactivate, personal links."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import MediaType, Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from core import audit
from core.auth.guards import requires_admin
from core.db.tables import Tenant, User
from core.csv_input import REQUEST_MAX_BYTES as CSV_REQUEST_MAX_BYTES
from core.interviews.people import CSV_COLUMNS, TENANT_ROLES, PersonProblem, create_person, import_people, \
    issue_join_link, role_label, set_active
from core.interviews.staff_invitation import invite_staff, needs_invitation
from core.interviews.web_forms import PAGE_SIZE, Form, Upload, page_window, text
from core.tenancy import TenantScope
from core.web.flash import flash
from core.web.i18n import N_, gettext as _
from core.web.problem import problem, wants_html
from core.web.rendering import page
from core.rest.pagination import PageNumber


async def _people_page(request: Request, scope: TenantScope, page_number: int, status_code: int = 200,
                       **extra: Any) -> Template:
    limit, offset = page_window(page_number)
    people = await scope.objects(User).order_by(User.created_at, ascending=False).limit(limit).offset(offset)
    return await page(request, "interviews/people.html", status_code=status_code, people=people[:PAGE_SIZE],
                      page_number=max(1, page_number), has_next=len(people) > PAGE_SIZE, roles=TENANT_ROLES,
                      role_label=role_label, csv_columns=CSV_COLUMNS, **{"error": None, "report": None,
                                                                          "join_link": None, **extra})


class PeopleController(Controller):
    path = "/people"
    guards = [requires_admin]

    @get("/")
    async def list_people(self, request: Request, tenant_scope: NamedDependency[TenantScope],
                          page_number: PageNumber = 1) -> Template:
        return await _people_page(request, tenant_scope, page_number)

    @post("/", media_type=MediaType.HTML)
    async def add_person(self, request: Request, tenant_scope: NamedDependency[TenantScope],
                         tenant_row: NamedDependency[Tenant], data: Form) -> Any:
        try:
            user = await create_person(tenant_scope, email=text(data, "email"),
                                       display_name=text(data, "display_name"), role=text(data, "role"),
                                       language=text(data, "language") or "ja", password=text(data, "password"))
        except PersonProblem as exc:
            return await _people_page(request, tenant_scope, 1, status_code=400, error=str(exc))
        await audit.record("people.created", tenant_id=tenant_scope.tenant_id, actor=request.user,
                           target=str(user.id), detail={"role": user.role}, ip=audit.client_ip(request))
        if needs_invitation(user):
            await invite_staff(tenant_scope, request.app.state.settings, request.app.state.tasks, tenant_row, user)
        flash(request, N_("%(name)s was added."), name=user.display_name or user.email)
        return Redirect(f"/t/{request.path_params['tenant']}/people/")

    @post("/import", media_type=MediaType.HTML, request_max_body_size=CSV_REQUEST_MAX_BYTES)
    async def import_csv(self, request: Request, tenant_scope: NamedDependency[TenantScope],
                         tenant_row: NamedDependency[Tenant], data: Upload) -> Any:
        upload = data.get("file")
        content = await upload.read() if upload is not None and hasattr(upload, "read") else b""
        report = await import_people(tenant_scope, content)
        for user in filter(needs_invitation, report.users):
            await invite_staff(tenant_scope, request.app.state.settings, request.app.state.tasks, tenant_row, user)
        await audit.record("people.imported" if report.ok else "people.import_refused",
                           tenant_id=tenant_scope.tenant_id, actor=request.user,
                           detail={"created": report.created, "errors": len(report.errors)},
                           ip=audit.client_ip(request))
        if not report.ok and not wants_html(request):
            return problem(400, _("The file was not imported; nothing was changed."),
                           errors=[{"line": e.line, "column": e.column, "message": e.message} for e in report.errors])
        return await _people_page(request, tenant_scope, 1, status_code=200 if report.ok else 400, report=report)

    @post("/{user_id:uuid}/active", media_type=MediaType.HTML)
    async def set_person_active(self, request: Request, tenant_scope: NamedDependency[TenantScope],
                                user_id: FromPath[UUID], data: Form) -> Any:
        active = text(data, "active") == "1"
        if not active and user_id == request.user.id:
            return await _people_page(request, tenant_scope, 1, status_code=400,
                                      error=_("You cannot deactivate yourself."))
        user = await set_active(tenant_scope, user_id, active)
        await audit.record("people.activated" if active else "people.deactivated", tenant_id=tenant_scope.tenant_id,
                           actor=request.user, target=str(user.id), ip=audit.client_ip(request))
        return Redirect(f"/t/{request.path_params['tenant']}/people/")

    @post("/{user_id:uuid}/join-link")
    async def new_join_link(self, request: Request, tenant_scope: NamedDependency[TenantScope],
                            user_id: FromPath[UUID]) -> Template:
        user = await tenant_scope.get(User, user_id)
        if user.role != "interviewee" or not user.active:
            return await _people_page(request, tenant_scope, 1, status_code=400,
                                      error=_("Personal links are for active interviewees."))
        token = await issue_join_link(tenant_scope, user)
        await audit.record("people.join_link_issued", tenant_id=tenant_scope.tenant_id, actor=request.user,
                           target=str(user.id), ip=audit.client_ip(request))
        link = f"{request.app.state.settings.base_url}/t/{request.path_params['tenant']}/join/{token}"
        return await _people_page(request, tenant_scope, 1, join_link={"user": user, "url": link})
