"""Issue 21 item 6: every text input has a length bound and refuses NUL and control characters
with a message (a 400 page, or a 422 problem under /api/), never a 500 on SQLite or PostgreSQL;
every number a client sends, page numbers included, is bounded; outputs (iCalendar, CSV, mail
headers) neutralise what a title or a name could carry."""

from __future__ import annotations

import re
import uuid
from typing import Any

import icalendar
import msgspec
import pytest
from mendan.pytest_plugin import HTML, PASSWORD

from core.mail import build_message

CONTROL_MESSAGE = "contains a control character"
# Path segments are looked up (a slug, an id), never stored; the server bounds the URL's length.
EXEMPT_IN = {"path"}


@pytest.fixture
def host(host):
    host.load_entry_points()
    return host


def _bounded_string(node: dict[str, Any]) -> bool:
    return "maxLength" in node or "enum" in node or "const" in node or node.get("format") in ("uuid", "date-time")


def _unbounded(node: Any, parent: dict[str, Any], where: str, components: dict[str, Any], seen: set[str]) -> list[str]:
    """JSON-schema places under `node` with a string lacking maxLength or a number lacking minimum
    and maximum; a `oneOf` member may take them from its parent (Litestar puts them there)."""
    found: list[str] = []
    if isinstance(node, list):
        for item in node:
            found += _unbounded(item, parent, where, components, seen)
        return found
    if not isinstance(node, dict):
        return found
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        if name not in seen:
            seen.add(name)
            found += _unbounded(components[name], {}, name, components, seen)
        return found
    kind = node.get("type")
    merged = {**parent, **node}
    if kind == "string" and not _bounded_string(merged):
        found.append(where)
    if kind in ("integer", "number") and not ("maximum" in merged and "minimum" in merged):
        found.append(where)
    for key, value in node.items():
        if key == "oneOf":
            found += _unbounded(value, {k: v for k, v in node.items() if k != "oneOf"}, where, components, seen)
        elif key == "properties":
            for name, member in value.items():
                found += _unbounded(member, {}, f"{where}.{name}", components, seen)
        elif key in ("items", "additionalProperties"):
            found += _unbounded(value, {}, f"{where}.{key}", components, seen)
    return found


def test_every_parameter_of_the_openapi_schema_has_bounds(app):
    """Query and header parameters of every operation (web pages' and the API's): strings have a
    maxLength, numbers a minimum and a maximum."""
    schema = app.openapi_schema.to_schema()
    components = schema.get("components", {}).get("schemas", {})
    unbounded = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                if parameter["in"] in EXEMPT_IN:
                    continue
                where = f"{method.upper()} {path} {parameter['in']}:{parameter['name']}"
                unbounded += _unbounded(parameter.get("schema", {}), {}, where, components, set())
    assert unbounded == [], "\n".join(unbounded)


def _body_types(app) -> dict[str, Any]:
    """The msgspec model of every handler's JSON body, by `METHOD path`."""
    bodies = {}
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            data = handler.parsed_fn_signature.parameters.get("data")
            if data is None:
                continue
            body = data.annotation
            if isinstance(body, type) and issubclass(body, msgspec.Struct):
                bodies[f"{sorted(handler.http_methods)} {route.path}"] = body
    return bodies


def test_every_api_request_body_bounds_its_strings_and_numbers(app):
    """Read from the models themselves (Litestar's schema drops the constraints of list items and
    map values): every string of a JSON body has a maxLength and a pattern (the text rule's, or a
    stricter one), every number a minimum and a maximum."""
    bodies = _body_types(app)
    assert len(bodies) >= 8, bodies  # the walk reaches the API's models
    problems = []
    for name, body in bodies.items():
        (schema,), components = msgspec.json.schema_components([body], ref_template="{name}")
        found = _unbounded(schema, {}, name, components, set())
        for component_name, component in components.items():
            for member, member_schema in component.get("properties", {}).items():
                for leaf in _strings(member_schema):
                    if "pattern" not in leaf and "enum" not in leaf and leaf.get("format") not in ("uuid", "date-time"):
                        found.append(f"{name} {component_name}.{member} has no pattern")
        problems += found
    assert sorted(set(problems)) == []


def _strings(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, list):
        return [leaf for item in node for leaf in _strings(item)]
    if not isinstance(node, dict) or "$ref" in node:
        return []
    own = [node] if node.get("type") == "string" else []
    return own + [leaf for key in ("anyOf", "items", "additionalProperties") for leaf in _strings(node.get(key))]


