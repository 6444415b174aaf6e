"""The operator console at `/ops/` (operators only): tenants and their contracts,
services per contract (restricted ones too, with their descriptions and model licences) and
each service's settings (operator-only fields too), maintenance windows, emergency stops, deletion.

Every change is audited by the domain function it calls.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

from litestar import Request, Router, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template

from core import audit
from core.interviews.analysis import emotion_allowed
from core.interviews.people import PersonProblem
from core.interviews.staff_invitation import INVITATION_LIFETIME, needs_invitation
from core.interviews.upload_quota import storage_use
from core.auth.guards import requires_operator
from core.db.tables import AuditEntry, Tenant, User
from core.hours import TOKYO, now
from core.tenancy import TenantScope
from core.web.flash import flash
from core.web.i18n import N_, current_language, gettext as _
from core.web.rendering import page
from tenants.contracts import ContractProblem, change_contract, create_contract, purge_due
from tenants.first_admin import Invitation, check_admin, invite_admin, resend_invitation, tenant_admins
from tenants.hours import active_stop, course_in_effect, current_contract
from tenants.new_tenant import TenantProblem, check_new_tenant, check_profile, create_new_tenant
from tenants.options import set_option
from tenants.services import save_settings_form, settings_form
from tenants.stop_mail import mail_admins
from tenants.stops import (
    WindowProblem,
    cancel_maintenance,
    plan_maintenance,
    resume_service,
    service_wide_stop,
    stop_service,
    upcoming_windows,
)
from tenants.tables import COURSES, CONTRACT_STATES, ContractChange, DeletionReport, MaintenanceWindow, TenantProfile

TEMPLATES = Path(__file__).parent / "templates"
Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
RECENT = 30


def _day(value: Any) -> date | None:
    text = str(value or "").strip()
    try:
        return date.fromisoformat(text) if text else None
    except ValueError as exc:
        raise ContractProblem("Dates must be given as YYYY-MM-DD.") from exc


MAX_GRACE_DAYS = 3650
# A tenant's storage limit in GB: below 0.1 GB no interview fits, above a petabyte is a typo.
QUOTA_MIN_GB, QUOTA_MAX_GB = 0.1, 1_000_000


def _grace(value: Any) -> int | None:
    text = str(value or "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) > MAX_GRACE_DAYS:
        raise ContractProblem("The grace period must be a number of days, at most ten years.")
    return int(text)


def _contract_values(data: dict[str, Any]) -> dict[str, Any]:
    starts = _day(data.get("starts_on"))
    if starts is None:
        raise ContractProblem("The contract needs a start date.")
    return {
        "course": str(data.get("course", "")),
        "starts_on": starts,
        "ends_on": _day(data.get("ends_on")),
        "retention_grace_days": _grace(data.get("retention_grace_days")),
        "status": str(data.get("status", "active")),
    }


def _tokyo(value: Any) -> datetime:
    """A `datetime-local` field, read as Japan time."""
    try:
        return datetime.fromisoformat(str(value)).replace(tzinfo=TOKYO)
    except ValueError as exc:
        raise WindowProblem("Give the start and end as date and time.") from exc


async def _tenant(slug: str) -> Tenant:
    tenant = await Tenant.objects().where(Tenant.slug == slug).first()
    if tenant is None:
        raise NotFoundException(_("No such tenant."))
    return tenant


async def _page(request: Request, template: str, status_code: int = 200, **context: Any) -> Template:
    """Operators read times in Japan time, like the service hours."""
    return await page(request, template, status_code, tokyo=TOKYO, **context)


def _back(path: str) -> Redirect:
    return Redirect(path, status_code=303)


@get("/")
async def ops_home(request: Request) -> Template:
    return await _home_page(request)


async def _home_page(request: Request, error: str | None = None) -> Template:
    at = now()
    tenants = await Tenant.objects().order_by(Tenant.slug)
    contracts = {t.id: await current_contract(t.id) for t in tenants}
    actors = {u.id: u.email for u in await User.objects().where(User.tenant.is_null())}
    entries = await AuditEntry.select().where(AuditEntry.action.like("tenants.%")).order_by(
        AuditEntry.id, ascending=False
    ).limit(RECENT).output(load_json=True)
    return await _page(
        request, "ops/home.html", status_code=400 if error else 200, error=error, tenants=tenants,
        contracts=contracts, windows=await upcoming_windows(at), service_stop=await service_wide_stop(),
        reports=await DeletionReport.objects().order_by(DeletionReport.id, ascending=False).limit(RECENT).output(
            load_json=True),
        entries=entries, actors=actors, slugs={t.id: t.slug for t in tenants},
        plugin_pages=_plugin_ops_pages(request),
    )


def _plugin_ops_pages(request: Request) -> list[tuple[str, str]]:
    """(path, name) of the installed plugins' operator pages (`mendan_ops_route_handlers`)."""
    host = request.app.state.plugin_host
    language = current_language.get()
    return [(f"/ops/{key}/", host.metas[key].name(language)) for key in sorted(host.ops_route_handlers())]


