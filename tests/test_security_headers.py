"""Security headers on every answer, internal endpoints kept internal in production, and client
addresses that only configured proxies may speak for (issue 21, item 5)."""

from __future__ import annotations

import base64
import secrets
import socket
import threading
from dataclasses import replace

import httpx
import uvicorn
from litestar.testing import AsyncTestClient

from core.config import use_settings
from core.db.tables import AuditEntry
from core.log_config import configure_logging
from mendan.app import create_app
from mendan.cli import uvicorn_options
from tests.conftest import HTML, login


def _csp(response) -> dict[str, str]:
    policy = response.headers["content-security-policy"]
    return {d.split(" ", 1)[0]: d.split(" ", 1)[1] for d in (p.strip() for p in policy.split(";")) if d}


async def test_every_answer_carries_the_security_headers_and_pages_are_not_stored(client):
    page = await client.get("/login", headers=HTML)
    missing = await client.get("/no-such-page", headers=HTML)
    static = await client.get("/static/mendan.css")
    assert (page.status_code, missing.status_code, static.status_code) == (200, 404, 200)
    for response in (page, missing, static):
        csp = _csp(response)
        assert csp["script-src"] == "'self'"  # no inline script, no eval
        assert csp["frame-ancestors"] == "'none'" and csp["object-src"] == "'none'"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"
        assert "strict-transport-security" not in response.headers  # development speaks http
    assert page.headers["cache-control"] == "no-store" and missing.headers["cache-control"] == "no-store"
    assert "no-store" not in static.headers.get("cache-control", "")


async def test_back_after_sign_out_does_not_show_the_people_list_from_the_cache(client, make_tenant, make_user):
    tenant = await make_tenant()
    admin = await make_user(tenant, "admin")
    await login(client, tenant, admin)
    people = await client.get(f"/t/{tenant.slug}/people/", headers=HTML)
    assert people.status_code == 200 and admin.email in people.text
    assert people.headers["cache-control"] == "no-store"


def _production(settings, storage, **overrides):
    return replace(settings, environment="production",
                   master_key=base64.urlsafe_b64encode(storage.master_key).decode(), **overrides)


async def test_in_production_metrics_readiness_and_schema_are_internal(settings, host, storage, make_user):
    production = _production(settings, storage, internal_networks=("10.0.0.0/8",))
    app = create_app(production, host=host)
    try:
        outside = httpx.AsyncClient(transport=httpx.ASGITransport(app, client=("203.0.113.9", 4000)),
                                    base_url="https://mendan.example")
        inside = httpx.AsyncClient(transport=httpx.ASGITransport(app, client=("10.1.2.3", 4000)),
                                   base_url="https://mendan.example")
        async with outside, inside:
            for path in ("/metrics", "/readyz", "/schema/openapi.json"):
                refused = await outside.get(path)
                assert refused.status_code == 404, path
                assert path.strip("/") not in refused.text
            assert (await inside.get("/metrics")).status_code == 200
            assert (await inside.get("/schema/openapi.json")).json()["openapi"].startswith("3.")
            health = await outside.get("/healthz")  # the load balancer's liveness check stays open
            assert health.status_code == 200
            assert health.headers["strict-transport-security"].startswith("max-age=31536000")
        # An operator may read the schema from anywhere once signed in.
        operator = await make_user(None, "operator", email=f"op-{secrets.token_hex(3)}@mendan.example")
        async with AsyncTestClient(app, base_url="https://testserver.local") as browser:
            assert (await browser.get("/schema/openapi.json")).status_code == 404
            await login(browser, None, operator)
            assert (await browser.get("/schema/openapi.json")).status_code == 200
            assert (await browser.get("/metrics")).status_code == 404  # metrics: by address only
    finally:
        configure_logging(settings.is_production)
        use_settings(settings)


def _serve(app, settings):
    """`app` under uvicorn with the options `mendan serve` uses, on a free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    options = uvicorn_options(settings) | {"log_level": "warning"}
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", **options))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


async def _failed_sign_in_address(app, settings, make_tenant) -> str:
    tenant = await make_tenant()
    email = f"nobody-{secrets.token_hex(3)}@example.jp"
    server, thread, url = _serve(app, settings)
    try:
        async with httpx.AsyncClient(base_url=url) as http:
            await http.get(f"/t/{tenant.slug}/login", headers=HTML)
            answer = await http.post(f"/t/{tenant.slug}/login", headers=HTML | {"x-forwarded-for": "198.51.100.7"},
                                     data={"email": email, "password": "wrong", "_csrf_token": http.cookies["csrftoken"]})
            assert answer.status_code == 400
    finally:
        server.should_exit = True
        thread.join(10)
    [entry] = await AuditEntry.objects().where((AuditEntry.action == "auth.login_failed") & (AuditEntry.target == email))
    return entry.ip


async def test_x_forwarded_for_counts_only_from_a_configured_proxy(settings, host, make_tenant):
    try:
        forged = await _failed_sign_in_address(create_app(settings, host=host), settings, make_tenant)
        behind_proxy = replace(settings, trusted_proxies=("127.0.0.1",))
        believed = await _failed_sign_in_address(create_app(behind_proxy, host=host), behind_proxy, make_tenant)
    finally:
        use_settings(settings)
    assert forged == "127.0.0.1"  # the header came straight from a client: ignored
    assert believed == "198.51.100.7"  # the same header through the trusted proxy


async def test_the_browser_enforces_the_policy_and_the_browser_fixture_sees_violations(live_server, browser):
    page = await browser.new_page()
    await page.goto(f"{live_server}/login")
    blocked = await page.evaluate("""() => new Promise(resolve => {
        document.addEventListener("securitypolicyviolation", e => resolve(e.violatedDirective));
        const s = document.createElement("script");
        s.textContent = "window.injected = true";
        document.body.appendChild(s);
    })""")
    assert blocked.startswith("script-src")
    assert await page.evaluate("window.injected === undefined")
    # chromium reports the same violation on the console, which every browser test watches.
    for _ in range(100):
        if browser.csp_violations:
            break
        await page.wait_for_timeout(50)
    assert any("script-src" in v for v in browser.csp_violations)
    browser.csp_violations.clear()
