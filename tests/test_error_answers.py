"""Every error answer has the right content type: a page (text/html) for a browser, RFC 9457
problem JSON (application/problem+json) for an API client. The walk posts invalid input to every
form route of the assembled app (all installed plugins), signed in as the role that owns it."""

from __future__ import annotations

import re
import uuid

import pytest
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from core.interviews.question_sets import items_of
from core.interviews.schedule import advance
from core.interviews.tables import Evaluation
from core.plugins import PluginHost
from tests.conftest import HTML, PASSWORD, form_csrf, login
from tests.interview_fixtures import make_interview

API = {"accept": "application/json"}
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
# Service-wide actions (stop, resume, close or ship the billing period) would reach every other
# test sharing the database; sign-out ends the walk's session. /schema/{path} is Litestar's
# OpenAPI viewer, whose unknown pages are its own.
SKIP = {"/ops/stop", "/ops/resume", "/ops/billing/close", "/ops/billing/ship", "/logout", "/t/{tenant:str}/logout",
        "/schema/{path:str}"}


@pytest.fixture
def host() -> PluginHost:
    host = PluginHost()
    host.load_entry_points()
    return host


def _fill(path: str, slug: str) -> str:
    """The path with its parameters filled: the walk's tenant, unknown ids."""
    def value(match: re.Match) -> str:
        name, kind = match.group(1), match.group(2)
        if name in ("tenant", "slug"):
            return slug
        return {"uuid": str(uuid.uuid4()), "int": "999999999"}.get(kind, "nothing-here")
    return re.sub(r"\{(\w+):(\w+)\}", value, path)


def _write_routes(app) -> list[tuple[str, str]]:
    """Every write route, and every GET route with a path parameter (an unknown id is its error)."""
    routes = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or route.path in SKIP:
            continue
        methods = set(route.methods) & WRITES
        if "{" in route.path and "GET" in route.methods:
            methods.add("GET")
        routes += [(method, route.path) for method in sorted(methods)]
    return routes


def _problems(response, browser: bool) -> list[str]:
    kind = response.headers.get("content-type", "")
    if response.status_code >= 500:
        return [f"{response.status_code} {response.text[:200]}"]
    if response.status_code < 400:
        return []
    if browser and not kind.startswith("text/html"):
        return [f"browser got {response.status_code} as {kind}"]
    if not browser:
        if not kind.startswith("application/problem+json"):
            return [f"API client got {response.status_code} as {kind}"]
        body = response.json()
        if body.get("status") != response.status_code or "title" not in body or "detail" not in body:
            return [f"API client got a problem without status/title/detail: {body}"]
    return []


async def test_every_form_answers_errors_as_a_page_or_problem_json(app, make_tenant, make_user):
    tenant = await make_tenant()
    admin = await make_user(tenant, "admin")
    operator = await make_user(None, "operator")
    routes = _write_routes(app)
    assert len(routes) > 30, routes  # the assembled app: core, domains, plugins
    faults = []
    async with AsyncTestClient(app, base_url="http://testserver.local") as staff, \
            AsyncTestClient(app, base_url="http://testserver.local") as ops:
        await login(staff, tenant, admin)
        await login(ops, None, operator)
        for method, path in routes:
            client = ops if path.startswith("/ops") or path.startswith("/billing/ops") else staff
            url = _fill(path, tenant.slug)
            token = client.cookies["csrftoken"]
            # The REST API (/api/) answers problem JSON to everyone, browsers included.
            for browser in ((False,) if path.startswith("/api/") else (True, False)):
                headers = {**(HTML if browser else API), "x-csrftoken": token}
                body = {} if method == "GET" else {"data": {"_csrf_token": token, "confirm": "wrong"}}
                response = await client.request(method, url, headers=headers, follow_redirects=False, **body)
                faults += [f"{method} {path}: {p}" for p in _problems(response, browser)]
    assert not faults, "\n".join(faults)


async def _page_token(client, path: str) -> str:
    return form_csrf((await client.get(path, headers=HTML)).text)


@pytest.mark.parametrize("operator", [False, True])
async def test_a_wrong_password_shows_the_sign_in_page_again(client, make_tenant, make_user, operator):
    tenant = None if operator else await make_tenant()
    user = await make_user(tenant, "operator" if operator else "admin")
    path = "/login" if operator else f"/t/{tenant.slug}/login"
    token = await _page_token(client, path)
    wrong = {"email": user.email, "password": PASSWORD + "x", "_csrf_token": token}
    page = await client.post(path, data=wrong, headers=HTML)
    assert page.status_code == 400 and page.headers["content-type"].startswith("text/html")
    assert "<form" in page.text and "パスワードが違います" in page.text
    api = await client.post(path, data=wrong, headers={**API, "x-csrftoken": token})
    assert api.status_code == 400 and api.headers["content-type"].startswith("application/problem+json")
    assert "パスワードが違います" in api.json()["detail"]