@get("/tenants/new")
async def new_tenant_form(request: Request) -> Template:
    # The contract starts today in Japan unless the operator says otherwise, as `mendan createtenant`'s does.
    today = now().astimezone(TOKYO).date().isoformat()
    return await _page(request, "ops/tenant_new.html", courses=COURSES, values={"starts_on": today}, error=None,
                       invitation_days=INVITATION_LIFETIME.days)


@post("/tenants/new")
async def new_tenant(request: Request, data: Form) -> Any:
    """The tenant with its profile, contract and first admin (tenants/new_tenant.py); any refused
    value shows the form again with what was typed, and nothing is created."""
    try:
        new = await check_new_tenant(
            slug=data.get("slug"), name=data.get("name"), region=data.get("region"),
            contact_name=data.get("contact_name"), contact_email=data.get("contact_email"),
            contract=_contract_values({**data, "status": "active"}), admin_email=data.get("admin_email"),
            admin_name=data.get("admin_name"), admin_language=data.get("admin_language"))
    except ContractProblem as exc:
        return await _new_tenant_page(request, data, _(str(exc)))
    except TenantProblem as exc:
        return await _new_tenant_page(request, data, str(exc))
    app = request.app.state
    created = await create_new_tenant(new, storage=app.storage, settings=app.settings, tasks=app.tasks,
                                      by=request.user, ip=audit.client_ip(request))
    flash(request, N_("Tenant %(tenant)s was created. %(admin)s was mailed an invitation to set a password; "
                      "the link works until %(expires)s."),
          tenant=new.name, admin=new.admin.email, expires=_until(created.invitation))
    return _back(f"/ops/tenants/{new.slug}")


async def _new_tenant_page(request: Request, values: dict[str, Any], error: str) -> Template:
    return await _page(request, "ops/tenant_new.html", status_code=400, courses=COURSES, values=values, error=error,
                       invitation_days=INVITATION_LIFETIME.days)


def _until(invitation: Invitation) -> str:
    """When the invitation's link stops working, in Japan time like every time on /ops/."""
    return invitation.expires_at.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M")


async def _tenant_page(request: Request, tenant: Tenant, error: str | None = None,
                       admin_values: dict[str, Any] | None = None) -> Template:
    host = request.app.state.plugin_host
    scope = TenantScope(tenant.id)
    contract = await current_contract(tenant.id)
    enabled = await host.enabled_keys(tenant.id)
    changes = await scope.select(ContractChange).order_by(ContractChange.id, ascending=False).output(load_json=True)
    return await _page(
        request, "ops/tenant.html", status_code=400 if error else 200, error=error, subject=tenant,
        profile=await scope.objects(TenantProfile).first(), contract=contract,
        purge_on=purge_due(contract) if contract else None, courses=COURSES, states=CONTRACT_STATES,
        course_now=course_in_effect(contract),
        plugins=sorted(host.metas.values(), key=lambda m: (m.kind, m.key)), enabled=enabled,
        changes=changes, actors={u.id: u.email for u in await User.objects().where(User.tenant.is_null())},
        stop=await active_stop(tenant.id), emotion_ok=emotion_allowed(tenant),
        storage=await storage_use(scope, request.app.state.settings),
        admins=await tenant_admins(tenant.id), needs_invitation=needs_invitation, admin_values=admin_values or {},
    )


@get("/tenants/{slug:str}")
async def tenant_page(request: Request, slug: FromPath[str]) -> Template:
    return await _tenant_page(request, await _tenant(slug))


