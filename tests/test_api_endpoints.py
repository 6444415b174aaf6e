"""REST API v1 endpoints of the platform and the domains (issue 18): people import, jobs, usage,
and every /api/v1 route answering 404 to another tenant's token."""

from __future__ import annotations

import re
import uuid

from litestar.routes import HTTPRoute

from core.auth.tokens import create_api_token
from core.db.tables import Job, User
from core.usage import record_usage
from tests.billing_fixtures import MINUTES, register_billing_plugins

EN = {"Accept-Language": "en"}


def bearer(token: str, **more: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **more}


async def _admin(make_tenant, make_user, scope="write"):
    tenant = await make_tenant()
    admin = await make_user(tenant, "admin")
    return tenant, admin, await create_api_token(admin, "t", scope=scope)


async def test_a_csv_import_registers_everyone_or_no_one(client, make_tenant, make_user):
    tenant, _admin_user, token = await _admin(make_tenant, make_user)
    path = f"/api/v1/t/{tenant.slug}/people/import"
    csv = ("email,display_name,role,language\n"
           "a@example.jp,A,interviewee,ja\n"
           "not-an-address,B,interviewee,ja\n"
           "c@example.jp,C,wizard,en\n").encode()
    headers = bearer(token, **{"Content-Type": "text/csv", **EN})
    refused = await client.post(path, content=csv, headers=headers)
    assert refused.status_code == 422 and refused.json()["code"] == "validation_failed", refused.text
    errors = refused.json()["errors"]
    assert {(e["line"], e["field"], e["source"]) for e in errors} == {(3, "email", "row"), (4, "role", "row")}
    assert await User.count().where(User.tenant == tenant.id) == 1
    good = "email,display_name,role,language\na@example.jp,A,interviewee,ja\nb@example.jp,山田,expert,en\n"
    made = await client.post(path, content=good.encode("shift_jis"), headers=headers)
    assert made.status_code == 201 and made.json() == {"created": 2}
    assert await User.count().where(User.tenant == tenant.id) == 3
    empty = await client.post(path, content=b"", headers=headers)
    assert empty.status_code == 422 and empty.json()["errors"]


async def test_an_address_with_a_control_character_is_refused_one_by_one_and_in_a_csv(
        client, make_tenant, make_user):
    tenant, _admin_user, token = await _admin(make_tenant, make_user)
    base = f"/api/v1/t/{tenant.slug}/people"
    for address in ("n\u0000ul@example.jp", "bell\u0007@example.jp", "del@exa\u007fmple.jp"):
        refused = await client.post(base, json={"email": address, "role": "interviewee"},
                                    headers=bearer(token, **{"Idempotency-Key": str(uuid.uuid4()), **EN}))
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"] == "validation_failed"
        assert refused.json()["errors"][0]["field"] == "email"
    csv = b"email,display_name,role,language\nn\x01ul@example.jp,A,interviewee,ja\n"
    in_csv = await client.post(f"{base}/import", content=csv, headers=bearer(token, **{"Content-Type": "text/csv"}))
    assert in_csv.status_code == 422 and in_csv.json()["code"] == "validation_failed", in_csv.text
    assert await User.count().where(User.tenant == tenant.id) == 1


async def test_jobs_list_by_state_and_one_jobs_progress(client, make_tenant, make_user):
    tenant, _admin_user, token = await _admin(make_tenant, make_user, scope="read")
    running = Job(tenant=tenant.id, actor="ai_model.build", state="running", progress=40, message="lift report ready")
    done = Job(tenant=tenant.id, actor="core.send_mail", state="done", progress=100)
    await running.save()
    await done.save()
    base = f"/api/v1/t/{tenant.slug}/jobs"
    listed = (await client.get(base, params={"state": "running"}, headers=bearer(token))).json()
    assert [j["id"] for j in listed["items"]] == [str(running.id)] and listed["next_cursor"] is None
    one = await client.get(f"{base}/{running.id}", headers=bearer(token, **EN))
    assert one.status_code == 200 and one.headers["etag"]
    assert {k: one.json()[k] for k in ("state", "progress", "message")} == {
        "state": "running", "progress": 40, "message": "lift report ready"}
    japanese = (await client.get(f"{base}/{running.id}", headers=bearer(token, **{"Accept-Language": "ja"}))).json()
    assert japanese["message"] != "lift report ready"
    bad = await client.get(base, params={"state": "sleeping"}, headers=bearer(token))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "state"


