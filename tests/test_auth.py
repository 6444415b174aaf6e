"""Sign-in and what guards it: audit rows, operator and tenant sign-in, sessions, CSRF,
API tokens, rate limiting, password reset by mail, and guards per role."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from datetime import datetime, timedelta, timezone
from email import message_from_bytes, policy

import pytest
from litestar import Request, get, post
from litestar.testing import AsyncTestClient

from core.auth.guards import requires_login, requires_role
from core.auth.tokens import create_password_reset
from core.config import use_settings
from core.db.tables import ApiToken, AuditEntry, PasswordReset
from core.hookspecs import hookimpl
from core.plugins import PluginMeta
from tests.conftest import HTML, PASSWORD, form_csrf, login

NEW_PASSWORD = "a-brand-new-passphrase"


@get("/admin-only", guards=[requires_role("admin")])
async def admin_only() -> dict:
    return {"ok": True}


@post("/whoami", guards=[requires_login], status_code=200)
async def whoami(request: Request) -> dict:
    return {"email": request.user.email}


class GuardedRoutes:
    """A test-only plugin whose routes carry the core's guards."""

    @hookimpl
    def mendan_plugin_meta(self):
        return PluginMeta(key="guarded", name_ja="保護", name_en="Guarded", version="1", kind="basic",
                          hours="batch")

    @hookimpl
    def mendan_route_handlers(self):
        return [admin_only, whoami]


@pytest.fixture
def guarded(host):
    host.register(GuardedRoutes(), key="guarded")


async def _audit(action: str, **where) -> list[AuditEntry]:
    query = AuditEntry.objects().where(AuditEntry.action == action)
    for column, value in where.items():
        query = query.where(getattr(AuditEntry, column) == value)
    return await query


def _session_cookie(response) -> str | None:
    for header in response.headers.get_list("set-cookie"):
        match = re.match(r"session=([^;]*)", header)
        if match:
            return match.group(1)
    return None


# -- sign-in ------------------------------------------------------------------


async def test_login_succeeds_and_is_audited(client, make_tenant, make_user):
    tenant = await make_tenant()
    user = await make_user(tenant, "admin")
    response = await login(client, tenant, user)
    assert response.headers["location"] == f"/t/{tenant.slug}/"
    assert (await client.get(f"/t/{tenant.slug}/", headers=HTML)).status_code == 200
    [entry] = await _audit("auth.login", actor=user.id)
    assert entry.tenant == tenant.id and entry.ip


async def test_wrong_password_is_refused_and_audited(client, make_tenant, make_user):
    tenant = await make_tenant()
    user = await make_user(tenant, "admin")
    await client.get(f"/t/{tenant.slug}/login", headers=HTML)
    response = await client.post(
        f"/t/{tenant.slug}/login",
        data={"email": user.email, "password": "wrong-password!", "_csrf_token": client.cookies["csrftoken"]},
        headers=HTML, follow_redirects=False,
    )
    assert response.status_code == 400
    assert "role=\"alert\"" in response.text
    [entry] = await _audit("auth.login_failed", target=user.email)
    assert entry.tenant == tenant.id and entry.actor is None
    assert not await _audit("auth.login", actor=user.id)
    signed_out = await client.get(f"/t/{tenant.slug}/", headers=HTML, follow_redirects=False)
    assert signed_out.status_code in (302, 303, 307)


async def test_a_tenant_user_cannot_sign_in_at_another_tenant_or_as_operator(client, make_tenant, make_user):
    a, b = await make_tenant(), await make_tenant()
    user = await make_user(a, "admin")
    for path in (f"/t/{b.slug}/login", "/login"):
        await client.get(path, headers=HTML)
        response = await client.post(
            path, data={"email": user.email, "password": PASSWORD, "_csrf_token": client.cookies["csrftoken"]},
            headers=HTML, follow_redirects=False,
        )
        assert response.status_code == 400, path
    assert len(await _audit("auth.login_failed", target=user.email)) == 2
    await login(client, a, user)  # and at its own tenant it works


async def test_operators_sign_in_at_login_not_at_a_tenant(client, make_tenant, make_user):
    tenant = await make_tenant()
    operator = await make_user(None, "operator")
    response = await login(client, None, operator)
    assert response.headers["location"] == "/ops/"
    await client.post("/logout", data={"_csrf_token": client.cookies["csrftoken"]}, headers=HTML)
    await client.get(f"/t/{tenant.slug}/login", headers=HTML)
    response = await client.post(
        f"/t/{tenant.slug}/login",
        data={"email": operator.email, "password": PASSWORD, "_csrf_token": client.cookies["csrftoken"]},
        headers=HTML, follow_redirects=False,
    )
    assert response.status_code == 400