@post("/tenants/{slug:str}/profile")
async def save_profile(request: Request, slug: FromPath[str], data: Form) -> Any:
    tenant = await _tenant(slug)
    try:
        profile = check_profile(name=data.get("name"), region=data.get("region"),
                                contact_name=data.get("contact_name"), contact_email=data.get("contact_email"))
    except TenantProblem as exc:
        return await _tenant_page(request, tenant, error=str(exc))
    name, region = profile.name, profile.region
    contact = {"contact_name": profile.contact_name, "contact_email": profile.contact_email}
    await Tenant.update({Tenant.name: name, Tenant.region: region}).where(Tenant.id == tenant.id)
    scope = TenantScope(tenant.id)
    if await scope.objects(TenantProfile).first() is None:
        await scope.add(TenantProfile(**contact))
    else:
        await scope.update(TenantProfile, {TenantProfile.contact_name: contact["contact_name"],
                                           TenantProfile.contact_email: contact["contact_email"],
                                           TenantProfile.updated_at: now()})
    # The contact is personal data: the audit entry says what changed, not to what.
    await audit.record("tenants.profile_changed", tenant_id=tenant.id, actor=request.user, target=slug,
                       detail={"name": name, "region": region, "contact_changed": True}, ip=audit.client_ip(request))
    flash(request, N_("The tenant's profile was saved."))
    return _back(f"/ops/tenants/{slug}")


@post("/tenants/{slug:str}/admins")
async def add_admin(request: Request, slug: FromPath[str], data: Form) -> Any:
    """Invite another admin (a tenant made before first admins were, or one whose admin left)."""
    tenant = await _tenant(slug)
    app = request.app.state
    try:
        admin = check_admin(data.get("admin_email"), data.get("admin_name"), data.get("admin_language"))
        invitation = await invite_admin(tenant, admin, settings=app.settings, tasks=app.tasks, by=request.user,
                                        ip=audit.client_ip(request))
    except PersonProblem as exc:
        return await _tenant_page(request, tenant, error=str(exc), admin_values=data)
    flash(request, N_("%(admin)s was mailed an invitation to set a password; the link works until %(expires)s."),
          admin=admin.email, expires=_until(invitation))
    return _back(f"/ops/tenants/{slug}")


@post("/tenants/{slug:str}/admins/{user_id:uuid}/invitation")
async def resend_admin_invitation(request: Request, slug: FromPath[str], user_id: FromPath[UUID]) -> Any:
    tenant = await _tenant(slug)
    app = request.app.state
    try:
        invitation = await resend_invitation(tenant, user_id, settings=app.settings, tasks=app.tasks,
                                             by=request.user, ip=audit.client_ip(request))
    except LookupError:
        raise NotFoundException(_("No such admin in this tenant.")) from None
    except PersonProblem as exc:
        return await _tenant_page(request, tenant, error=str(exc))
    flash(request, N_("The invitation was sent again to %(admin)s; the new link works until %(expires)s."),
          admin=invitation.user.email, expires=_until(invitation))
    return _back(f"/ops/tenants/{slug}")


@post("/tenants/{slug:str}/contract")
async def save_contract(request: Request, slug: FromPath[str], data: Form) -> Any:
    tenant = await _tenant(slug)
    ip = audit.client_ip(request)
    try:
        values = _contract_values(data)
        newest = await current_contract(tenant.id)
        if values["course"] not in COURSES:
            raise ContractProblem("Unknown course.")
        if values["course"] != course_in_effect(newest) and data.get("confirm_course") != "yes":
            # A course switched by a form's default closed a 24-hour tenant at night: never silently.
            return await _tenant_page(request, tenant, error=_(
                "Saving would change the course from %(old)s to %(new)s, which changes the hours the tenant's "
                "users are served. Tick the confirmation to change it.")
                % {"old": _(course_in_effect(newest)), "new": _(values["course"])})
        contract = newest if str(data.get("contract_id", "")) else None
        if contract is None:
            await create_contract(tenant.id, by=request.user, ip=ip, **values)
        else:
            await change_contract(tenant.id, contract.id, by=request.user, ip=ip, **values)
    except ContractProblem as exc:
        return await _tenant_page(request, tenant, error=_(str(exc)))
    flash(request, N_("The contract was saved."))
    return _back(f"/ops/tenants/{slug}")


