"""The tenant admin's services page (`/t/{tenant}/services/`): which services the tenant has,
switching options on and off, and each service's settings.

A `restricted` service is switched by operators only (in /ops/): its admin sees its state but
no switch, and the switch route refuses it. Settings fields marked `operator_only` appear only
in /ops/. Every change is audited.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Router, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template

from core import audit
from core.auth.guards import requires_role
from core.plugin_settings import SettingsInvalid, is_set
from core.plugins import PluginHost
from core.tenancy import tenant_guard
from core.web.i18n import gettext as _
from core.web.rendering import page
from tenants.options import set_option

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


def _meta(host: PluginHost, key: str) -> Any:
    meta = host.metas.get(key)
    if meta is None:
        raise NotFoundException(_("No such service is installed."))
    return meta


async def settings_form(host: PluginHost, tenant_id: Any, key: str, *, operator: bool,
                        sent: dict[str, Any] | None = None, errors: dict[str, str] | None = None) -> dict[str, Any]:
    """What the settings form of one plugin shows: its fields (operator-only ones for operators
    only), their values (what was sent when it is shown again with errors), which secrets are set,
    and the errors by field. Secret values are never part of it."""
    stored = await host.stored_settings(tenant_id, key)
    current = await host.settings_for(tenant_id, key)
    fields = [f for f in host.settings_fields(key) if operator or not f.operator_only]
    values = {}
    for f in fields:
        if f.secret:
            continue
        if sent is not None:  # shown again with errors: what was sent, so nothing typed is lost
            values[f.name] = sent.get(f.name) == "on" if f.type is bool else sent.get(f.name, "")
        else:
            values[f.name] = getattr(current, f.name)
    return {"fields": fields, "values": values, "secrets_set": {f.name for f in fields if f.secret and is_set(f, stored)},
            "errors": errors or {}}


async def save_settings_form(request: Request, tenant: Any, key: str, data: dict[str, Any], *,
                             operator: bool) -> dict[str, Any] | None:
    """Store a sent settings form and audit it; None when saved, else the form with its errors."""
    host = request.app.state.plugin_host
    try:
        changed = await host.save_settings(tenant.id, key, data, operator=operator)
    except SettingsInvalid as exc:
        return await settings_form(host, tenant.id, key, operator=operator, sent=data, errors=exc.errors)
    if changed:
        # Which fields changed, never to what: a secret must not reach the audit log either.
        await audit.record("tenants.plugin_settings_changed", tenant_id=tenant.id, actor=request.user, target=key,
                           detail={"fields": changed}, ip=audit.client_ip(request))
    return None


@get("/")
async def services_page(request: Request) -> Template:
    host = request.app.state.plugin_host
    tenant = request.state["tenant"]
    return await page(
        request, "services/index.html", plugins=sorted(host.metas.values(), key=lambda m: (m.kind, m.key)),
        enabled=await host.enabled_keys(tenant.id),
        with_settings={k for k in host.metas if any(not f.operator_only for f in host.settings_fields(k))},
    )


@post("/switch")
async def switch_service(request: Request, data: Form) -> Redirect:
    host = request.app.state.plugin_host
    tenant = request.state["tenant"]
    meta = _meta(host, str(data.get("plugin_key", "")))
    if meta.restricted:
        raise PermissionDeniedException(_("Only the operator can switch this service."))
    await set_option(tenant.id, meta.key, data.get("active") == "on", by=request.user, ip=audit.client_ip(request))
    return Redirect(f"/t/{tenant.slug}/services/", status_code=303)


async def _settings_page(request: Request, key: str, form: dict[str, Any] | None = None, saved: bool = False) -> Template:
    host = request.app.state.plugin_host
    tenant = request.state["tenant"]
    meta = _meta(host, key)
    form = form or await settings_form(host, tenant.id, key, operator=False)
    return await page(request, "services/settings.html", status_code=400 if form["errors"] else 200, meta=meta,
                      form=form, saved=saved, action=f"/t/{tenant.slug}/services/{key}/settings")


@get("/{key:str}/settings")
async def settings_page(request: Request, key: FromPath[str]) -> Template:
    return await _settings_page(request, key, saved=request.query_params.get("saved") == "1")


@post("/{key:str}/settings")
async def save_settings(request: Request, key: FromPath[str], data: Form) -> Any:
    tenant = request.state["tenant"]
    _meta(request.app.state.plugin_host, key)
    form = await save_settings_form(request, tenant, key, data, operator=False)
    if form is not None:
        return await _settings_page(request, key, form)
    return Redirect(f"/t/{tenant.slug}/services/{key}/settings?saved=1", status_code=303)


def services_router() -> Router:
    return Router(
        path="/t/{tenant:str}/services",
        route_handlers=[services_page, switch_service, settings_page, save_settings],
        guards=[tenant_guard, requires_role("admin")],
        tags=["services"],
        include_in_schema=False,
    )
