"""The REST API v1's conventions (issue 18; docs/api.md "Conventions"): token-only sign-in,
scopes, tenants, problem details, pagination, filters, ETags, rate limits and the schema."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest
from litestar import get
from litestar.enums import ParamType
from litestar.exceptions import ValidationException
from litestar.testing import AsyncTestClient

from core.auth.tokens import create_api_token
from core.db.tables import User
from core.hookspecs import hookimpl
from core.plugins import PluginMeta
from core.rest.auth import requires_scope
from core.rest.problems import api_error_answer
from tests.conftest import login

JA = {"Accept-Language": "ja"}
EN = {"Accept-Language": "en"}


def bearer(token: str, **more: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **more}


async def _admin_token(make_tenant, make_user, scope: str = "read"):
    tenant = await make_tenant()
    admin = await make_user(tenant, "admin")
    return tenant, admin, await create_api_token(admin, "test", scope=scope)


async def test_people_list_needs_a_token_and_answers_401_problem_without_one(client, make_tenant, make_user):
    tenant, _admin, _token = await _admin_token(make_tenant, make_user)
    answer = await client.get(f"/api/v1/t/{tenant.slug}/people", headers=EN)
    assert answer.status_code == 401
    assert answer.headers["content-type"].startswith("application/problem+json")
    body = answer.json()
    assert body["code"] == "authentication_required" and body["status"] == 401
    assert answer.headers["www-authenticate"].startswith("Bearer")


async def test_a_session_cookie_does_not_open_the_api(client, make_tenant, make_user):
    tenant = await make_tenant()
    admin = await make_user(tenant, "admin")
    await login(client, tenant, admin)
    assert (await client.get(f"/t/{tenant.slug}/people/", headers={"Accept": "text/html"})).status_code == 200
    answer = await client.get(f"/api/v1/t/{tenant.slug}/people")
    assert answer.status_code == 401 and answer.json()["code"] == "authentication_required"


async def test_problem_detail_follows_accept_language_japanese_by_default(client, make_tenant, make_user):
    tenant, _admin, token = await _admin_token(make_tenant, make_user)
    path = f"/api/v1/t/{tenant.slug}/people/00000000-0000-0000-0000-000000000000"
    japanese = (await client.get(path, headers=bearer(token, **JA))).json()
    english = (await client.get(path, headers=bearer(token, **EN))).json()
    default = (await client.get(path, headers=bearer(token))).json()
    assert japanese["code"] == english["code"] == "not_found"
    assert english["detail"] == "Not found."
    assert japanese["detail"] != english["detail"] and japanese["detail"] == default["detail"]


async def test_problem_detail_follows_the_accept_language_weights(client, make_tenant, make_user):
    tenant, _admin, token = await _admin_token(make_tenant, make_user)
    path = f"/api/v1/t/{tenant.slug}/people/00000000-0000-0000-0000-000000000000"
    english = (await client.get(path, headers=bearer(token, **EN))).json()["detail"]
    japanese = (await client.get(path, headers=bearer(token, **JA))).json()["detail"]
    for header, expected in (("ja;q=0.1, en;q=0.9", english), ("en;q=0, ja", japanese), ("en;q=0", japanese),
                             ("fr, en-US;q=0.8, ja;q=0.5", english), ("en;q=oops, ja;q=0.2", japanese),
                             ("*", japanese)):
        answer = await client.get(path, headers=bearer(token, **{"Accept-Language": header}))
        assert answer.status_code == 404 and answer.json()["detail"] == expected, header


async def test_a_foreign_tenants_people_answer_404(client, make_tenant, make_user):
    tenant, _admin, token = await _admin_token(make_tenant, make_user)
    other = await make_tenant()
    stranger = await make_user(other, "interviewee")
    for path in (f"/api/v1/t/{other.slug}/people", f"/api/v1/t/{other.slug}/people/{stranger.id}",
                 f"/api/v1/t/{tenant.slug}/people/{stranger.id}"):
        answer = await client.get(path, headers=bearer(token))
        assert answer.status_code == 404, path
        assert answer.json()["code"] == "not_found"


async def test_unknown_path_and_wrong_method_are_problems(client, make_tenant, make_user):
    tenant, _admin, token = await _admin_token(make_tenant, make_user)
    missing = await client.get(f"/api/v1/t/{tenant.slug}/no-such-thing", headers=bearer(token))
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    wrong = await client.delete(f"/api/v1/t/{tenant.slug}/people", headers=bearer(token))
    assert wrong.status_code == 405 and wrong.json()["code"] == "method_not_allowed"
    assert wrong.headers["content-type"].startswith("application/problem+json")


async def test_role_rules_apply_on_top_of_the_scope(client, make_tenant, make_user):
    tenant = await make_tenant()
    interviewer = await make_user(tenant, "interviewer")
    token = await create_api_token(interviewer, "mine", scope="write")
    answer = await client.get(f"/api/v1/t/{tenant.slug}/people", headers=bearer(token, **EN))
    assert answer.status_code == 403 and answer.json()["code"] == "forbidden"


async def test_people_pages_walk_every_person_once_in_creation_order(client, make_tenant, make_user):
    tenant, admin, token = await _admin_token(make_tenant, make_user)
    made = [admin] + [await make_user(tenant, "interviewee") for _ in range(4)]
    seen, cursor = [], None
    for _ in range(10):
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(f"/api/v1/t/{tenant.slug}/people", params=query, headers=bearer(token))).json()
        assert len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    expected = sorted(made, key=lambda u: (u.created_at, str(u.id)))
    assert seen == [str(u.id) for u in expected]


async def test_limit_out_of_range_and_bad_cursor_are_422_never_500(client, make_tenant, make_user):
    tenant, _admin, token = await _admin_token(make_tenant, make_user)
    path = f"/api/v1/t/{tenant.slug}/people"
    for query in ({"limit": 0}, {"limit": 101}, {"limit": "x"}, {"limit": 10**30}, {"cursor": "not-a-cursor"},
                  {"created_after": "yesterday"}, {"role": "operator"}):
        answer = await client.get(path, params=query, headers=bearer(token, **EN))
        assert answer.status_code == 422, (query, answer.text)
        body = answer.json()
        assert body["code"] == "validation_failed" and body["errors"], query
        assert body["errors"][0]["field"] == next(iter(query))


async def test_people_filter_by_role_and_creation_time(client, make_tenant, make_user):
    tenant, admin, token = await _admin_token(make_tenant, make_user)
    guest = await make_user(tenant, "interviewee")
    early = datetime.now(timezone.utc) - timedelta(days=3)
    await User.update({User.created_at: early}).where(User.id == guest.id)
    await make_user(tenant, "interviewee")
    path = f"/api/v1/t/{tenant.slug}/people"
    admins = (await client.get(path, params={"role": "admin"}, headers=bearer(token))).json()["items"]
    assert [p["id"] for p in admins] == [str(admin.id)]
    cutoff = (early + timedelta(days=1)).isoformat()
    old = (await client.get(path, params={"created_before": cutoff}, headers=bearer(token))).json()["items"]
    assert [p["id"] for p in old] == [str(guest.id)]
    recent = (await client.get(path, params={"created_after": cutoff, "role": "interviewee"},
                               headers=bearer(token))).json()["items"]
    assert len(recent) == 1 and recent[0]["id"] != str(guest.id)


async def test_a_person_has_an_etag_and_if_none_match_gives_304(client, make_tenant, make_user):
    tenant, admin, token = await _admin_token(make_tenant, make_user)
    path = f"/api/v1/t/{tenant.slug}/people/{admin.id}"
    first = await client.get(path, headers=bearer(token))
    assert first.status_code == 200 and first.json()["email"] == admin.email
    etag = first.headers["etag"]
    assert (await client.get(path, headers=bearer(token, **{"If-None-Match": etag}))).status_code == 304
    await User.update({User.display_name: "changed"}).where(User.id == admin.id)
    changed = await client.get(path, headers=bearer(token, **{"If-None-Match": etag}))
    assert changed.status_code == 200 and changed.headers["etag"] != etag


async def test_every_answer_tells_the_rate_limit_and_the_excess_gets_429(mendan_database, host, make_tenant,
                                                                          make_user):
    from mendan.app import create_app

    app = create_app(dataclasses.replace(mendan_database, api_rate_limit="3/minute"), host=host)
    tenant, _admin, token = await _admin_token(make_tenant, make_user)
    other_tenant, _other, other_token = await _admin_token(make_tenant, make_user)
    async with AsyncTestClient(app) as client:
        path = f"/api/v1/t/{tenant.slug}/people"
        answers = [await client.get(path, headers=bearer(token, **EN)) for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 200]
        assert answers[0].headers["ratelimit-policy"] == '"token";q=3;w=60'
        assert [a.headers["ratelimit"].split(";")[1] for a in answers] == ["r=2", "r=1", "r=0"]
        over = await client.get(path, headers=bearer(token, **EN))
        assert over.status_code == 429 and over.json()["code"] == "rate_limited"
        assert 1 <= int(over.headers["retry-after"]) <= 60 and "ratelimit" in over.headers
        missing = await client.get(f"/api/v1/t/{other_tenant.slug}/nothing-here", headers=bearer(other_token))
        assert missing.status_code == 404 and missing.headers["ratelimit"].startswith('"token";r=2;')
        # Another token has its own window.
        assert (await client.get(f"/api/v1/t/{other_tenant.slug}/people",
                                 headers=bearer(other_token))).status_code == 200
        # Made-up tokens share their address's window: guessing is limited too.
        guesses = [await client.get(path, headers=bearer(f"mdn_guess{i}")) for i in range(4)]
        assert [g.status_code for g in guesses] == [401, 401, 401, 429]


async def test_openapi_lists_the_api_routes_with_tags_schemas_and_problems(client):
    schema = (await client.get("/schema/openapi.json")).json()
    listing = schema["paths"]["/api/v1/t/{tenant}/people"]["get"]
    single = schema["paths"]["/api/v1/t/{tenant}/people/{person_id}"]["get"]
    for operation in (listing, single):
        assert operation["tags"] == ["people"] and operation["summary"]
        assert "application/problem+json" in operation["responses"]["404"]["content"]
        assert operation["responses"]["401"]["content"]["application/problem+json"]["examples"]
    assert listing["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("PersonPage")
    limit = next(p for p in listing["parameters"] if p["name"] == "limit")
    assert limit["schema"]["minimum"] == 1 and limit["schema"]["maximum"] == 100
    assert "Problem" in schema["components"]["schemas"]
    person = schema["components"]["schemas"]["Person"]["properties"]
    assert person["email"]["examples"] and person["created_at"]["format"] == "date-time"
    csv_body = schema["paths"]["/api/v1/t/{tenant}/people/import"]["post"]["requestBody"]["content"]["text/csv"]
    assert csv_body["example"].startswith("email,")


async def test_a_body_that_is_not_json_is_a_400_problem_as_the_schema_says(client, make_tenant, make_user):
    schema = (await client.get("/schema/openapi.json")).json()
    documented = schema["paths"]["/api/v1/t/{tenant}/question-sets"]["post"]["responses"]["400"]["content"]
    assert list(documented) == ["application/problem+json"]
    tenant = await make_tenant()
    token = await create_api_token(await make_user(tenant, "admin", password=None), "hr", scope="write")
    answer = await client.post(f"/api/v1/t/{tenant.slug}/question-sets", content=b"\xa3w",
                               headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    assert answer.status_code == 400 and answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == "bad_request"


async def test_a_read_token_may_not_write_and_a_write_token_may(client, make_tenant, make_user):
    tenant = await make_tenant()
    admin = await make_user(tenant, "admin")
    path = f"/api/v1/t/{tenant.slug}/people"
    person = {"email": "hanako@example.jp", "role": "interviewee", "display_name": "山田 花子"}
    reader = await create_api_token(admin, "r", scope="read")
    refused = await client.post(path, json=person, headers=bearer(reader, **EN))
    assert refused.status_code == 403 and refused.json()["code"] == "insufficient_scope"
    for scope in ("write", "admin"):
        token = await create_api_token(admin, scope, scope=scope)
        made = await client.post(path, json={**person, "email": f"{scope}@example.jp"}, headers=bearer(token))
        assert made.status_code == 201, made.text
        assert made.headers["location"] == f"{path}/{made.json()['id']}"


async def test_creating_with_bad_values_is_422_with_the_field(client, make_tenant, make_user):
    tenant, _admin, token = await _admin_token(make_tenant, make_user, scope="write")
    path = f"/api/v1/t/{tenant.slug}/people"
    bad_email = await client.post(path, json={"email": "nope", "role": "interviewee"}, headers=bearer(token, **EN))
    assert bad_email.status_code == 422 and bad_email.json()["errors"][0]["field"] == "email"
    missing = await client.post(path, json={"email": "a@example.jp"}, headers=bearer(token))
    assert missing.status_code == 422 and missing.json()["code"] == "validation_failed"
    not_json = await client.post(path, content=b"{", headers=bearer(token, **{"Content-Type": "application/json"}))
    assert not_json.status_code in (400, 422) and not_json.json()["code"]


async def test_an_invalid_query_value_names_its_source_as_the_docs_do(client, make_tenant, make_user):
    tenant, _admin, token = await _admin_token(make_tenant, make_user, scope="read")
    answer = await client.get(f"/api/v1/t/{tenant.slug}/jobs", params={"limit": 0}, headers=bearer(token, **EN))
    assert answer.status_code == 422, answer.text
    assert [(e["field"], e["source"]) for e in answer.json()["errors"]] == [("limit", "query")]


def test_litestars_keyerror_for_an_unused_path_parameter_is_not_reported_as_the_clients_error():
    # The shape Litestar's fallback collection gives (seen by schemathesis): the body's error, then
    # a KeyError for `{tenant}`, which the handler does not take.
    raised = ValidationException(extra=[
        {"message": "Object contains unknown field `p`", "key": "data", "source": "body"},
        {"message": "'tenant'", "key": "tenant", "source": ParamType.PATH}])
    answer = api_error_answer(None, raised)
    assert answer.content["errors"] == [
        {"field": "data", "detail": "Object contains unknown field `p`", "source": "body"}]


async def test_a_create_repeated_with_its_idempotency_key_is_answered_the_same_without_running_again(
        client, make_tenant, make_user):
    tenant, _admin, token = await _admin_token(make_tenant, make_user, scope="write")
    path = f"/api/v1/t/{tenant.slug}/people"
    headers = bearer(token, **{"Idempotency-Key": "create-hanako-1"})
    first = await client.post(path, json={"email": "hanako@example.jp", "role": "interviewee"}, headers=headers)
    again = await client.post(path, json={"email": "hanako@example.jp", "role": "interviewee"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    assert await User.count().where((User.tenant == tenant.id) & (User.email == "hanako@example.jp")) == 1
    other = await client.post(path, json={"email": "taro@example.jp", "role": "interviewee"}, headers=headers)
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert await User.count().where((User.tenant == tenant.id) & (User.email == "taro@example.jp")) == 0
    # Without the key the handler runs again and finds the address taken.
    plain = await client.post(path, json={"email": "hanako@example.jp", "role": "interviewee"}, headers=bearer(token))
    assert plain.status_code == 422


async def test_a_change_needs_if_match_and_refuses_a_stale_etag(client, make_tenant, make_user):
    tenant, admin, token = await _admin_token(make_tenant, make_user, scope="write")
    path = f"/api/v1/t/{tenant.slug}/people/{admin.id}"
    etag = (await client.get(path, headers=bearer(token))).headers["etag"]
    missing = await client.patch(path, json={"display_name": "A"}, headers=bearer(token, **EN))
    assert missing.status_code == 428 and missing.json()["code"] == "precondition_required"
    changed = await client.patch(path, json={"display_name": "A"}, headers=bearer(token, **{"If-Match": etag}))
    assert changed.status_code == 200 and changed.json()["display_name"] == "A"
    assert changed.headers["etag"] != etag
    stale = await client.patch(path, json={"display_name": "B"}, headers=bearer(token, **{"If-Match": etag}))
    assert stale.status_code == 412 and stale.json()["code"] == "precondition_failed"
    assert (await User.objects().where(User.id == admin.id).first()).display_name == "A"


def _doc_example_plugin():
    """The docs' mendan_api_route_handlers example, as a plugin module (so the doc is tested)."""
    import re
    import types
    from pathlib import Path

    from core.hookspecs import hookimpl
    from core.plugins import PluginMeta

    text = (Path(__file__).resolve().parent.parent / "docs" / "plugins.md").read_text(encoding="utf-8")
    section = text.split("## mendan_api_route_handlers()", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)
    module = types.ModuleType("docgreeting")
    exec(compile(code, "docs/plugins.md", "exec"), module.__dict__)
    meta = PluginMeta(key="docgreeting", name_ja="挨拶", name_en="Greeting", kind="option", hours="batch")
    module.mendan_plugin_meta = hookimpl(lambda: meta)
    return module