@post("/tenants/{slug:str}/storage-quota")
async def save_storage_quota(request: Request, slug: FromPath[str], data: Form) -> Any:
    """The tenant's own storage limit for recordings, in GB; empty: the installation's default."""
    tenant = await _tenant(slug)
    raw = str(data.get("quota_gb", "")).strip()
    try:
        gb = None if raw == "" else float(raw)
        if gb is not None and not QUOTA_MIN_GB <= gb <= QUOTA_MAX_GB:  # NaN is in no range
            raise ValueError(raw)
    except ValueError:  # "abc"
        return await _tenant_page(request, tenant, error=_(
            "Enter the storage limit as a number of GB from %(min)s to %(max)s, or leave it empty for the default.")
            % {"min": QUOTA_MIN_GB, "max": f"{QUOTA_MAX_GB:,}"})
    quota = None if gb is None else round(gb * 1024**3)
    await Tenant.update({Tenant.storage_quota_bytes: quota}).where(Tenant.id == tenant.id)
    await audit.record("tenants.storage_quota_changed", tenant_id=tenant.id, actor=request.user, target=slug,
                       detail={"bytes": quota}, ip=audit.client_ip(request))
    flash(request, N_("The storage limit was saved."))
    return _back(f"/ops/tenants/{slug}")


@post("/tenants/{slug:str}/options")
async def switch_option(request: Request, slug: FromPath[str], data: Form) -> Any:
    tenant = await _tenant(slug)
    key = str(data.get("plugin_key", ""))
    if key not in request.app.state.plugin_host.metas:
        return await _tenant_page(request, tenant, error=_("No such service is installed."))
    active = data.get("active") == "on"
    await set_option(tenant.id, key, active, by=request.user, ip=audit.client_ip(request))
    name = request.app.state.plugin_host.metas[key].name(current_language.get())
    flash(request, N_("%(service)s was switched on.") if active else N_("%(service)s was switched off."), service=name)
    return _back(f"/ops/tenants/{slug}")


async def _plugin_settings_page(request: Request, tenant: Tenant, key: str, form: dict[str, Any] | None = None,
                                saved: bool = False) -> Template:
    host = request.app.state.plugin_host
    meta = host.metas.get(key)
    if meta is None:
        raise NotFoundException(_("No such service is installed."))
    form = form or await settings_form(host, tenant.id, key, operator=True)
    return await _page(request, "ops/plugin_settings.html", status_code=400 if form["errors"] else 200, subject=tenant,
                       meta=meta, form=form, saved=saved, action=f"/ops/tenants/{tenant.slug}/plugins/{key}")


@get("/tenants/{slug:str}/plugins/{key:str}")
async def plugin_settings_page(request: Request, slug: FromPath[str], key: FromPath[str]) -> Template:
    """Every settings field of a plugin for the tenant, operator-only ones included."""
    return await _plugin_settings_page(request, await _tenant(slug), key, saved=request.query_params.get("saved") == "1")


@post("/tenants/{slug:str}/plugins/{key:str}")
async def save_plugin_settings(request: Request, slug: FromPath[str], key: FromPath[str], data: Form) -> Any:
    tenant = await _tenant(slug)
    if key not in request.app.state.plugin_host.metas:
        raise NotFoundException(_("No such service is installed."))
    form = await save_settings_form(request, tenant, key, data, operator=True)
    if form is not None:
        return await _plugin_settings_page(request, tenant, key, form)
    return _back(f"/ops/tenants/{slug}/plugins/{key}?saved=1")


@post("/tenants/{slug:str}/stop")
async def stop_tenant(request: Request, slug: FromPath[str], data: Form) -> Any:
    tenant = await _tenant(slug)
    if data.get("confirm") != "yes":
        return await _tenant_page(request, tenant, error=_("Tick the confirmation to stop the tenant."))
    message = str(data.get("message", "")).strip()
    await stop_service(tenant.id, message, by=request.user, ip=audit.client_ip(request))
    await mail_admins(request.app.state.settings, request.app.state.tasks, "stopped", tenant.id, message=message)
    flash(request, N_("The tenant was stopped; its admins were mailed."))
    return _back(f"/ops/tenants/{slug}")