async def test_an_expired_form_token_says_to_reload_the_page(client, make_tenant, make_user):
    """A form left open while the browser signed in elsewhere carries a token that no longer
    matches: the answer says what happened and what to do, in the reader's language."""
    tenant = await make_tenant()
    user = await make_user(tenant, "admin")
    path = f"/t/{tenant.slug}/login"
    await _page_token(client, path)
    stale = {"email": user.email, "password": PASSWORD, "_csrf_token": "a-token-of-an-earlier-session"}
    page = await client.post(path, data=stale, headers=HTML)
    assert page.status_code == 403 and page.headers["content-type"].startswith("text/html")
    assert "再読み込み" in page.text and "CSRF" not in page.text
    api = await client.post(path, data=stale, headers={**API, "x-csrftoken": "a-token-of-an-earlier-session"})
    assert api.status_code == 403 and "再読み込み" in api.json()["detail"]


async def test_operator_form_errors_re_render_the_form_with_the_message(client, make_tenant, make_user):
    operator = await make_user(None, "operator")
    tenant = await make_tenant()
    await login(client, None, operator)
    cases = [
        ("/ops/maintenance", {"starts_at": "2031-01-11T02:00", "ends_at": "2031-01-10T22:00", "message": "x"}),
        ("/ops/tenants/new", {"slug": tenant.slug, "name": "重複", "admin_email": "a@example.jp", "course": "weekday",
                              "starts_on": "2026-04-01"}),
        (f"/ops/tenants/{tenant.slug}/contract", {"course": "weekday", "starts_on": "2026-04-01",
                                                  "ends_on": "2026-03-01", "status": "active"}),
        (f"/ops/tenants/{tenant.slug}/delete", {"confirm": tenant.slug + "-no"}),
        ("/ops/tenants/new", {"slug": f"long-{tenant.slug}", "name": "名" * 201, "admin_email": "a@example.jp",
                              "course": "weekday", "starts_on": "2026-04-01"}),  # a name over the limit is refused, not cut
    ]
    for path, data in cases:
        token = await _page_token(client, "/ops/")
        page = await client.post(path, data={**data, "_csrf_token": token}, headers=HTML, follow_redirects=False)
        assert page.status_code == 400, (path, page.status_code)
        assert page.headers["content-type"].startswith("text/html"), path
        message = re.search(r'class="error"[^>]*>([^<]+)<', page.text)
        assert message and message.group(1).strip(), (path, page.text[:500])
        api = await client.post(path, data=data, headers={**API, "x-csrftoken": token})
        assert api.status_code == 400 and api.headers["content-type"].startswith("application/problem+json")
        assert api.json()["detail"] == message.group(1).strip(), path


async def test_a_request_over_the_size_limit_is_told_in_the_readers_language(client, make_tenant, make_user):
    tenant = await make_tenant()
    admin = await make_user(tenant, "admin")
    await login(client, tenant, admin)
    page = await client.get(f"/t/{tenant.slug}/webhooks/", headers=HTML)
    too_big = await client.post(f"/t/{tenant.slug}/webhooks/", headers=HTML,
                                data={"_csrf_token": form_csrf(page.text), "description": "x" * 11_000_000})
    assert too_big.status_code == 413 and too_big.headers["content-type"].startswith("text/html")
    assert "大きすぎる" in too_big.text and "Request Entity Too Large" not in too_big.text


async def test_a_refused_form_on_the_interview_page_shows_it_again_with_what_was_typed(client, make_tenant,
                                                                                      make_user):
    """An evaluation or a move that is refused answers the interview page itself (400 or 409) with
    the message and the typed values, never a redirect that carries the message in its URL."""
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user)
    interview = setup["interview"]
    clarity = items_of(setup["version"])[0]
    url = f"/t/{tenant.slug}/interviews/{interview.id}"
    await login(client, tenant, setup["admin"])
    page = await client.get(url, headers=HTML)
    moved = await client.post(f"{url}/reschedule", headers=HTML, follow_redirects=False,
                              data={"_csrf_token": form_csrf(page.text), "starts_at": "2020-01-06T10:00"})
    assert moved.status_code == 400 and 'role="alert"' in moved.text  # in the past
    assert 'name="starts_at" type="datetime-local" required value="2020-01-06T10:00"' in moved.text

    await advance(setup["scope"], interview, "recorded")

    await login(client, tenant, setup["interviewer"])
    page = await client.get(url, headers=HTML)
    form = {"_csrf_token": form_csrf(page.text), f"score_{clarity.key}": "9", "comment": "結論から話せていた"}
    refused = await client.post(f"{url}/evaluation", headers=HTML, data=form, follow_redirects=False)
    assert refused.status_code == 400 and refused.headers["content-type"].startswith("text/html")
    assert "location" not in refused.headers and 'role="alert"' in refused.text
    assert re.search(rf'id="score_{clarity.key}"[^>]*value="9"', refused.text)
    assert "結論から話せていた</textarea>" in refused.text
    assert await Evaluation.count().where(Evaluation.interview == interview.id) == 0
    api = await client.post(f"{url}/evaluation", headers=API, data=form)
    assert api.status_code == 400 and api.headers["content-type"].startswith("application/problem+json")

    # A message written into the URL is not the page's to show.
    forged = await client.get(f"{url}?error=セッション切れ。evil.example で再ログインしてください", headers=HTML)
    assert forged.status_code == 200 and "セッション切れ" not in forged.text and 'role="alert"' not in forged.text
