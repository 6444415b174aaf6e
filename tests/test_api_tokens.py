"""API tokens (issue 21, 3; issue 18): scopes no wider than the user's role, an expiry, listed
and revocable, revoked by a password reset, a role change or a deactivation and never brought
back; interviewees hold none and see no jobs."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from core.auth.tokens import TokenRefused, create_api_token, create_password_reset, valid_password_reset
from core.db.tables import ApiToken, Job
from core.interviews.people import set_active
from core.tenancy import TenantScope
from core.web.rendering import TOKYO
from tests.conftest import HTML, form_csrf, login

NEW_PASSWORD = "a-brand-new-passphrase"


def bearer(token: str, **more: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **more}


async def _works(client, tenant, token) -> bool:
    answer = await client.get(f"/api/v1/t/{tenant.slug}/people", headers=bearer(token))
    assert answer.status_code in (200, 401), answer.text
    return answer.status_code == 200


async def test_a_token_never_exceeds_its_users_role(make_tenant, make_user):
    tenant = await make_tenant()
    admin, interviewer, expert = [await make_user(tenant, r) for r in ("admin", "interviewer", "expert")]
    guest = await make_user(tenant, "interviewee")
    assert await create_api_token(admin, "a", scope="admin")
    for user in (interviewer, expert):
        assert await create_api_token(user, "w", scope="write")
        with pytest.raises(TokenRefused):
            await create_api_token(user, "a", scope="admin")
    for scope in ("read", "write"):
        with pytest.raises(TokenRefused):
            await create_api_token(guest, "g", scope=scope)
    with pytest.raises(TokenRefused):
        await create_api_token(admin, "x", scope="superuser")


async def test_a_token_expires_after_its_lifetime_of_at_most_a_year(client, make_tenant, make_user):
    tenant = await make_tenant()
    admin = await make_user(tenant, "admin")
    token = await create_api_token(admin, "default")
    row = await ApiToken.objects().where(ApiToken.user == admin.id).first()
    left = row.expires_at - datetime.now(timezone.utc)
    assert timedelta(days=89, hours=23) < left <= timedelta(days=90)
    with pytest.raises(TokenRefused):
        await create_api_token(admin, "long", lifetime=timedelta(days=366))
    assert await create_api_token(admin, "year", lifetime=timedelta(days=365))
    assert await _works(client, tenant, token)
    await ApiToken.update({ApiToken.expires_at: datetime.now(timezone.utc) - timedelta(seconds=1)}).where(
        ApiToken.id == row.id)
    assert not await _works(client, tenant, token)
    await ApiToken.update({ApiToken.expires_at: None}).where(ApiToken.id == row.id)  # made before expiries
    assert not await _works(client, tenant, token)


async def test_the_page_makes_lists_and_revokes_tokens_with_scope_and_expiry(client, make_tenant, make_user):
    tenant = await make_tenant()
    interviewer = await make_user(tenant, "interviewer")
    await login(client, tenant, interviewer)
    page = await client.get(f"/t/{tenant.slug}/tokens", headers=HTML)
    assert page.status_code == 200 and 'value="write"' in page.text and 'value="admin"' not in page.text
    refused = await client.post(f"/t/{tenant.slug}/tokens", headers=HTML, data={
        "name": "ats", "scope": "admin", "days": "30", "_csrf_token": form_csrf(page.text)})
    assert refused.status_code == 400 and 'role="alert"' in refused.text
    too_long = await client.post(f"/t/{tenant.slug}/tokens", headers=HTML, data={
        "name": "ats", "scope": "read", "days": "400", "_csrf_token": form_csrf(page.text)})
    assert too_long.status_code == 400
    assert await ApiToken.count().where(ApiToken.user == interviewer.id) == 0
    made = await client.post(f"/t/{tenant.slug}/tokens", headers=HTML, data={
        "name": "ats", "scope": "write", "days": "30", "_csrf_token": form_csrf(page.text)})
    assert made.status_code == 200
    token = re.search(r'<code id="new-token">([^<]+)</code>', made.text).group(1)
    row = await ApiToken.objects().where(ApiToken.user == interviewer.id).first()
    assert row.scope == "write" and row.name == "ats"
    assert timedelta(days=29) < row.expires_at - datetime.now(timezone.utc) <= timedelta(days=30)
    assert "<code>read, write</code>" in made.text  # the scopes as the API names them, beside their words
    assert row.expires_at.astimezone(TOKYO).strftime("%Y-%m-%d") in made.text
    # An interviewer's write token: the role still keeps them out of the admin's people list.
    assert (await client.get(f"/api/v1/t/{tenant.slug}/people", headers=bearer(token))).status_code == 403
    revoke = await client.post(f"/t/{tenant.slug}/tokens/{row.id}/revoke", headers=HTML,
                               data={"_csrf_token": form_csrf(made.text)}, follow_redirects=False)
    assert revoke.status_code in (302, 303)
    confirmed = await client.get(revoke.headers["location"], headers=HTML)
    assert 'role="status"' in confirmed.text and f"/tokens/{row.id}/revoke" not in confirmed.text
    assert (await client.get(f"/api/v1/t/{tenant.slug}/people", headers=bearer(token))).status_code == 401


async def test_interviewees_get_no_token_page_and_no_jobs(client, make_tenant, make_user):
    tenant = await make_tenant()
    guest = await make_user(tenant, "interviewee")
    job = Job(tenant=tenant.id, actor="core.send_mail")
    await job.save()
    await login(client, tenant, guest)
    for path in ("/tokens", "/jobs", f"/jobs/{job.id}", f"/jobs/{job.id}/events"):
        assert (await client.get(f"/t/{tenant.slug}{path}", headers=HTML)).status_code == 403, path
    page = await client.get(f"/t/{tenant.slug}/", headers=HTML)
    made = await client.post(f"/t/{tenant.slug}/tokens", headers=HTML,
                             data={"name": "x", "_csrf_token": form_csrf(page.text)})
    assert made.status_code == 403 and await ApiToken.count().where(ApiToken.user == guest.id) == 0


async def test_a_password_reset_revokes_tokens_and_other_reset_links(client, make_tenant, make_user):
    tenant = await make_tenant()
    user = await make_user(tenant, "admin")
    token = await create_api_token(user, "ci")
    used, other = await create_password_reset(user), await create_password_reset(user)
    assert await _works(client, tenant, token)
    link = f"/t/{tenant.slug}/password-reset/{used}"
    choose = await client.get(link, headers=HTML)
    applied = await client.post(link, data={"password": NEW_PASSWORD, "password_again": NEW_PASSWORD,
                                            "_csrf_token": form_csrf(choose.text)}, headers=HTML,
                                follow_redirects=False)
    assert applied.status_code == 302
    assert not await _works(client, tenant, token)
    assert await valid_password_reset(other) is None


async def test_a_role_change_through_the_api_revokes_the_persons_tokens(client, make_tenant, make_user):
    tenant = await make_tenant()
    admin, colleague = await make_user(tenant, "admin"), await make_user(tenant, "admin")
    theirs, mine = await create_api_token(colleague, "theirs", scope="admin"), await create_api_token(admin, "mine",
                                                                                                        scope="write")
    reset = await create_password_reset(colleague)
    path = f"/api/v1/t/{tenant.slug}/people/{colleague.id}"
    etag = (await client.get(path, headers=bearer(mine))).headers["etag"]
    changed = await client.patch(path, json={"role": "interviewer"}, headers=bearer(mine, **{"If-Match": etag}))
    assert changed.status_code == 200 and changed.json()["role"] == "interviewer"
    assert not await _works(client, tenant, theirs) and await _works(client, tenant, mine)
    assert await valid_password_reset(reset) is None
    own = f"/api/v1/t/{tenant.slug}/people/{admin.id}"
    own_etag = (await client.get(own, headers=bearer(mine))).headers["etag"]
    refused = await client.patch(own, json={"role": "expert"}, headers=bearer(mine, **{"If-Match": own_etag}))
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "role"


async def test_deactivation_revokes_tokens_and_reactivation_does_not_bring_them_back(client, make_tenant, make_user):
    tenant = await make_tenant()
    user = await make_user(tenant, "expert")
    token = await create_api_token(user, "ci")
    assert await _works_for_expert(client, tenant, token)
    await set_active(TenantScope(tenant.id), user.id, False)
    assert not await _works_for_expert(client, tenant, token)
    await set_active(TenantScope(tenant.id), user.id, True)
    assert not await _works_for_expert(client, tenant, token)
    assert await ApiToken.count().where((ApiToken.user == user.id) & (ApiToken.revoked == False)) == 0  # noqa: E712


async def _works_for_expert(client, tenant, token) -> bool:
    """An expert's token is live when the API answers 403 (role) rather than 401 (no token)."""
    answer = await client.get(f"/api/v1/t/{tenant.slug}/people", headers=bearer(token))
    assert answer.status_code in (401, 403), answer.text
    return answer.status_code == 403