async def test_sign_in_issues_a_new_session_id_and_drops_the_old_one(app, client, make_tenant, make_user):
    tenant = await make_tenant()
    user = await make_user(tenant, "admin")
    before = _session_cookie(await client.get(f"/t/{tenant.slug}/login", headers=HTML))
    store = app.stores.get("sessions")
    assert before and await store.exists(before)
    response = await login(client, tenant, user)
    after = _session_cookie(response)
    assert after and after != before
    assert not await store.exists(before)  # a planted id is worthless after sign-in
    assert await store.exists(after)
    assert (await client.get(f"/t/{tenant.slug}/", headers=HTML)).status_code == 200


async def test_logout_needs_csrf_and_ends_the_session(client, make_tenant, make_user):
    tenant = await make_tenant()
    user = await make_user(tenant, "interviewer")
    await login(client, tenant, user)
    assert (await client.post("/logout", headers=HTML, follow_redirects=False)).status_code == 403
    response = await client.post("/logout", data={"_csrf_token": client.cookies["csrftoken"]},
                                 headers=HTML, follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"] == f"/t/{tenant.slug}/login"
    assert await _audit("auth.logout", actor=user.id)
    home = await client.get(f"/t/{tenant.slug}/", headers=HTML, follow_redirects=False)
    assert home.status_code in (302, 303, 307)


# -- CSRF and API tokens ---------------------------------------------------------


async def test_a_form_post_without_the_csrf_token_is_refused(client, make_tenant, make_user):
    tenant = await make_tenant()
    user = await make_user(tenant, "admin")
    await login(client, tenant, user)
    refused = await client.post(f"/t/{tenant.slug}/tokens", data={"name": "ci"}, headers=HTML)
    assert refused.status_code == 403
    assert await ApiToken.count().where(ApiToken.user == user.id) == 0
    page = await client.get(f"/t/{tenant.slug}/tokens", headers=HTML)
    accepted = await client.post(f"/t/{tenant.slug}/tokens", data={"name": "ci", "_csrf_token": form_csrf(page.text)},
                                 headers=HTML)
    assert accepted.status_code == 200
    assert await ApiToken.count().where(ApiToken.user == user.id) == 1


async def test_api_token_works_without_csrf_until_revoked(guarded, app, make_tenant, make_user):
    tenant = await make_tenant()
    user = await make_user(tenant, "interviewer")
    async with AsyncTestClient(app, base_url="http://testserver.local") as browser:
        await login(browser, tenant, user)
        page = await browser.get(f"/t/{tenant.slug}/tokens", headers=HTML)
        created = await browser.post(f"/t/{tenant.slug}/tokens",
                                     data={"name": "script", "_csrf_token": form_csrf(page.text)}, headers=HTML)
        token = re.search(r'<code id="new-token">([^<]+)</code>', created.text).group(1)
        token_row = await ApiToken.objects().where(ApiToken.user == user.id).first()

        # A separate client with no cookies at all: only the bearer token speaks for it.
        async with AsyncTestClient(app, base_url="http://testserver.local") as script:
            bearer = {"authorization": f"Bearer {token}"}
            answer = await script.post(f"/t/{tenant.slug}/guarded/whoami", headers=bearer)
            assert answer.status_code == 200, answer.text
            assert answer.json() == {"email": user.email}
            assert (await script.post(f"/t/{tenant.slug}/guarded/whoami")).status_code in (401, 403)

            page = await browser.get(f"/t/{tenant.slug}/tokens", headers=HTML)
            revoked = await browser.post(f"/t/{tenant.slug}/tokens/{token_row.id}/revoke",
                                         data={"_csrf_token": form_csrf(page.text)}, headers=HTML,
                                         follow_redirects=False)
            assert revoked.status_code == 302
            assert (await script.post(f"/t/{tenant.slug}/guarded/whoami", headers=bearer)).status_code == 401


# -- rate limit -------------------------------------------------------------------


async def test_login_is_rate_limited(settings, host, make_tenant, make_user):
    from mendan.app import create_app

    tenant = await make_tenant()
    user = await make_user(tenant, "admin")
    strict = create_app(dataclasses.replace(settings, login_rate_per_minute=3), host=host)
    try:
        # Attempts of earlier tests from the same test address would count against this one.
        await strict.stores.get("rate_limit").delete_all()
        async with AsyncTestClient(strict, base_url="http://testserver.local") as client:
            await client.get(f"/t/{tenant.slug}/login", headers=HTML)
            answers = []
            for _ in range(4):
                response = await client.post(
                    f"/t/{tenant.slug}/login",
                    data={"email": user.email, "password": "wrong-password!",
                          "_csrf_token": client.cookies["csrftoken"]},
                    headers=HTML, follow_redirects=False,
                )
                answers.append(response.status_code)
            assert answers == [400, 400, 400, 429]
            assert "ratelimit-reset" in {k.lower() for k in response.headers}
            assert 0 < int(response.headers["retry-after"]) <= 60
    finally:
        await strict.stores.get("rate_limit").delete_all()
        use_settings(settings)


# -- password reset --------------------------------------------------------------------


async def _mail_to(outbox, address: str, timeout: float = 15.0):
    for _ in range(int(timeout / 0.1)):
        for path in outbox.glob("*.eml") if outbox.exists() else []:
            msg = message_from_bytes(path.read_bytes(), policy=policy.default)
            if msg["To"] == address:
                return msg
        await asyncio.sleep(0.1)
    raise AssertionError(f"no mail to {address} in {outbox}")


async def test_password_reset_by_mailed_link(settings, client, make_tenant, make_user):
    tenant = await make_tenant()
    user = await make_user(tenant, "expert")
    form = await client.get(f"/t/{tenant.slug}/password-reset", headers=HTML)
    sent = await client.post(f"/t/{tenant.slug}/password-reset",
                             data={"email": user.email, "_csrf_token": form_csrf(form.text)}, headers=HTML)
    assert sent.status_code in (200, 201)

    mail = await _mail_to(settings.outbox_dir, user.email)
    body = mail.get_body(("plain",)).get_content()
    link = re.search(re.escape(settings.base_url) + r"(/t/\S+/password-reset/\S+)", body).group(1)
    assert link.startswith(f"/t/{tenant.slug}/password-reset/")

    choose = await client.get(link, headers=HTML)
    assert choose.status_code == 200
    applied = await client.post(link, data={"password": NEW_PASSWORD, "password_again": NEW_PASSWORD,
                                            "_csrf_token": form_csrf(choose.text)},
                                headers=HTML, follow_redirects=False)
    assert applied.status_code == 302
    assert applied.headers["location"] == f"/t/{tenant.slug}/login"
    assert await _audit("auth.password_reset", actor=user.id)

    await login(client, tenant, user, password=NEW_PASSWORD)
    await client.post("/logout", data={"_csrf_token": client.cookies["csrftoken"]}, headers=HTML)
    old = await client.post(f"/t/{tenant.slug}/login", data={"email": user.email, "password": PASSWORD,
                            "_csrf_token": client.cookies["csrftoken"]}, headers=HTML)
    assert old.status_code == 400

    assert (await client.get(link, headers=HTML)).status_code == 404  # used once only
    again = await client.post(link, data={"password": "yet-another-passphrase",
                                          "password_again": "yet-another-passphrase",
                                          "_csrf_token": client.cookies["csrftoken"]}, headers=HTML)
    assert again.status_code == 404


async def test_a_password_reset_signs_the_user_out_everywhere(app, client, make_tenant, make_user):
    from litestar.testing import AsyncTestClient

    from core.auth.tokens import create_password_reset

    tenant = await make_tenant()
    user, bystander = await make_user(tenant, "admin"), await make_user(tenant, "admin")
    async with AsyncTestClient(app, base_url="http://testserver.local") as elsewhere, \
            AsyncTestClient(app, base_url="http://testserver.local") as other_user:
        await login(elsewhere, tenant, user)  # e.g. someone who learnt the old password
        await login(other_user, tenant, bystander)
        assert (await elsewhere.get(f"/t/{tenant.slug}/", headers=HTML)).status_code == 200
        link = f"/t/{tenant.slug}/password-reset/{await create_password_reset(user)}"
        choose = await client.get(link, headers=HTML)
        applied = await client.post(link, data={"password": NEW_PASSWORD, "password_again": NEW_PASSWORD,
                                                "_csrf_token": form_csrf(choose.text)},
                                    headers=HTML, follow_redirects=False)
        assert applied.status_code == 302
        signed_out = await elsewhere.get(f"/t/{tenant.slug}/", headers=HTML, follow_redirects=False)
        assert signed_out.status_code in (302, 303) and "/login" in signed_out.headers["location"]
        assert (await other_user.get(f"/t/{tenant.slug}/", headers=HTML)).status_code == 200


async def test_an_expired_reset_link_is_refused(client, make_tenant, make_user):
    tenant = await make_tenant()
    user = await make_user(tenant, "admin")
    token = await create_password_reset(user)
    await PasswordReset.update({PasswordReset.expires_at: datetime.now(timezone.utc) - timedelta(minutes=1)}).where(
        PasswordReset.user == user.id
    )
    response = await client.get(f"/t/{tenant.slug}/password-reset/{token}", headers=HTML)
    assert response.status_code == 404
    assert "expired" in response.text or "期限" in response.text


async def test_a_reset_link_works_only_where_its_user_signs_in(client, make_tenant, make_user):
    a, b = await make_tenant(), await make_tenant()
    user = await make_user(a, "admin")
    token = await create_password_reset(user)
    assert (await client.get(f"/t/{b.slug}/password-reset/{token}", headers=HTML)).status_code == 404
    assert (await client.get(f"/password-reset/{token}", headers=HTML)).status_code == 404
    assert (await client.get(f"/t/{a.slug}/password-reset/{token}", headers=HTML)).status_code == 200


async def test_a_short_new_password_is_refused(client, make_tenant, make_user):
    tenant = await make_tenant()
    user = await make_user(tenant, "admin")
    token = await create_password_reset(user)
    link = f"/t/{tenant.slug}/password-reset/{token}"
    choose = await client.get(link, headers=HTML)
    refused = await client.post(link, data={"password": "short", "password_again": "short",
                                            "_csrf_token": form_csrf(choose.text)}, headers=HTML)
    assert refused.status_code == 400
    assert (await client.get(link, headers=HTML)).status_code == 200  # still usable


# -- guards per role -----------------------------------------------------------------------


async def test_role_guard_refuses_other_roles(guarded, client, make_tenant, make_user):
    tenant = await make_tenant()
    interviewer = await make_user(tenant, "interviewer")
    admin = await make_user(tenant, "admin")
    await login(client, tenant, interviewer)
    assert (await client.get(f"/t/{tenant.slug}/guarded/admin-only")).status_code == 403
    await client.post("/logout", data={"_csrf_token": client.cookies["csrftoken"]}, headers=HTML)
    await login(client, tenant, admin)
    response = await client.get(f"/t/{tenant.slug}/guarded/admin-only")
    assert response.status_code == 200 and response.json() == {"ok": True}


@pytest.mark.parametrize("target", ["//evil.example/", "/\\evil.example/", "https://evil.example/", "hello"])
async def test_sign_in_never_sends_the_browser_to_another_site(client, make_tenant, make_user, target):
    tenant = await make_tenant()
    user = await make_user(tenant, "admin")
    await client.get(f"/t/{tenant.slug}/login", headers=HTML)
    response = await client.post(
        f"/t/{tenant.slug}/login",
        data={"email": user.email, "password": PASSWORD, "next": target, "_csrf_token": client.cookies["csrftoken"]},
        headers=HTML, follow_redirects=False,
    )
    assert response.headers["location"] == f"/t/{tenant.slug}/"


async def test_sign_in_returns_to_the_page_asked_for(client, make_tenant, make_user):
    tenant = await make_tenant()
    user = await make_user(tenant, "admin")
    await client.get(f"/t/{tenant.slug}/login", headers=HTML)
    response = await client.post(
        f"/t/{tenant.slug}/login",
        data={"email": user.email, "password": PASSWORD, "next": f"/t/{tenant.slug}/jobs",
              "_csrf_token": client.cookies["csrftoken"]},
        headers=HTML, follow_redirects=False,
    )
    assert response.headers["location"] == f"/t/{tenant.slug}/jobs"


def test_unknown_users_cost_a_hash_check_too(monkeypatch):
    from core.auth import passwords

    class CountingHasher:
        def __init__(self, real):
            self.real, self.checked = real, []

        def hash(self, password):
            return self.real.hash(password)

        def verify(self, password_hash, password):
            self.checked.append(password_hash)
            return self.real.verify(password_hash, password)

    hasher = CountingHasher(passwords._hasher)
    monkeypatch.setattr(passwords, "_hasher", hasher)
    assert passwords.verify_password(None, PASSWORD) is False
    assert len(hasher.checked) == 1 and hasher.checked[0].startswith("$argon2")