def _url(path: str, slug: str) -> str:
    def value(match: re.Match) -> str:
        name, kind = match.group(1), match.group(2) or "str"
        if name in ("tenant", "slug"):
            return slug
        return {"uuid": str(uuid.uuid4()), "int": "1"}.get(kind, "x")
    return re.sub(r"\{(\w+)(?::(\w+))?\}", value, path)


def _form_routes(app, prefix: str) -> list[tuple[str, str]]:
    return sorted({(method, route.path) for route in app.routes for handler in getattr(route, "route_handlers", [])
                   for method in handler.http_methods if method in ("POST", "PUT", "PATCH")
                   and route.path.startswith(prefix)})


@pytest.mark.parametrize("bad", ["a\x00b", "a\x1bb"])
async def test_every_form_of_the_app_refuses_a_control_character_with_a_page(app, host, client, make_tenant,
                                                                             make_user, login, bad):
    """Signed in as a tenant admin (every plugin on) and as the operator, a NUL or ESC in a field of
    any form of the assembled app is a 400 page that says so: nothing reaches a handler or the
    database. A form the role may not use answers its guard's 403 or 404 instead; never a 5xx."""
    tenant = await make_tenant()
    for key in host.metas:
        await host.set_enabled(tenant.id, key, True)
    answers: dict[str, int] = {}
    for who, prefix in ((await make_user(tenant, "admin"), "/t/"), (await make_user(None, "operator"), "/ops")):
        client.cookies.clear()
        await login(client, tenant if prefix == "/t/" else None, who)
        token = client.cookies["csrftoken"]
        for method, path in _form_routes(app, prefix):
            response = await client.request(method, _url(path, tenant.slug), headers=HTML,
                                            data={"_csrf_token": token, "name": bad, "title": bad})
            answers[f"{method} {path}"] = response.status_code
            if response.status_code == 400:
                assert CONTROL_MESSAGE in response.text or "制御文字" in response.text, (path, response.text[-500:])
    assert not {k: v for k, v in answers.items() if v >= 500}
    refused = [k for k, v in answers.items() if v == 400]
    assert not {k: v for k, v in answers.items() if v not in (400, 403, 404)}, answers
    assert len(refused) >= 0.8 * len(answers), answers


async def test_a_line_break_in_a_query_value_is_refused_and_a_page_number_is_bounded(client, make_tenant,
                                                                                     make_user, login):
    tenant = await make_tenant()
    await login(client, tenant, await make_user(tenant, "admin"))
    nul = await client.get(f"/t/{tenant.slug}/people", params={"q": "a\r\nb"}, headers=HTML)
    assert nul.status_code == 400 and "text/html" in nul.headers["content-type"]
    assert CONTROL_MESSAGE in nul.text or "制御文字" in nul.text
    for page in ("0", str(10**20), "-5"):
        response = await client.get(f"/t/{tenant.slug}/people", params={"page_number": page}, headers=HTML)
        assert response.status_code == 400, (page, response.status_code)
    assert (await client.get(f"/t/{tenant.slug}/people", params={"page_number": "2"}, headers=HTML)).status_code == 200


@pytest.fixture
async def api(client, make_tenant, make_user):
    from core.auth.tokens import create_api_token

    tenant = await make_tenant()
    admin = await make_user(tenant, "admin", password=None)
    interviewee = await make_user(tenant, "interviewee", password=None)
    token = await create_api_token(admin, "bounds", scope="admin")
    client.headers.update({"Authorization": f"Bearer {token}", "Accept-Language": "en"})
    return {"base": f"/api/v1/t/{tenant.slug}", "interviewee": str(interviewee.id)}


@pytest.mark.parametrize("title", ["a\x00b", "one\rX-INJECT:1", "x" * 201])
async def test_the_api_refuses_a_control_character_or_an_overlong_title_with_a_problem(client, api, title):
    response = await client.post(f"{api['base']}/interviews", json={
        "kind": "live", "starts_at": "2030-01-01T10:00:00+09:00", "interviewee": api["interviewee"],
        "title": title})
    assert response.status_code == 422, response.text
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in problem["errors"]] == ["title"], problem
    assert ("200 characters" if len(title) > 200 else "control character") in problem["errors"][0]["detail"]


