"""REST API v1 (issue 18): question sets with their items, and interviews (set up, list with
filters, read, move, cancel, personal links) under the same rules as the pages."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from core.auth.tokens import create_api_token
from core.hours import TOKYO
from core.interviews.question_sets import EvaluationItem, Question, create_question_set
from core.interviews.schedule import experts_of
from core.interviews.tables import Interview
from core.tenancy import TenantScope
from tenants.contracts import create_contract
from tests.interview_fixtures import open_link

NOW = datetime(2026, 4, 30, 10, 0, tzinfo=TOKYO)  # a Thursday, in the weekday course's hours
SET = {"name": "一次面接", "questions": [{"text": "自己紹介をしてください。", "time_limit_s": 90}],
       "items": [{"name": "Composure", "scale_min": 1, "scale_max": 5},
                 {"name": "Warmth", "scale_min": 1, "scale_max": 7, "required": False}]}


def bearer(token: str, **more: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept-Language": "en", **more}


@pytest.fixture
async def staff(make_tenant, make_user):
    """A tenant with an admin (write token), an interviewer (write token), two interviewees and a set."""
    tenant = await make_tenant()
    admin = await make_user(tenant, "admin", password=None)
    interviewer = await make_user(tenant, "interviewer", password=None)
    version = await create_question_set(TenantScope(tenant.id), name="Basics", author=admin,
                                        items=[EvaluationItem(key="", name="Clarity")],
                                        questions=[Question(text="自己紹介をお願いします。")])
    return {"tenant": tenant, "base": f"/api/v1/t/{tenant.slug}", "admin": admin, "interviewer": interviewer,
            "admin_token": await create_api_token(admin, "hr", scope="write"),
            "interviewer_token": await create_api_token(interviewer, "mine", scope="write"),
            "interviewees": [await make_user(tenant, "interviewee", password=None) for _ in range(2)],
            "version": version}


def live(staff, starts_at: datetime, interviewee: int = 0, **more) -> dict:
    return {"kind": "live", "starts_at": starts_at.isoformat(),
            "interviewee": str(staff["interviewees"][interviewee].id),
            "interviewer": str(staff["interviewer"].id), "question_set": str(staff["version"].question_set),
            "duration_minutes": 60, "title": "一次面接", **more}


async def test_a_question_set_is_created_read_and_versioned_under_if_match(client, staff):
    base, token = staff["base"], staff["admin_token"]
    key = {"Idempotency-Key": "qs-1"}
    created = await client.post(f"{base}/question-sets", headers=bearer(token, **key), json=SET)
    assert created.status_code == 201, created.text
    body = created.json()
    repeated = await client.post(f"{base}/question-sets", headers=bearer(token, **key), json=SET)
    assert repeated.json() == body and repeated.headers["idempotent-replayed"] == "true"
    assert created.headers["location"] == f"{base}/question-sets/{body['id']}"
    first = body["latest_version"]
    assert first["number"] == 1 and [q["time_limit_s"] for q in first["questions"]] == [90]
    keys = [i["key"] for i in first["items"]]
    assert keys == ["composure", "warmth"] and first["items"][1]["scale_max"] == 7
    read = await client.get(created.headers["location"], headers=bearer(token))
    assert read.json() == body and read.headers["etag"] == created.headers["etag"]

    renamed = {"questions": SET["questions"], "items": [{"key": "composure", "name": "Stays calm"},
                                                        {"name": "Energy"}]}
    url = created.headers["location"]
    assert (await client.put(url, headers=bearer(token), json=renamed)).status_code == 428
    stale = await client.put(url, headers=bearer(token, **{"If-Match": '"not-it"'}), json=renamed)
    assert stale.status_code == 412 and stale.json()["code"] == "precondition_failed"
    saved = await client.put(url, headers=bearer(token, **{"If-Match": read.headers["etag"]}), json=renamed)
    assert saved.status_code == 200, saved.text
    second = saved.json()["latest_version"]
    assert second["number"] == 2 and [i["key"] for i in second["items"]][0] == "composure"
    assert second["items"][0]["name"] == "Stays calm" and second["items"][1]["key"] == "energy"
    again = await client.put(url, headers=bearer(token, **{"If-Match": read.headers["etag"]}), json=renamed)
    assert again.status_code == 412  # saved meanwhile: the first ETag is stale
    old = await client.get(f"{url}/versions/1", headers=bearer(token))
    assert old.status_code == 200 and [i["name"] for i in old.json()["items"]] == ["Composure", "Warmth"]
    listed = (await client.get(f"{base}/question-sets?limit=1", headers=bearer(token))).json()
    assert len(listed["items"]) == 1 and listed["next_cursor"]
    rest = (await client.get(f"{base}/question-sets?cursor={listed['next_cursor']}", headers=bearer(token))).json()
    assert {s["id"] for s in listed["items"] + rest["items"]} == {str(staff["version"].question_set), body["id"]}


async def test_a_version_number_past_the_databases_integer_is_a_422_not_a_500(client, staff):
    url = f"{staff['base']}/question-sets/{staff['version'].question_set}/versions"
    for number in (2**31, 979189642941925611830740254720, 0):
        answer = await client.get(f"{url}/{number}", headers=bearer(staff["admin_token"]))
        assert answer.status_code == 422, (number, answer.text)
        assert answer.json()["errors"][0]["field"] == "number"
    assert (await client.get(f"{url}/{2**31 - 1}", headers=bearer(staff["admin_token"]))).status_code == 404


async def test_question_set_errors_name_their_fields(client, staff):
    base, token = staff["base"], staff["admin_token"]
    blank = {"name": " ", "questions": [{"text": "Why?"}], "items": [{"name": "Tone", "scale_min": 5, "scale_max": 5}]}
    refused = await client.post(f"{base}/question-sets", headers=bearer(token), json=blank)
    assert refused.status_code == 422 and refused.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in refused.json()["errors"]] == ["name"]
    no_text = await client.post(f"{base}/question-sets", headers=bearer(token),
                                json={**blank, "name": "Set", "questions": [{"text": ""}]})
    assert no_text.status_code == 422 and no_text.json()["errors"][0]["field"] == "questions[0].text"
    scale = await client.post(f"{base}/question-sets", headers=bearer(token),
                              json={**blank, "name": "Set", "questions": [{"text": "Why?"}]})
    assert scale.status_code == 422 and scale.json()["errors"][0]["field"] == "items[0].scale_min"
    taken = await client.post(f"{base}/question-sets", headers=bearer(token),
                              json={**SET, "items": [{"key": "clarity", "name": "Clarity"}]})
    assert taken.status_code == 422 and taken.json()["errors"][0]["field"] == "items[0].key"
    typed = await client.post(f"{base}/question-sets", headers=bearer(token),
                              json={**SET, "questions": [{"text": "Why?", "time_limit_s": "long"}]})
    assert typed.status_code == 422 and typed.json()["code"] == "validation_failed"


async def test_question_sets_need_an_admin_and_the_scope_and_stay_in_their_tenant(client, staff, make_tenant,
                                                                                  make_user):
    base = staff["base"]
    reader = await create_api_token(staff["admin"], "read only", scope="read")
    denied = await client.post(f"{base}/question-sets", headers=bearer(reader), json=SET)
    assert denied.status_code == 403 and denied.json()["code"] == "insufficient_scope"
    interviewer = await client.get(f"{base}/question-sets", headers=bearer(staff["interviewer_token"]))
    assert interviewer.status_code == 403
    other = await make_tenant()
    foreign = await create_api_token(await make_user(other, "admin", password=None), "x", scope="write")
    set_url = f"{base}/question-sets/{staff['version'].question_set}"
    assert (await client.get(set_url, headers=bearer(foreign))).status_code == 404
    own_path = f"/api/v1/t/{other.slug}/question-sets/{staff['version'].question_set}"
    missing = await client.get(own_path, headers=bearer(foreign))
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


async def test_an_interview_is_set_up_read_listed_moved_and_cancelled(client, staff, monkeypatch):
    base, token = staff["base"], staff["admin_token"]
    soon = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=2)
    created = await client.post(f"{base}/interviews", headers=bearer(token), json=live(staff, soon))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["state"] == "scheduled" and body["kind"] == "live"
    assert datetime.fromisoformat(body["starts_at"]) == soon
    assert body["interviewer"]["id"] == str(staff["interviewer"].id)
    assert body["question_set_version"] == str(staff["version"].id)
    assert body["links"]["recordings"] == f"{base}/interviews/{body['id']}/recordings"
    self_made = await client.post(f"{base}/interviews", headers=bearer(token), json={
        "kind": "self", "starts_at": soon.isoformat(), "ends_at": (soon + timedelta(days=3)).isoformat(),
        "interviewee": str(staff["interviewees"][1].id), "question_set_version": str(staff["version"].id)})
    assert self_made.status_code == 201, self_made.text
    assert datetime.fromisoformat(self_made.json()["ends_at"]) == soon + timedelta(days=3)

    everything = (await client.get(f"{base}/interviews", headers=bearer(token))).json()
    assert [i["id"] for i in everything["items"]] == [body["id"], self_made.json()["id"]]
    only_self = (await client.get(f"{base}/interviews?kind=self", headers=bearer(token))).json()["items"]
    assert [i["id"] for i in only_self] == [self_made.json()["id"]]
    later = (soon + timedelta(hours=1)).isoformat()
    window = await client.get(f"{base}/interviews", headers=bearer(token), params={"starts_before": later,
                                                                                   "state": "scheduled"})
    assert {i["id"] for i in window.json()["items"]} == {body["id"], self_made.json()["id"]}
    assert (await client.get(f"{base}/interviews", headers=bearer(token),
                             params={"starts_from": later})).json()["items"] == []
    assert (await client.get(f"{base}/interviews?state=done", headers=bearer(token))).status_code == 422
    mine = (await client.get(f"{base}/interviews", headers=bearer(staff["interviewer_token"]))).json()["items"]
    assert [i["id"] for i in mine] == [body["id"]]  # not a participant of the self-interview

    url = f"{base}/interviews/{body['id']}"
    etag = (await client.get(url, headers=bearer(token))).headers["etag"]
    moved_to = soon + timedelta(days=1)
    assert (await client.patch(url, headers=bearer(token), json={"starts_at": moved_to.isoformat()})).status_code == 428
    moved = await client.patch(url, headers=bearer(token, **{"If-Match": etag}),
                               json={"starts_at": moved_to.isoformat()})
    assert moved.status_code == 200, moved.text
    assert datetime.fromisoformat(moved.json()["starts_at"]) == moved_to
    stale = await client.post(f"{url}/cancel", headers=bearer(token, **{"If-Match": etag}))
    assert stale.status_code == 412
    cancelled = await client.post(f"{url}/cancel", headers=bearer(token, **{"If-Match": moved.headers["etag"]}))
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    twice = await client.post(f"{url}/cancel", headers=bearer(token, **{"If-Match": cancelled.headers["etag"]}))
    assert twice.status_code == 409 and twice.json()["code"] == "not_scheduled"


async def test_setting_up_refuses_the_past_service_hours_and_overlaps_with_codes(client, staff, monkeypatch):
    monkeypatch.setattr("core.hours.now", lambda: NOW)
    await create_contract(staff["tenant"].id, by=None, course="weekday", starts_on=NOW.date())
    base, token = staff["base"], staff["admin_token"]
    past = await client.post(f"{base}/interviews", headers=bearer(token), json=live(staff, NOW - timedelta(days=1)))
    assert past.status_code == 422 and past.json()["code"] == "in_the_past"
    assert past.json()["errors"][0]["field"] == "starts_at"
    holiday = datetime(2026, 5, 6, 10, 0, tzinfo=TOKYO)  # a substitute holiday
    closed = await client.post(f"{base}/interviews", headers=bearer(token), json=live(staff, holiday))
    assert closed.status_code == 422 and closed.json()["code"] == "outside_service_hours"
    assert "2026-05-07 09:00" in closed.json()["detail"]
    slot = datetime(2026, 5, 7, 10, 0, tzinfo=TOKYO)
    assert (await client.post(f"{base}/interviews", headers=bearer(token), json=live(staff, slot))).status_code == 201
    clash = await client.post(f"{base}/interviews", headers=bearer(token),
                              json=live(staff, slot + timedelta(minutes=30), interviewee=1))
    assert clash.status_code == 409 and clash.json()["code"] == "interview_overlap"
    kept = await client.post(f"{base}/interviews", headers=bearer(token),
                             json=live(staff, slot + timedelta(minutes=30), interviewee=1, allow_overlap=True))
    assert kept.status_code == 201
    naive = await client.post(f"{base}/interviews", headers=bearer(token),
                              json={**live(staff, slot), "starts_at": "2026-05-07T15:00:00"})
    assert naive.status_code == 422 and naive.json()["errors"][0]["field"] == "starts_at"
    far = await client.post(f"{base}/interviews", headers=bearer(token),
                            json={**live(staff, slot), "starts_at": "9999-12-31T23:30:00+00:00"})
    assert far.status_code == 422 and far.json()["code"] == "invalid_date"
    nobody = await client.post(f"{base}/interviews", headers=bearer(token),
                               json={**live(staff, slot + timedelta(days=1)), "interviewee": str(staff["admin"].id)})
    assert nobody.status_code == 422 and nobody.json()["errors"][0]["field"] == "interviewee"
    no_set = await client.post(f"{base}/interviews", headers=bearer(token),
                               json={**live(staff, slot + timedelta(days=1)), "question_set": str(staff["admin"].id)})
    assert no_set.status_code == 422 and no_set.json()["errors"][0]["field"] == "question_set"
    assert await TenantScope(staff["tenant"].id).count(Interview) == 2


async def test_an_expert_named_twice_takes_part_once(client, staff, make_user):
    expert = await make_user(staff["tenant"], "expert", password=None)
    soon = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=2)
    created = await client.post(f"{staff['base']}/interviews", headers=bearer(staff["admin_token"]),
                                json=live(staff, soon, experts=[str(expert.id), str(expert.id).upper()]))
    assert created.status_code == 201, created.text
    assert [e["id"] for e in created.json()["experts"]] == [str(expert.id)]
    stored = await Interview.objects().where(Interview.id == created.json()["id"]).first()
    assert experts_of(stored) == [str(expert.id)]


async def test_interview_changes_need_an_admin_with_write_scope(client, staff, make_tenant, make_user):
    base = staff["base"]
    soon = datetime.now(timezone.utc) + timedelta(days=2)
    by_interviewer = await client.post(f"{base}/interviews", headers=bearer(staff["interviewer_token"]),
                                       json=live(staff, soon))
    assert by_interviewer.status_code == 403
    reader = await create_api_token(staff["admin"], "read only", scope="read")
    assert (await client.post(f"{base}/interviews", headers=bearer(reader), json=live(staff, soon))).status_code == 403
    created = await client.post(f"{base}/interviews", headers=bearer(staff["admin_token"]), json=live(staff, soon))
    other = await make_tenant()
    foreign = await create_api_token(await make_user(other, "admin", password=None), "x", scope="write")
    interview_id = created.json()["id"]
    for path in (f"{base}/interviews/{interview_id}", f"/api/v1/t/{other.slug}/interviews/{interview_id}"):
        assert (await client.get(path, headers=bearer(foreign))).status_code == 404, path


async def test_personal_links_are_issued_to_admins_and_sign_the_interviewee_in(client, staff):
    base, token = staff["base"], staff["admin_token"]
    soon = datetime.now(timezone.utc) + timedelta(minutes=10)
    interview = (await client.post(f"{base}/interviews", headers=bearer(token), json=live(staff, soon))).json()
    url = f"{base}/interviews/{interview['id']}/links"
    assert (await client.post(url, headers=bearer(staff["interviewer_token"]))).status_code == 403
    issued = await client.post(url, headers=bearer(token))
    assert issued.status_code == 201, issued.text
    links = {link["role"]: link for link in issued.json()["items"]}
    assert set(links) == {"interviewee", "interviewer"} and links["interviewer"]["expires_at"] is None
    join = links["interviewee"]["url"]
    assert f"/t/{staff['tenant'].slug}/join/" in join
    assert datetime.fromisoformat(links["interviewee"]["expires_at"]) > soon
    path = join[join.index("/t/"):]
    entered = await open_link(client, path)  # its page, then the page's sign-in button
    assert entered.status_code in (302, 303) and f"/interviews/{interview['id']}/consent" in entered.headers["location"]


async def test_the_openapi_schema_lists_the_interview_routes(client):
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    prefix = "/api/v1/t/{tenant}"
    for path, method in [("/question-sets", "post"), ("/question-sets/{set_id}", "put"),
                         ("/interviews", "get"), ("/interviews/{interview_id}", "patch"),
                         ("/interviews/{interview_id}/cancel", "post"), ("/interviews/{interview_id}/links", "post"),
                         ("/interviews/{interview_id}/recordings", "post"),
                         ("/interviews/{interview_id}/recordings/{recording_id}/upload", "patch"),
                         ("/interviews/{interview_id}/evaluations", "post"),
                         ("/interviews/{interview_id}/features", "get")]:
        assert method in paths.get(prefix + path, {}), (path, method)
    create = paths[prefix + "/interviews"]["post"]
    assert {"409", "422"} <= set(create["responses"])
