"""Every tenant URL of the assembled app, pages and REST API, core, domains and installed plugins
alike, answers 404 to a signed-in user of another tenant, whatever their role (admin, interviewer,
expert, interviewee; API tokens for the roles that hold them) and whatever the method; read off
the app's routes, so a route added later is covered without editing this test. The participation
axis within a tenant (own / not-mine interviews) is tests/test_participation_matrix.py."""

from __future__ import annotations

import re
import uuid

import pytest
from litestar.routes import HTTPRoute

from core.auth.tokens import TOKEN_ROLES, create_api_token, highest_scope_for
from core.plugins import PluginHost
from core.tenancy import TenantScope
from tests.conftest import HTML, PASSWORD, form_csrf, login
from tests.interview_fixtures import open_link

# Reachable without signing in to that tenant, by design: they show nothing of it.
PUBLIC = {
    "/t/{tenant:str}/login",
    "/t/{tenant:str}/password-reset",
    "/t/{tenant:str}/password-reset/{token:str}",
    "/t/{tenant:str}/join/{token:str}",
}
METHODS = ("GET", "HEAD", "POST", "PATCH", "PUT", "DELETE")


@pytest.fixture
def host():
    installed = PluginHost()
    installed.load_entry_points()
    return installed


def tenant_routes(app) -> list[tuple[str, str]]:
    found = []
    for route in app.routes:
        if isinstance(route, HTTPRoute) and route.path.startswith(("/t/{tenant:str}", "/api/v1/t/{tenant:str}")) \
                and route.path not in PUBLIC:
            found.extend((method, route.path) for method in sorted(route.methods) if method in METHODS)
    return found


def concrete(path: str, slug: str) -> str:
    path = path.replace("{tenant:str}", slug)
    path = re.sub(r"\{\w+:uuid\}", lambda _m: str(uuid.uuid4()), path)
    return re.sub(r"\{\w+:(str|int|path)\}", "x", path)


async def _signed_in(client, tenant, user) -> tuple[str, str | None]:
    """Signs `user` in (an interviewee by a personal link); (CSRF token, API token or None)."""
    client.cookies.clear()
    if user.role == "interviewee":
        from core.interviews.people import issue_join_link

        link = await issue_join_link(TenantScope(tenant.id), user)
        assert (await open_link(client, f"/t/{tenant.slug}/join/{link}")).status_code in (302, 303)
        csrf = client.cookies.get("csrftoken")
    else:
        await login(client, tenant, user)
        csrf = form_csrf((await client.get(f"/t/{tenant.slug}/", headers=HTML)).text)
    token = await create_api_token(user, "matrix", scope=highest_scope_for(user.role)) \
        if user.role in TOKEN_ROLES else None
    return csrf, token


@pytest.mark.parametrize("role", ("admin", "interviewer", "expert", "interviewee"))
async def test_every_tenant_url_answers_404_to_another_tenants_user(app, client, host, make_tenant, make_user, role):
    a, b = await make_tenant(), await make_tenant()
    for key in host.metas:
        await host.set_enabled(b.id, key, True)  # B has every service: the 404 comes from tenancy alone
    user_a = await make_user(a, role, password=None if role == "interviewee" else PASSWORD)
    csrf, token = await _signed_in(client, a, user_a)
    routes = tenant_routes(app)
    assert len(routes) > 40 and any("/ai_model" in p for _m, p in routes)
    assert any(p.startswith("/api/") for _m, p in routes)
    wrong = []
    for method, path in routes:
        url = concrete(path, b.slug)
        if url.startswith("/api/"):
            if token is None:
                continue  # interviewees hold no API tokens
            headers = {"authorization": f"Bearer {token}"}
        else:
            headers = HTML | {"x-csrftoken": csrf or ""}
        response = await client.request(method, url, headers=headers, follow_redirects=False)
        if response.status_code != 404:
            wrong.append(f"{method} {url}: {response.status_code}")
    assert not wrong, "\n".join(wrong)
    # The same requests reach A's own pages: the 404s above are about the tenant, not the client.
    assert (await client.get(f"/t/{a.slug}/", headers=HTML)).status_code == 200
    if token is not None:
        own = await client.get(f"/api/v1/t/{a.slug}/interviews", headers={"authorization": f"Bearer {token}"})
        assert own.status_code == 200