async def test_a_plugins_api_answers_404_until_the_tenant_enables_it(mendan_database, make_tenant, make_user,
                                                                     monkeypatch):
    import sys

    from core.plugins import PluginHost
    from mendan.app import create_app

    host = PluginHost()
    plugin = _doc_example_plugin()
    monkeypatch.setitem(sys.modules, plugin.__name__, plugin)  # Litestar reads the handler's annotations there
    host.register(plugin, key="docgreeting")
    app = create_app(mendan_database, host=host)
    tenant = await make_tenant()
    interviewer = await make_user(tenant, "interviewer")
    token = await create_api_token(interviewer, "t")
    path = f"/api/v1/t/{tenant.slug}/docgreeting/greeting"
    async with AsyncTestClient(app) as client:
        off = await client.get(path, headers=bearer(token, **EN))
        assert off.status_code == 404 and off.json()["code"] == "not_in_contract"
        assert "contract" in off.json()["detail"]
        await host.set_enabled(tenant.id, "docgreeting", True)
        on = await client.get(path, headers=bearer(token))
        assert on.status_code == 200 and on.json() == {"text": "こんにちは"}
        assert (await client.get(path)).status_code == 401
        schema = (await client.get("/schema/openapi.json")).json()
        assert schema["paths"]["/api/v1/t/{tenant}/docgreeting/greeting"]["get"]["tags"] == ["docgreeting"]


