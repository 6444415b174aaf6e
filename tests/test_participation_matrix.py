"""Object-level access by participation (issue 21, item 1): every URL of the assembled app that
names an interview — pages and REST API, core and every installed plugin, read off the app's
routes so a route added later is covered — answers an interviewer or expert who takes no part
in that interview exactly as for an interview that does not exist (404; 403 where the role may
not use the route at all; 400 or 422 where the empty body is refused before any lookup), whatever
the method."""

from __future__ import annotations

import re
import uuid

import pytest
from litestar.routes import HTTPRoute

from core.auth.tokens import create_api_token
from core.plugins import PluginHost
from tests.conftest import HTML, form_csrf, login
from tests.interview_fixtures import make_interview

METHODS = ("GET", "HEAD", "POST", "PATCH", "PUT", "DELETE")
INTERVIEW_PARAM = re.compile(r"\{interview_id:uuid\}")


@pytest.fixture
def host():
    installed = PluginHost()
    installed.load_entry_points()
    return installed


def interview_routes(app) -> list[tuple[str, str]]:
    """(method, path) of every route whose only ids are the tenant and one interview."""
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or not INTERVIEW_PARAM.search(route.path):
            continue
        others = set(re.findall(r"\{(\w+):\w+\}", route.path)) - {"tenant", "interview_id"}
        if not others:
            found.extend((m, route.path) for m in sorted(route.methods) if m in METHODS)
    return found


async def test_an_interview_answers_404_to_staff_who_take_no_part_in_it(app, client, host, make_tenant, make_user):
    tenant = await make_tenant()
    for key in host.metas:
        await host.set_enabled(tenant.id, key, True)
    setup = await make_interview(tenant, make_user, experts=1)
    interview = setup["interview"]
    routes = interview_routes(app)
    assert any(p.startswith("/api/v1/") for _m, p in routes) and any("/ai_model/" in p or "/speech/" in p
                                                                    for _m, p in routes)
    wrong = []
    for role in ("interviewer", "expert", "interviewee"):
        outsider = await make_user(tenant, role)
        await login(client, tenant, outsider)
        csrf = form_csrf((await client.get(f"/t/{tenant.slug}/", headers=HTML)).text)
        # Interviewees hold no API tokens: for them the pages are the whole of it.
        token = await create_api_token(outsider, "matrix", scope="write") if role != "interviewee" else None
        for method, path in routes:
            if token is None and path.startswith("/api/"):
                continue
            answers = []
            for interview_id in (interview.id, uuid.uuid4()):  # the real one, and one that does not exist
                url = path.replace("{tenant:str}", tenant.slug).replace("{interview_id:uuid}", str(interview_id))
                api = url.startswith("/api/")
                headers = {"authorization": f"Bearer {token}"} if api else HTML | {"x-csrftoken": csrf}
                answer = await client.request(method, url, headers=headers, json={} if api else None,
                                              follow_redirects=False)
                answers.append(answer.status_code)
            if answers[0] != answers[1] or answers[0] not in (400, 403, 404, 422):
                wrong.append(f"{role} {method} {path}: {answers[0]} (an interview that does not exist: {answers[1]})")
    assert not wrong, "\n".join(wrong)
    # The same requests reach the interview for its own interviewer: the 404s are about taking part.
    await login(client, tenant, setup["interviewer"])
    assert (await client.get(f"/t/{tenant.slug}/interviews/{interview.id}", headers=HTML)).status_code == 200