@post("/tenants/{slug:str}/resume")
async def resume_tenant(request: Request, slug: FromPath[str]) -> Any:
    tenant = await _tenant(slug)
    await resume_service(tenant.id, by=request.user, ip=audit.client_ip(request))
    await mail_admins(request.app.state.settings, request.app.state.tasks, "resumed", tenant.id)
    flash(request, N_("The tenant was resumed; its admins were mailed."))
    return _back(f"/ops/tenants/{slug}")


@post("/tenants/{slug:str}/delete")
async def delete_tenant(request: Request, slug: FromPath[str], data: Form) -> Any:
    """Immediate deletion: the slug typed again confirms it; a job does the work."""
    tenant = await _tenant(slug)
    if str(data.get("confirm", "")).strip() != slug:
        return await _tenant_page(request, tenant, error=_("Type the tenant's slug to confirm the deletion."))
    # Not filed under the tenant: its audit rows go with its data, this entry stays.
    await audit.record("tenants.deletion_requested", actor=request.user, target=slug, ip=audit.client_ip(request))
    await request.app.state.tasks.enqueue(
        "tenants.purge_tenant", tenant_id=None, purge=str(tenant.id), requested_by=str(request.user.id)
    )
    flash(request, N_("The deletion of %(tenant)s has started; its deletion report appears on this page when it is done."),
          tenant=slug)
    return _back("/ops/")


@post("/maintenance")
async def add_maintenance(request: Request, data: Form) -> Any:
    try:
        window = await plan_maintenance(_tokyo(data.get("starts_at")), _tokyo(data.get("ends_at")),
                                        str(data.get("message", "")).strip(), by=request.user,
                                        ip=audit.client_ip(request))
    except WindowProblem as exc:
        return await _home_page(request, error=_(str(exc)))
    await mail_admins(request.app.state.settings, request.app.state.tasks, "maintenance_planned",
                      message=window.message, starts_at=window.starts_at, ends_at=window.ends_at)
    flash(request, N_("The maintenance window was planned; every tenant's admins were mailed."))
    return _back("/ops/")


@post("/maintenance/{window_id:int}/cancel")
async def remove_maintenance(request: Request, window_id: FromPath[int]) -> Any:
    window = await MaintenanceWindow.objects().where(MaintenanceWindow.id == window_id).first()
    if window is None or not await cancel_maintenance(window_id, by=request.user, ip=audit.client_ip(request)):
        raise NotFoundException(_("No such maintenance window."))
    if window.ends_at > now():  # a window already over affects no one
        await mail_admins(request.app.state.settings, request.app.state.tasks, "maintenance_cancelled",
                          starts_at=window.starts_at, ends_at=window.ends_at)
    flash(request, N_("The maintenance window was cancelled."))
    return _back("/ops/")


@post("/stop")
async def stop_everything(request: Request, data: Form) -> Any:
    if data.get("confirm") != "yes":
        return await _home_page(request, error=_("Tick the confirmation to stop the whole service."))
    message = str(data.get("message", "")).strip()
    await stop_service(None, message, by=request.user, ip=audit.client_ip(request))
    await mail_admins(request.app.state.settings, request.app.state.tasks, "stopped", message=message)
    flash(request, N_("The whole service was stopped; every tenant's admins were mailed."))
    return _back("/ops/")


@post("/resume")
async def resume_everything(request: Request) -> Any:
    await resume_service(None, by=request.user, ip=audit.client_ip(request))
    await mail_admins(request.app.state.settings, request.app.state.tasks, "resumed")
    flash(request, N_("The whole service was resumed; every tenant's admins were mailed."))
    return _back("/ops/")


def ops_router() -> Router:
    return Router(
        path="/ops",
        route_handlers=[
            ops_home, new_tenant_form, new_tenant, tenant_page, save_profile, add_admin, resend_admin_invitation,
            save_contract, save_storage_quota,
            switch_option,
            plugin_settings_page, save_plugin_settings,
            stop_tenant, resume_tenant, delete_tenant, add_maintenance, remove_maintenance,
            stop_everything, resume_everything,
        ],
        guards=[requires_operator],
        include_in_schema=False,
    )