async def test_the_api_refuses_evaluation_item_keys_outside_the_pattern_and_unbounded_numbers(client, api):
    bad_key = await client.post(f"{api['base']}/interviews/{uuid.uuid4()}/evaluations",
                                json={"scores": {"=HYPERLINK(\"http://x\")": 3}})
    assert bad_key.status_code == 422, bad_key.text
    assert "lowercase letters" in bad_key.text
    for limit in ("0", "101", str(10**20)):
        listed = await client.get(f"{api['base']}/people", params={"limit": limit})
        assert listed.status_code == 422, (limit, listed.text)
    huge = await client.post(f"{api['base']}/interviews", json={
        "kind": "live", "starts_at": "2030-01-01T10:00:00+09:00", "interviewee": api["interviewee"],
        "duration_minutes": 10**12})
    assert huge.status_code == 422, huge.text


def test_a_bare_cr_in_a_title_stays_inside_one_icalendar_property():
    from datetime import datetime, timezone

    from core.interviews.ical import interview_event

    data = interview_event(uid="u@mendan", sequence=0, starts_at=datetime(2030, 1, 1, tzinfo=timezone.utc),
                           minutes=30, summary="Interview\rX-INJECTED:1", description="line\rnext;a,b\x0b",
                           url="https://x.example/j", organizer="a@example.jp", attendee="b@example.jp")
    event = icalendar.Calendar.from_ical(data).walk("VEVENT")[0]
    assert "X-INJECTED" not in event
    assert str(event["SUMMARY"]) == "Interview X-INJECTED:1"
    assert str(event["DESCRIPTION"]) == "line\nnext;a,b"
    assert b"\r\nX-INJECTED" not in data


def test_a_line_break_in_a_title_never_splits_a_mail_subject():
    msg = build_message(sender="a@example.jp", to="b@example.jp", subject="Interview\r\nBcc: evil@example.com",
                        text="hello")
    assert msg["Subject"] == "Interview  Bcc: evil@example.com"
    assert msg["Bcc"] is None and b"\nBcc:" not in msg.as_bytes()


def test_the_fairness_report_csv_neutralises_formulas_in_group_and_expert_names():
    import csv
    import io

    from core.fairness_report import report_csv

    text = report_csv({"representation": [{"attribute": "team", "group": "=HYPERLINK(\"http://x\")", "n": 3,
                                            "share": 0.5}]})
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0]["group"] == "'=HYPERLINK(\"http://x\")" and rows[0]["n"] == "3"


async def test_a_line_break_in_a_form_target_never_splits_the_location_header(client, make_tenant, make_user):
    tenant = await make_tenant()
    user = await make_user(tenant, "admin")
    path = f"/t/{tenant.slug}/login"
    await client.get(path, headers=HTML)
    response = await client.post(path, headers=HTML, follow_redirects=False, data={
        "email": user.email, "password": PASSWORD, "_csrf_token": client.cookies["csrftoken"],
        "next": f"/t/{tenant.slug}/people\r\nSet-Cookie: planted=1"})
    assert response.status_code in (302, 303), response.status_code
    location = response.headers.get("location", "")
    assert "\r" not in location and "\n" not in location and "planted" not in client.cookies


async def test_a_bare_cr_in_an_interview_title_typed_in_the_form_is_refused_and_nothing_is_kept(
        client, make_tenant, make_user, login):
    from core.interviews.question_sets import EvaluationItem, Question, create_question_set
    from core.interviews.tables import Interview
    from core.tenancy import TenantScope

    tenant = await make_tenant()
    admin = await make_user(tenant, "admin")
    interviewer = await make_user(tenant, "interviewer")
    interviewee = await make_user(tenant, "interviewee")
    scope = TenantScope(tenant.id)
    version = await create_question_set(scope, name="Basics", author=admin, items=[EvaluationItem(key="", name="Clarity")],
                                        questions=[Question(text="自己紹介をお願いします。")])
    await login(client, tenant, admin)
    response = await client.post(f"/t/{tenant.slug}/interviews/", headers=HTML, data={
        "_csrf_token": client.cookies["csrftoken"], "kind": "live", "starts_at": "2030-01-07T10:00",
        "interviewee": str(interviewee.id), "interviewer": str(interviewer.id), "version": str(version.id),
        "title": "一次面接\rATTENDEE:mailto:evil@example.com", "duration_minutes": "60"})
    assert response.status_code == 400 and "text/html" in response.headers["content-type"]
    assert "制御文字" in response.text
    assert await scope.count(Interview) == 0
