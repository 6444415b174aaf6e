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
    before = "planted-" + tenant.slug  # an id someone put into this browser beforehand
    client.cookies.set("session", before, domain="testserver.local")
    await client.get(f"/t/{tenant.slug}/login", headers=HTML)
    store = app.stores.get("sessions")
    assert await store.exists(before)
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


async def _sign_in_answer(client, tenant, email: str, password: str):
    answer = await client.post(f"/t/{tenant.slug}/login", data={"email": email, "password": password,
                               "_csrf_token": client.cookies["csrftoken"]}, headers=HTML, follow_redirects=False)
    return answer


def _strict_app(settings, host, **limits):
    from mendan.app import create_app

    return create_app(dataclasses.replace(settings, **limits), host=host)


async def test_failed_sign_ins_are_limited_per_account_and_say_how_long_to_wait(settings, host, make_tenant,
                                                                                make_user):
    tenant = await make_tenant()
    user, colleague = await make_user(tenant, "admin"), await make_user(tenant, "interviewer")
    strict = _strict_app(settings, host, signin_account_limit="3/15minutes", signin_address_limit="50/15minutes")
    try:
        async with AsyncTestClient(strict, base_url="http://testserver.local") as client:
            await client.get(f"/t/{tenant.slug}/login", headers=HTML)
            answers = [await _sign_in_answer(client, tenant, user.email, "wrong-password!") for _ in range(4)]
            assert [a.status_code for a in answers] == [400, 400, 400, 429]
            locked = answers[-1]
            assert locked.headers["content-type"].startswith("text/html")
            assert "分ほど待ってから" in locked.text and "Too Many Requests" not in locked.text
            assert 0 < int(locked.headers["retry-after"]) <= 15 * 60
            # Even the right password waits: the account is locked for the window, not the address.
            assert (await _sign_in_answer(client, tenant, user.email, PASSWORD)).status_code == 429
            assert (await _sign_in_answer(client, tenant, colleague.email, PASSWORD)).status_code == 302
    finally:
        use_settings(settings)


async def test_successful_sign_ins_behind_one_office_address_are_never_limited(settings, host, make_tenant,
                                                                               make_user):
    tenant = await make_tenant()
    staff = [await make_user(tenant, "interviewer") for _ in range(12)]
    strict = _strict_app(settings, host, signin_account_limit="3/15minutes", signin_address_limit="10/15minutes")
    try:
        for person in staff:  # twelve colleagues at 9:00, one address
            async with AsyncTestClient(strict, base_url="http://testserver.local") as client:
                await client.get(f"/t/{tenant.slug}/login", headers=HTML)
                assert (await _sign_in_answer(client, tenant, person.email, PASSWORD)).status_code == 302
    finally:
        use_settings(settings)


async def test_failures_from_one_address_are_limited_across_accounts(settings, host, make_tenant):
    tenant = await make_tenant()
    strict = _strict_app(settings, host, signin_account_limit="3/15minutes", signin_address_limit="5/15minutes")
    try:
        async with AsyncTestClient(strict, base_url="http://testserver.local") as client:
            await client.get(f"/t/{tenant.slug}/login", headers=HTML)
            answers = [await _sign_in_answer(client, tenant, f"guess{i}@example.jp", "x") for i in range(6)]
            assert [a.status_code for a in answers] == [400] * 5 + [429]
    finally:
        use_settings(settings)


async def test_reset_requests_answer_alike_for_any_address_and_are_limited(settings, host, make_tenant, make_user):
    from core.db.tables import Job
    from core.tables import json_value

    tenant = await make_tenant()
    user = await make_user(tenant, "admin")
    unknown = f"nobody-{tenant.slug}@example.jp"
    strict = _strict_app(settings, host, reset_account_limit="2/hour", reset_address_limit="10/hour")
    try:
        async with AsyncTestClient(strict, base_url="http://testserver.local") as client:
            form = await client.get(f"/t/{tenant.slug}/password-reset", headers=HTML)
            token = form_csrf(form.text)

            async def ask(email):
                return await client.post(f"/t/{tenant.slug}/password-reset", data={"email": email, "_csrf_token": token},
                                         headers=HTML)

            known_answer, unknown_answer = await ask(user.email), await ask(unknown)
            assert known_answer.status_code == unknown_answer.status_code == 200
            assert known_answer.text.replace(token, "") == unknown_answer.text.replace(token, "")
            # The same work for both: one job each, no tenant's jobs list shows them.
            jobs = await Job.objects().where(Job.actor == "core.send_password_reset")
            asked = [j for j in jobs if json_value(j.args).get("email") in (user.email, unknown)]
            assert len(asked) == 2 and all(j.tenant is None for j in asked)
            assert (await ask(unknown)).status_code == 200
            limited = await ask(unknown)
            assert limited.status_code == 429 and "分ほど待ってから" in limited.text and limited.headers["retry-after"]
    finally:
        use_settings(settings)


async def test_a_visitor_without_a_cookie_leaves_no_session_row(client):
    from core.db.tables import WebSession

    before = await WebSession.count()
    for _ in range(3):
        client.cookies.clear()
        assert (await client.get("/login", headers=HTML)).status_code == 200
    assert "session" not in client.cookies
    assert await WebSession.count() == before



async def test_page_views_renew_the_stored_session_at_most_every_few_minutes(client, make_tenant, make_user):
    from core.auth.session_store import RENEW_AFTER
    from core.db.tables import WebSession

    tenant = await make_tenant()
    user = await make_user(tenant, "admin")
    await login(client, tenant, user)
    key = f"session:{client.cookies['session']}"

    async def stored() -> dict:
        return await WebSession.select(WebSession.value, WebSession.expires_at).where(WebSession.key == key).first()

    first = await stored()
    for _ in range(3):
        assert (await client.get(f"/t/{tenant.slug}/", headers=HTML)).status_code == 200
    assert await stored() == first  # unchanged and renewed a moment ago: no write
    # Renewed once the stored expiry is older than RENEW_AFTER...
    aged = first["expires_at"] - RENEW_AFTER - timedelta(seconds=1)
    await WebSession.update({WebSession.expires_at: aged}).where(WebSession.key == key)
    assert (await client.get(f"/t/{tenant.slug}/", headers=HTML)).status_code == 200
    assert (await stored())["expires_at"] > first["expires_at"] - timedelta(seconds=1)
    # ...and written at once when the session's data changes (signing out empties it).
    page = await client.get(f"/t/{tenant.slug}/", headers=HTML)
    out = await client.post("/logout", data={"_csrf_token": form_csrf(page.text)}, headers=HTML,
                            follow_redirects=False)
    assert out.status_code in (302, 303)
    assert (await stored()) is None or (await stored())["value"] != first["value"]

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
    # Ten spaces are ten characters, and no password: refused, and the link still works.
    spaces = await client.post(link, data={"password": " " * 10, "password_again": " " * 10,
                                           "_csrf_token": form_csrf(choose.text)}, headers=HTML)
    assert spaces.status_code == 400 and "空白だけ" in spaces.text
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
