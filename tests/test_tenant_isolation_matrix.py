"""Every tenant URL of the assembled app, core, domains and installed plugins alike, answers
404 to a signed-in user of another tenant, whatever the method; read off the app's routes,
so a route added later is covered without editing this test."""

from __future__ import annotations

import re
import uuid

import pytest
from litestar.routes import HTTPRoute

from core.plugins import PluginHost
from tests.conftest import HTML, form_csrf, login

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
        if isinstance(route, HTTPRoute) and route.path.startswith("/t/{tenant:str}") and route.path not in PUBLIC:
            found.extend((method, route.path) for method in sorted(route.methods) if method in METHODS)
    return found


def concrete(path: str, slug: str) -> str:
    path = path.replace("{tenant:str}", slug)
    path = re.sub(r"\{\w+:uuid\}", lambda _m: str(uuid.uuid4()), path)
    return re.sub(r"\{\w+:(str|int|path)\}", "x", path)


async def test_every_tenant_url_answers_404_to_another_tenants_user(app, client, host, make_tenant, make_user):
    a, b = await make_tenant(), await make_tenant()
    for key in host.metas:
        await host.set_enabled(b.id, key, True)  # B has every service: the 404 comes from tenancy alone
    admin_a = await make_user(a, "admin")
    await login(client, a, admin_a)
    token = form_csrf((await client.get(f"/t/{a.slug}/tokens", headers=HTML)).text)
    routes = tenant_routes(app)
    assert len(routes) > 40 and any("/ai_model" in p for _m, p in routes)
    wrong = []
    for method, path in routes:
        url = concrete(path, b.slug)
        response = await client.request(method, url, headers=HTML | {"x-csrftoken": token},
                                        follow_redirects=False)
        if response.status_code != 404:
            wrong.append(f"{method} {url}: {response.status_code}")
    assert not wrong, "\n".join(wrong)
    # The same requests reach A's own pages: the 404s above are about the tenant, not the client.
    assert (await client.get(f"/t/{a.slug}/interviews", headers=HTML)).status_code == 200
    assert (await client.get(f"/t/{a.slug}/ai_model/", headers=HTML)).status_code == 200
