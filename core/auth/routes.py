"""Sign-in, sign-out, password reset and API tokens.

Tenant users sign in at `/t/{tenant}/login`, operators at `/login`. Sign-in
attempts are rate-limited per client address by Litestar's rate-limit middleware.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Annotated, Any
from uuid import UUID
from urllib.parse import urlparse

import anyio
from litestar import Request, Router, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template

from core import audit
from core.auth.guards import requires_login, requires_staff
from core.auth.middleware import SESSION_USER_KEY
from core.auth.session_store import end_sessions_of
from core.auth.passwords import hash_password, password_problem, verify_password
from core.auth.sessions import start_session
from core.auth.throttle import keys as throttle_keys
from core.auth.tokens import (
    DEFAULT_TOKEN_LIFETIME,
    SCOPES,
    TokenRefused,
    create_api_token,
    highest_scope_for,
    revoke_user_credentials,
    use_password_reset,
    valid_password_reset,
)
from core.config import Settings
from core.db.tables import ApiToken, PasswordReset, Tenant, User
from core.tenancy import tenant_by_slug, tenant_guard
from core.text_input import TextProblem, clean_text
from core.web.i18n import N_, current_language
from core.web.i18n import gettext as _
from core.web.rendering import page

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


def _safe_next(target: str | None, default: str) -> str:
    """Only same-site paths are followed after sign-in."""
    if not target:
        return default
    parsed = urlparse(target)
    # Browsers read "/\\host" like "//host": another site.
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target[1:2] in ("/", "\\"):
        return default
    return target


async def _tenant_or_none(slug: str | None) -> Tenant | None:
    return await tenant_by_slug(slug) if slug else None


async def _find_user(tenant: Tenant | None, email: str) -> User | None:
    email = email.strip().lower()
    if tenant is None:
        query = User.objects().where((User.email == email) & (User.tenant.is_null()) & (User.role == "operator"))
    else:
        query = User.objects().where((User.email == email) & (User.tenant == tenant.id))
    return await query.first()


def _home(tenant: Tenant | None) -> str:
    return f"/t/{tenant.slug}/" if tenant else "/ops/"


async def _login_page(request: Request, tenant: Tenant | None, error: str | None = None, status: int = 200):
    request.state["login_tenant"] = tenant
    return await page(request, "login.html", status_code=status, login_tenant=tenant, error=error,
                      next=request.query_params.get("next", ""))


def _wait_message(seconds: int) -> str:
    minutes = max(1, -(-seconds // 60))
    return _("Too many attempts. Please wait %(minutes)s minutes and try again.") % {"minutes": minutes}


async def _too_many(request: Request, template: str, seconds: int, **context: Any) -> Any:
    """A 429 page (or problem JSON) saying how long to wait, with `Retry-After`."""
    answer = await page(request, template, status_code=429, error=_wait_message(seconds), **context)
    answer.headers["Retry-After"] = str(seconds)
    return answer


async def _login(request: Request, tenant: Tenant | None, data: dict[str, Any]):
    email = str(data.get("email", ""))
    ip = audit.client_ip(request)
    throttle = request.app.state.throttles.sign_in
    counted = throttle_keys("signin", tenant.id if tenant else None, email, ip)
    if wait := await throttle.wait_seconds(counted):
        request.state["login_tenant"] = tenant
        return await _too_many(request, "login.html", wait, login_tenant=tenant, next=data.get("next", ""))
    user = await _find_user(tenant, email)
    hash_to_check = user.password_hash if user is not None and user.active else None
    # argon2 is slow on purpose: keep it off the event loop.
    if not await anyio.to_thread.run_sync(verify_password, hash_to_check, str(data.get("password", ""))):
        await throttle.count(counted)
        await audit.record("auth.login_failed", tenant_id=tenant.id if tenant else None, target=email[:200], ip=ip)
        return await _login_page(request, tenant, error=_("The e-mail address or password is wrong."), status=400)
    await throttle.clear("account", counted["account"])  # the owner is back: earlier failures are forgiven
    start_session(request, {SESSION_USER_KEY: str(user.id)})
    await audit.record("auth.login", tenant_id=user.tenant, actor=user, ip=ip)
    return Redirect(_safe_next(data.get("next"), _home(tenant)))


@get("/login", name="operator_login_page")
async def operator_login_page(request: Request) -> Template:
    return await _login_page(request, None)


@get("/t/{tenant:str}/login", name="tenant_login_page")
async def tenant_login_page(request: Request, tenant: FromPath[str]) -> Template:
    return await _login_page(request, await tenant_by_slug(tenant))


async def operator_login(request: Request, data: Form) -> Any:
    return await _login(request, None, data)


async def tenant_login(request: Request, tenant: FromPath[str], data: Form) -> Any:
    return await _login(request, await tenant_by_slug(tenant), data)


@post("/logout", guards=[requires_login])
async def logout(request: Request) -> Redirect:
    user = request.user
    await audit.record("auth.logout", tenant_id=user.tenant, actor=user, ip=audit.client_ip(request))
    tenant = await Tenant.objects().where(Tenant.id == user.tenant).first() if user.tenant else None
    request.clear_session()
    return Redirect(f"/t/{tenant.slug}/login" if tenant else "/login")


# -- password reset -----------------------------------------------------------


def _reset_base(tenant: Tenant | None) -> str:
    return f"/t/{tenant.slug}/password-reset" if tenant else "/password-reset"


async def _reset_request_page(request: Request, slug: str | None) -> Template:
    tenant = await _tenant_or_none(slug)
    return await page(request, "password_reset_request.html", login_tenant=tenant, sent=False)


async def _reset_request(request: Request, slug: str | None, data: dict[str, Any]) -> Any:
    """Enqueues the reset mail job whatever the address: the answer and its timing are the same
    for known and unknown addresses, so neither tells whether an account exists."""
    tenant = await _tenant_or_none(slug)
    email = str(data.get("email", ""))[:320]
    ip = audit.client_ip(request)
    throttle = request.app.state.throttles.reset
    counted = throttle_keys("reset", tenant.id if tenant else None, email, ip)
    if wait := await throttle.wait_seconds(counted):
        return await _too_many(request, "password_reset_request.html", wait, login_tenant=tenant, sent=False)
    await throttle.count(counted)
    # A platform job (no tenant): the tenant's jobs list must not show addresses someone typed.
    await request.app.state.tasks.enqueue("core.send_password_reset", tenant_id=None,
                                          for_tenant=str(tenant.id) if tenant else None, email=email,
                                          language=current_language.get(), ip=ip)
    return await page(request, "password_reset_request.html", login_tenant=tenant, sent=True)


async def _reset_for(tenant: Tenant | None, token: str) -> PasswordReset:
    """The unused, unexpired reset of a user who signs in where the link points, else 404."""
    reset = await valid_password_reset(token)
    user = await User.objects().where(User.id == reset.user).first() if reset else None
    if user is None or user.tenant != (tenant.id if tenant else None):
        raise NotFoundException(_("This link has expired or was already used."))
    return reset


async def _reset_form(request: Request, slug: str | None, token: str) -> Template:
    tenant = await _tenant_or_none(slug)
    await _reset_for(tenant, token)
    return await page(request, "password_reset_form.html", login_tenant=tenant, token=token, error=None)


async def _reset_apply(request: Request, slug: str | None, token: str, data: dict[str, Any]) -> Any:
    tenant = await _tenant_or_none(slug)
    reset = await _reset_for(tenant, token)
    password = str(data.get("password", ""))
    problem = password_problem(password)
    if problem is None and password != data.get("password_again"):
        problem = "passwords_differ"
    if problem is not None:
        messages = {
            "password_too_short": _("The password must be at least 10 characters long."),
            "password_blank": _("The password cannot be spaces only."),
            "passwords_differ": _("The two passwords differ."),
        }
        return await page(request, "password_reset_form.html", status_code=400, login_tenant=tenant,
                          token=token, error=messages[problem])
    if not await use_password_reset(reset):  # another request used the link meanwhile
        raise NotFoundException(_("This link has expired or was already used."))
    new_hash = await anyio.to_thread.run_sync(hash_password, password)
    await User.update({User.password_hash: new_hash}).where(User.id == reset.user)
    await end_sessions_of(reset.user)  # whoever knew the old password is signed out everywhere
    await revoke_user_credentials(reset.user)  # and holds none of their tokens or other reset links
    await audit.record("auth.password_reset", tenant_id=tenant.id if tenant else None, actor=reset.user,
                       ip=audit.client_ip(request))
    return Redirect(f"/t/{tenant.slug}/login" if tenant else "/login")


@get("/password-reset")
async def operator_reset_request_page(request: Request) -> Template:
    return await _reset_request_page(request, None)


@post("/password-reset")
async def operator_reset_request(request: Request, data: Form) -> Template:
    return await _reset_request(request, None, data)


@get("/password-reset/{token:str}")
async def operator_reset_form(request: Request, token: FromPath[str]) -> Template:
    return await _reset_form(request, None, token)


@post("/password-reset/{token:str}")
async def operator_reset_apply(request: Request, token: FromPath[str], data: Form) -> Any:
    return await _reset_apply(request, None, token, data)


@get("/t/{tenant:str}/password-reset")
async def tenant_reset_request_page(request: Request, tenant: FromPath[str]) -> Template:
    return await _reset_request_page(request, tenant)


@post("/t/{tenant:str}/password-reset")
async def tenant_reset_request(request: Request, tenant: FromPath[str], data: Form) -> Template:
    return await _reset_request(request, tenant, data)


@get("/t/{tenant:str}/password-reset/{token:str}")
async def tenant_reset_form(request: Request, tenant: FromPath[str], token: FromPath[str]) -> Template:
    return await _reset_form(request, tenant, token)


@post("/t/{tenant:str}/password-reset/{token:str}")
async def tenant_reset_apply(request: Request, tenant: FromPath[str], token: FromPath[str], data: Form) -> Any:
    return await _reset_apply(request, tenant, token, data)


# -- API tokens ---------------------------------------------------------------

# What each scope lets a token do, in words (the API's names, `read` ..., are shown as code beside them).
SCOPE_NAMES = {"read": N_("Read only"), "write": N_("Read and write"), "admin": N_("Read, write and settings")}


async def _tokens_page(request: Request, new_token: str | None = None, error: str | None = None,
                       revoked: bool = False) -> Template:
    """The user's live tokens (expired ones too, marked), newest first, and the form for a new one."""
    tokens = await ApiToken.objects().where((ApiToken.user == request.user.id) & (ApiToken.revoked == False)  # noqa: E712
                                            ).order_by(ApiToken.created_at, ascending=False)
    widest = highest_scope_for(request.user.role) or "read"
    return await page(request, "tokens.html", status_code=400 if error else 200, tokens=tokens, new_token=new_token,
                      error=error, scopes=SCOPES[:SCOPES.index(widest) + 1], all_scopes=SCOPES, scope_names=SCOPE_NAMES,
                      default_days=DEFAULT_TOKEN_LIFETIME.days, now=datetime.now(timezone.utc), revoked=revoked)


