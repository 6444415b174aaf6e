"""Webhook endpoints and consent declarations over the REST API v1 (issue 18): register (the secret
answered once), read, switch, delete under If-Match, rotate, the delivery log and replays; an HR
system's declared consent lets a recording be uploaded. Admin tokens only, audited."""

from __future__ import annotations

from standardwebhooks import Webhook

from core.auth.tokens import create_api_token
from core.db.tables import AuditEntry, IdempotencyKey
from tests.conftest import eventually
from tests.interview_fixtures import make_interview
from tests.test_webhooks import receiver  # noqa: F401  (the local receiver fixture)


def bearer(token: str, **more: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept-Language": "en", **more}


async def _admin_tokens(make_tenant, make_user):
    tenant = await make_tenant()
    admin = await make_user(tenant, "admin")
    return tenant, admin, await create_api_token(admin, "hr", scope="admin"), \
        await create_api_token(admin, "hr-write", scope="write")


async def test_an_endpoint_is_registered_read_rotated_and_deleted_under_if_match(
        app, client, make_tenant, make_user, receiver):  # noqa: F811
    tenant, admin, token, write = await _admin_tokens(make_tenant, make_user)
    base = f"/api/v1/t/{tenant.slug}/webhooks"
    state = receiver()
    body = {"url": state.url, "events": ["interview.scheduled"], "description": "ATS"}

    assert (await client.post(base, json=body, headers=bearer(write))).json()["code"] == "insufficient_scope"
    created = await client.post(base, json=body, headers=bearer(token, **{"Idempotency-Key": "k-1"}))
    assert created.status_code == 201, created.text
    secret, endpoint = created.json()["secret"], created.json()["endpoint"]
    assert secret.startswith("whsec_") and endpoint["events"] == ["interview.scheduled"]
    assert created.headers["location"] == f"{base}/{endpoint['id']}"
    # The secret is not kept for replays: the same key again answers 409, never the secret.
    again = await client.post(base, json=body, headers=bearer(token, **{"Idempotency-Key": "k-1"}))
    assert again.status_code == 409 and "whsec_" not in again.text
    assert not [k for k in await IdempotencyKey.objects() if "whsec_" in (k.body or "")]

    read = await client.get(f"{base}/{endpoint['id']}", headers=bearer(token))
    assert read.status_code == 200 and "secret" not in read.json() and read.json()["url"] == state.url
    listed = await client.get(base, headers=bearer(token))
    assert [e["id"] for e in listed.json()["items"]] == [endpoint["id"]]

    # An event reaches the receiver signed with the secret answered at creation.
    await make_interview(tenant, make_user)

    async def delivered():
        return state.received or None
    first = (await eventually(delivered, what="interview.scheduled delivery"))[0]
    assert Webhook(secret).verify(first.body, first.headers)["type"] == "interview.scheduled"

    rotated = await client.post(f"{base}/{endpoint['id']}/rotate", headers=bearer(token))
    assert rotated.status_code == 200 and rotated.json()["secret"] not in ("", secret)

    async def logged():
        log = await client.get(f"{base}/{endpoint['id']}/deliveries", headers=bearer(token))
        return log.json()["items"] if log.json()["items"][0]["state"] == "delivered" else None
    [delivery] = await eventually(logged, what="the delivery logged as delivered")
    assert delivery["message_id"] == first.headers["webhook-id"] and delivery["attempts"][0]["status_code"] == 200
    replay = await client.post(f"{base}/{endpoint['id']}/deliveries/{delivery['id']}/replay", headers=bearer(token))
    assert replay.status_code == 202, replay.text

    async def replayed():
        return len(state.received) >= 2 or None
    await eventually(replayed, what="the replay")
    again = state.received[1]
    assert again.headers["webhook-id"] == first.headers["webhook-id"]
    assert Webhook(rotated.json()["secret"]).verify(again.body, again.headers)["type"] == "interview.scheduled"

    switched = await client.patch(f"{base}/{endpoint['id']}", json={"active": False},
                                  headers=bearer(token, **{"If-Match": read.headers["etag"]}))
    assert switched.status_code == 412  # the rotation changed it since that read
    current = await client.get(f"{base}/{endpoint['id']}", headers=bearer(token))
    switched = await client.patch(f"{base}/{endpoint['id']}", json={"active": False},
                                  headers=bearer(token, **{"If-Match": current.headers["etag"]}))
    assert switched.status_code == 200 and switched.json()["active"] is False

    assert (await client.delete(f"{base}/{endpoint['id']}", headers=bearer(token))).status_code == 428
    gone = await client.delete(f"{base}/{endpoint['id']}", headers=bearer(token, **{"If-Match": switched.headers["etag"]}))
    assert gone.status_code == 204
    assert (await client.get(f"{base}/{endpoint['id']}", headers=bearer(token))).status_code == 404
    actions = {a.action for a in await AuditEntry.objects().where(AuditEntry.tenant == tenant.id)}
    assert {"webhooks.created", "webhooks.secret_rotated", "webhooks.replayed", "webhooks.disabled",
            "webhooks.deleted"} <= actions


async def test_a_refused_address_or_event_names_its_field(client, make_tenant, make_user):
    tenant, _admin, token, _write = await _admin_tokens(make_tenant, make_user)
    base = f"/api/v1/t/{tenant.slug}/webhooks"
    private = await client.post(base, json={"url": "http://10.0.0.5/hook", "events": ["model.built"]},
                                headers=bearer(token))
    assert private.status_code == 422 and private.json()["code"] == "invalid_endpoint"
    assert private.json()["errors"][0]["field"] == "url"
    unknown = await client.post(base, json={"url": "http://127.0.0.1:9/hook", "events": ["mail.sent"]},
                                headers=bearer(token))
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "events"


async def test_a_url_with_a_control_character_or_inner_space_is_refused(client, make_tenant, make_user):
    tenant, _admin, token, _write = await _admin_tokens(make_tenant, make_user)
    base = f"/api/v1/t/{tenant.slug}/webhooks"
    for url in ("http://127.0.0.1:9/hook\u0000", "http://127.0.0.1:9/ho\u001bok", "http://127.0.0.1:9/a b"):
        refused = await client.post(base, json={"url": url, "events": ["model.built"]}, headers=bearer(token))
        assert refused.status_code == 422, refused.text
        # A control character is refused by the one text rule (validation_failed) before the URL is read.
        code = "invalid_endpoint" if " " in url else "validation_failed"
        assert refused.json()["code"] == code and refused.json()["errors"][0]["field"] == "url"
    listed = await client.get(base, headers=bearer(token))
    assert listed.json()["items"] == []


async def test_another_tenants_endpoint_is_not_found(client, make_tenant, make_user):
    tenant, _admin, token, _write = await _admin_tokens(make_tenant, make_user)
    other, _other_admin, other_token, _ = await _admin_tokens(make_tenant, make_user)
    created = await client.post(f"/api/v1/t/{tenant.slug}/webhooks",
                                json={"url": "http://127.0.0.1:9/hook", "events": ["model.built"]}, headers=bearer(token))
    endpoint_id = created.json()["endpoint"]["id"]
    assert (await client.get(f"/api/v1/t/{other.slug}/webhooks/{endpoint_id}",
                             headers=bearer(other_token))).status_code == 404
    assert (await client.get(f"/api/v1/t/{other.slug}/webhooks/{endpoint_id}/deliveries",
                             headers=bearer(other_token))).status_code == 404


async def test_declared_consent_is_recorded_with_its_source_and_lets_the_upload_start(client, make_tenant, make_user):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user)
    interview, admin = setup["interview"], setup["admin"]
    token = await create_api_token(admin, "hr", scope="admin")
    write = await create_api_token(admin, "hr-write", scope="write")
    base = f"/api/v1/t/{tenant.slug}/interviews/{interview.id}"
    upload = {"filename": "a.mp4", "size": 10, "sha256": "0" * 64}

    refused = await client.post(f"{base}/recordings", json=upload, headers=bearer(write))
    assert refused.status_code == 403 and refused.json()["code"] == "consent_missing"
    before = await client.get(f"{base}/consent", headers=bearer(write))
    assert {i["purpose"]: i["consented"] for i in before.json()["items"]} == {"recording": False, "training": False}

    assert (await client.post(f"{base}/consent", json={"purposes": ["recording"], "source": "ATS"},
                              headers=bearer(write))).json()["code"] == "insufficient_scope"
    blank = await client.post(f"{base}/consent", json={"purposes": ["recording"], "source": "  "}, headers=bearer(token))
    assert blank.status_code == 422 and blank.json()["errors"][0]["field"] == "source"
    declared = await client.post(f"{base}/consent", headers=bearer(token),
                                 json={"purposes": ["recording"], "source": "ATS consent screen, 2026-04-01"})
    assert declared.status_code == 201, declared.text
    assert declared.json()["items"][0]["source"] == "ATS consent screen, 2026-04-01"
    after = await client.get(f"{base}/consent", headers=bearer(token))
    assert {i["purpose"]: i["consented"] for i in after.json()["items"]} == {"recording": True, "training": False}
    assert (await client.post(f"{base}/recordings", json=upload, headers=bearer(write))).status_code == 201
    [entry] = await AuditEntry.objects().where((AuditEntry.tenant == tenant.id) & (AuditEntry.action == "consent.declared"))
    assert entry.target == str(setup["interviewee"].id)

async def test_a_consent_source_with_a_control_character_is_refused_and_line_breaks_are_folded(
        client, make_tenant, make_user):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user)
    token = await create_api_token(setup["admin"], "hr", scope="admin")
    base = f"/api/v1/t/{tenant.slug}/interviews/{setup['interview'].id}/consent"
    nul = await client.post(base, json={"purposes": ["recording"], "source": "ATS\u0000 screen"}, headers=bearer(token))
    assert nul.status_code == 422 and nul.json()["errors"][0]["field"] == "source", nul.text
    assert "control character" in nul.json()["errors"][0]["detail"]
    still = await client.get(base, headers=bearer(token))
    assert {i["purpose"]: i["consented"] for i in still.json()["items"]} == {"recording": False, "training": False}
    folded = await client.post(base, json={"purposes": ["recording"], "source": "ATS\r\n  screen"},
                               headers=bearer(token))
    assert folded.status_code == 201 and folded.json()["items"][0]["source"] == "ATS screen", folded.text