async def test_usage_of_the_current_period_for_admins(mendan_database, make_tenant, make_user):
    from litestar.testing import AsyncTestClient

    from core.plugins import PluginHost
    from mendan.app import create_app

    host = PluginHost()
    register_billing_plugins(host)
    app = create_app(mendan_database, host=host)
    tenant, _admin_user, token = await _admin(make_tenant, make_user, scope="read")
    await record_usage(tenant.id, MINUTES, 7, act=f"test-{uuid.uuid4()}")
    expert = await make_user(tenant, "expert")
    expert_token = await create_api_token(expert, "e")
    async with AsyncTestClient(app) as client:
        answer = await client.get(f"/api/v1/t/{tenant.slug}/usage", headers=bearer(token, **EN))
        assert answer.status_code == 200, answer.text
        body = answer.json()
        line = next(line for line in body["lines"] if line["key"] == MINUTES)
        assert line["kind"] == "meter" and line["quantity"] == 7 and line["name"] == "Recording minutes"
        assert body["total_jpy"] == sum(line["amount_jpy"] for line in body["lines"])
        refused = await client.get(f"/api/v1/t/{tenant.slug}/usage", headers=bearer(expert_token))
        assert refused.status_code == 403


def _api_routes(app) -> list[tuple[str, str]]:
    return [(method, route.path) for route in app.routes if isinstance(route, HTTPRoute)
            and route.path.startswith("/api/v1/t/") for method in sorted(set(route.methods) - {"HEAD", "OPTIONS"})]


async def test_every_api_route_answers_404_to_another_tenants_token(app, client, host, make_tenant, make_user):
    a, b = await make_tenant(), await make_tenant()
    for key in host.metas:
        await host.set_enabled(b.id, key, True)  # B has every service: the 404 comes from tenancy alone
    admin_a = await make_user(a, "admin")
    token = await create_api_token(admin_a, "matrix", scope="admin")
    routes = _api_routes(app)
    assert {("GET", "/api/v1/t/{tenant:str}/people"), ("GET", "/api/v1/t/{tenant:str}/jobs"),
            ("GET", "/api/v1/t/{tenant:str}/usage")} <= set(routes)
    wrong = []
    for method, path in routes:
        url = re.sub(r"\{\w+:uuid\}", lambda _m: str(uuid.uuid4()), path.replace("{tenant:str}", b.slug))
        url = re.sub(r"\{\w+:(str|int|path)\}", "x", url)
        answer = await client.request(method, url, headers=bearer(token), json={})
        if answer.status_code != 404 or answer.json().get("code") != "not_found":
            wrong.append(f"{method} {url}: {answer.status_code}")
    assert not wrong, "\n".join(wrong)
    assert (await client.get(f"/api/v1/t/{a.slug}/people", headers=bearer(token))).status_code == 200


async def test_the_schema_documents_every_api_route(app, client):
    schema = (await client.get("/schema/openapi.json")).json()
    for method, path in _api_routes(app):
        documented = re.sub(r"\{(\w+):\w+\}", r"{\1}", path)
        operation = schema["paths"][documented][method.lower()]
        assert operation["tags"] and operation["summary"], (method, path)
        assert "application/problem+json" in operation["responses"]["401"]["content"], (method, path)
        success = next(code for code in operation["responses"] if code.startswith("2"))
        content = operation["responses"][success].get("content", {})
        assert all(c["schema"] != {} for c in content.values()), (method, path)