# Interviewees sign in by their links and never hold tokens; operators have no tenant.
@get("/t/{tenant:str}/tokens", guards=[tenant_guard, requires_staff])
async def token_list(request: Request) -> Template:
    return await _tokens_page(request, revoked=request.query_params.get("revoked") == "1")


@post("/t/{tenant:str}/tokens", guards=[tenant_guard, requires_staff])
async def token_create(request: Request, data: Form) -> Template:
    try:
        name = clean_text(data.get("name", ""), label=_("Name"), max_length=100) or "API"
    except TextProblem as exc:
        return await _tokens_page(request, error=str(exc))
    days = str(data.get("days", "") or DEFAULT_TOKEN_LIFETIME.days).strip()
    if not days.isdigit() or len(days) > 4:
        return await _tokens_page(request, error=_("A token is valid for at least a day and at most a year."))
    scope = str(data.get("scope", "read"))
    try:
        token = await create_api_token(request.user, name, scope=scope, lifetime=timedelta(days=int(days)))
    except TokenRefused as exc:
        return await _tokens_page(request, error=_(str(exc)))
    await audit.record("auth.api_token_created", tenant_id=request.user.tenant, actor=request.user, target=name,
                       detail={"scope": scope, "days": int(days)}, ip=audit.client_ip(request))
    return await _tokens_page(request, new_token=token)


@post("/t/{tenant:str}/tokens/{token_id:uuid}/revoke", guards=[tenant_guard, requires_staff])
async def token_revoke(request: Request, tenant: FromPath[str], token_id: FromPath[UUID]) -> Redirect:
    await ApiToken.update({ApiToken.revoked: True}).where(
        (ApiToken.id == token_id) & (ApiToken.user == request.user.id)
    )
    await audit.record("auth.api_token_revoked", tenant_id=request.user.tenant, actor=request.user,
                       target=str(token_id), ip=audit.client_ip(request))
    return Redirect(f"/t/{tenant}/tokens?revoked=1")


def auth_router(settings: Settings) -> Router:
    return Router(
        path="/",
        route_handlers=[
            operator_login_page,
            tenant_login_page,
            post("/login", name="operator_login")(operator_login),
            post("/t/{tenant:str}/login", name="tenant_login")(tenant_login),
            logout,
            operator_reset_request_page, operator_reset_request, operator_reset_form, operator_reset_apply,
            tenant_reset_request_page, tenant_reset_request, tenant_reset_form, tenant_reset_apply,
            token_list, token_create, token_revoke,
        ],
        include_in_schema=False,
    )