class _Broken:
    """A plugin whose API endpoint fails, to see the 500 problem."""

    @hookimpl
    def mendan_plugin_meta(self):
        return PluginMeta(key="broken", name_ja="故障", name_en="Broken", kind="basic", hours="batch")

    @hookimpl
    def mendan_api_route_handlers(self):
        return [_explode]


@get("/explode", guards=[requires_scope("read")])
async def _explode() -> None:
    raise RuntimeError("a bug")


async def test_an_unexpected_error_is_a_500_problem_that_says_nothing_inside(mendan_database, make_tenant,
                                                                             make_user):
    from core.plugins import PluginHost
    from mendan.app import create_app

    host = PluginHost()
    host.register(_Broken(), key="broken")
    tenant, _admin, token = await _admin_token(make_tenant, make_user)
    async with AsyncTestClient(create_app(mendan_database, host=host)) as client:
        answer = await client.get(f"/api/v1/t/{tenant.slug}/broken/explode", headers=bearer(token, **EN))
    assert answer.status_code == 500 and answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == "internal_error" and "a bug" not in answer.text


def _redis_reachable() -> bool:
    import socket

    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", 6379)) == 0


@pytest.mark.skipif(not _redis_reachable(), reason="Redis is not reachable at 127.0.0.1:6379")
async def test_with_a_redis_broker_every_process_counts_the_same_window(mendan_database):
    import secrets

    from core.rest.rate_limit import ApiRateLimiter

    settings = dataclasses.replace(mendan_database, broker_url="redis://127.0.0.1:6379/0", api_rate_limit="3/minute")
    first, second = ApiRateLimiter.from_settings(settings), ApiRateLimiter.from_settings(settings)  # two processes
    scope = {"headers": [(b"authorization", f"Bearer mdn_{secrets.token_hex(8)}".encode())], "client": ("::1", 1)}
    answers = [await limiter.hit(dict(scope)) for limiter in (first, second, first, second)]
    assert [allowed for allowed, _state in answers] == [True, True, True, False]
    assert [state.remaining for _allowed, state in answers] == [2, 1, 0, 0]
    memory = ApiRateLimiter.from_settings(dataclasses.replace(settings, broker_url=None))
    assert (await memory.hit(dict(scope)))[0]  # memory storage: a window of its own
