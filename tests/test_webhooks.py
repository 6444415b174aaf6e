"""Signed webhooks (issue 18, item 2): an admin registers an endpoint, each event reaches a local
receiver signed per Standard Webhooks, failures are retried and logged, a delivery can be replayed,
and addresses outside the public internet are refused in production."""

from __future__ import annotations

import dataclasses
import json
import re
import uuid

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from core.db.tables import AuditEntry
from core.runtime import runtime, set_runtime
from core.tasks import current_job_id
from core.tenancy import TenantScope
from core.web.i18n import current_language
from core.webhooks.addresses import AddressRefused, checked_target
from core.webhooks.delivery import DeliveryRefused, deliver
from core.webhooks.endpoints import EndpointProblem, register
from core.webhooks.events import EVENT_NAMES
from core.webhooks.tables import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from tests.conftest import HTML, eventually, form_csrf, login
from tests.interview_fixtures import make_interview
from tests.webhook_receiver import start_receiver


@pytest.fixture
def receiver():
    servers = []

    def start(answers=None):
        state, server = start_receiver(answers)
        servers.append(server)
        return state

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


async def _register(client, tenant, url, events=EVENT_NAMES) -> tuple[str, str]:
    """Through the page, as an admin: (endpoint id, the secret shown once)."""
    token = form_csrf((await client.get(f"/t/{tenant.slug}/webhooks/", headers=HTML)).text)
    response = await client.post(f"/t/{tenant.slug}/webhooks/", headers=HTML,
                                 data={"url": url, "description": "ATS", "events": list(events), "_csrf_token": token})
    assert response.status_code == 200, response.text
    secret = re.search(r"whsec_[A-Za-z0-9+/=]+", response.text).group(0)
    endpoint_id = re.search(r"/webhooks/([0-9a-f-]{36})", response.text).group(1)
    return endpoint_id, secret


async def _admin(client, make_tenant, make_user):
    tenant = await make_tenant()
    admin = await make_user(tenant, "admin")
    await login(client, tenant, admin)
    return tenant, admin


def _verified(secret: str, request) -> dict:
    return Webhook(secret).verify(request.body, request.headers)


async def _received(state, count: int):
    async def check():
        return len(state.received) >= count

    await eventually(check, what=f"{count} webhook deliveries")


async def test_each_event_reaches_the_receiver_signed(app, client, make_tenant, make_user, receiver):
    from plugins.ai_model.service import review
    from plugins.ai_model.tables import Prediction

    state = receiver()
    tenant, admin = await _admin(client, make_tenant, make_user)
    _endpoint_id, secret = await _register(client, tenant, state.url)
    host = app.state.plugin_host

    setup = await make_interview(tenant, make_user)  # scheduling fires interview.scheduled
    interview = setup["interview"]
    recording_id, version_id = uuid.uuid4(), str(uuid.uuid4())
    await host.call_for_tenant("mendan_recording_completed", tenant_id=tenant.id, interview_id=interview.id,
                               recording_id=recording_id)
    await host.call_for_tenant("mendan_interview_analysed", tenant_id=tenant.id, interview_id=interview.id,
                               succeeded=["face"], failed=[])
    prediction = await TenantScope(tenant.id).add(Prediction(interview_id=interview.id, item_key="clarity", value=3.5,
                                                             source="v1"))
    await host.call_for_tenant("mendan_prediction_made", tenant_id=tenant.id, prediction=prediction)
    await review(TenantScope(tenant.id), prediction.id, admin, override=None, comment="")  # prediction.confirmed
    await host.call_for_tenant("mendan_model_built", tenant_id=tenant.id, version_id=version_id)

    await _received(state, len(EVENT_NAMES))
    payloads = {p["type"]: p for p in (_verified(secret, r) for r in state.received)}
    assert set(payloads) == set(EVENT_NAMES)
    assert payloads["interview.scheduled"]["data"]["interview_id"] == str(interview.id)
    assert payloads["recording.completed"]["data"] == {"interview_id": str(interview.id),
                                                       "recording_id": str(recording_id)}
    assert payloads["analysis.finished"]["data"]["succeeded"] == ["face"]
    assert payloads["prediction.made"]["data"]["value"] == 3.5
    confirmed = payloads["prediction.confirmed"]["data"]
    assert (confirmed["prediction_id"], confirmed["status"]) == (str(prediction.id), "confirmed")
    assert payloads["model.built"]["data"]["version_id"] == version_id
    ids = [r.headers["webhook-id"] for r in state.received]
    assert len(set(ids)) == len(ids) and all(i.startswith("msg_") for i in ids)
    # Another secret does not verify: the signature is the endpoint's own.
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 43 + "=").verify(state.received[0].body, state.received[0].headers)


async def test_only_chosen_events_of_active_endpoints_are_sent(app, client, make_tenant, make_user, receiver):
    state = receiver()
    tenant, _admin_user = await _admin(client, make_tenant, make_user)
    endpoint_id, secret = await _register(client, tenant, state.url, events=["model.built"])
    host = app.state.plugin_host
    await host.call_for_tenant("mendan_interview_analysed", tenant_id=tenant.id, interview_id=uuid.uuid4(),
                               succeeded=[], failed=[])
    await host.call_for_tenant("mendan_model_built", tenant_id=tenant.id, version_id="v-first")
    await _received(state, 1)
    token = form_csrf((await client.get(f"/t/{tenant.slug}/webhooks/{endpoint_id}", headers=HTML)).text)
    await client.post(f"/t/{tenant.slug}/webhooks/{endpoint_id}/active", headers=HTML,
                      data={"active": "off", "_csrf_token": token})
    await host.call_for_tenant("mendan_model_built", tenant_id=tenant.id, version_id="v-second")
    scope = TenantScope(tenant.id)
    assert [_verified(secret, r)["type"] for r in state.received] == ["model.built"]
    assert await scope.count(WebhookDelivery) == 1  # nothing stored for the switched-off endpoint
    assert "v-first" in state.received[0].body.decode()


async def test_a_failing_receiver_is_retried_and_every_attempt_logged(app, client, make_tenant, make_user, receiver):
    state = receiver(answers=[500])
    tenant, _admin_user = await _admin(client, make_tenant, make_user)
    endpoint_id, secret = await _register(client, tenant, state.url)
    await app.state.plugin_host.call_for_tenant("mendan_model_built", tenant_id=tenant.id, version_id="v1")
    scope = TenantScope(tenant.id)

    async def delivered():
        return await scope.objects(WebhookDelivery).where(WebhookDelivery.state == "delivered").first()

    delivery = await eventually(delivered, what="the delivery after its retry")
    assert delivery.attempts == 2 and len(state.received) == 2
    assert state.received[0].headers["webhook-id"] == state.received[1].headers["webhook-id"] == delivery.message_id
    assert _verified(secret, state.received[1]) == _verified(secret, state.received[0])
    attempts = await scope.objects(WebhookAttempt).where(WebhookAttempt.delivery == delivery.id).order_by(
        WebhookAttempt.started_at)
    assert [a.status_code for a in attempts] == [500, 200]
    assert attempts[0].response_excerpt == "answered 500" and attempts[0].duration_ms >= 0
    page = (await client.get(f"/t/{tenant.slug}/webhooks/{endpoint_id}", headers=HTML)).text
    assert "HTTP 500" in page and "HTTP 200" in page and delivery.message_id in page


async def test_a_delivery_is_replayed_with_its_webhook_id(app, client, make_tenant, make_user, receiver):
    state = receiver()
    tenant, admin = await _admin(client, make_tenant, make_user)
    endpoint_id, secret = await _register(client, tenant, state.url)
    await app.state.plugin_host.call_for_tenant("mendan_model_built", tenant_id=tenant.id, version_id="v1")
    await _received(state, 1)
    scope = TenantScope(tenant.id)
    delivery = await scope.objects(WebhookDelivery).first()
    token = form_csrf((await client.get(f"/t/{tenant.slug}/webhooks/{endpoint_id}", headers=HTML)).text)
    response = await client.post(f"/t/{tenant.slug}/webhooks/{endpoint_id}/deliveries/{delivery.id}/replay",
                                 headers=HTML, data={"_csrf_token": token}, follow_redirects=False)
    assert response.status_code in (302, 303)
    await _received(state, 2)
    first, again = state.received
    assert again.headers["webhook-id"] == first.headers["webhook-id"] and again.body == first.body
    assert _verified(secret, again)["data"]["version_id"] == "v1"

    async def replay_logged():
        return await scope.count(WebhookAttempt).where(WebhookAttempt.replay == True) == 1  # noqa: E712

    await eventually(replay_logged, what="the replay's attempt")
    actions = {a.action for a in await AuditEntry.objects().where(AuditEntry.tenant == tenant.id)}
    assert {"webhooks.created", "webhooks.replayed"} <= actions


async def test_rotation_shows_a_new_secret_that_signs_from_then_on(app, client, make_tenant, make_user, receiver):
    state = receiver()
    tenant, _admin_user = await _admin(client, make_tenant, make_user)
    endpoint_id, old = await _register(client, tenant, state.url)
    stored = await WebhookEndpoint.objects().where(WebhookEndpoint.id == endpoint_id).first()
    assert old not in stored.sealed_secret and old[6:] not in stored.sealed_secret  # kept sealed
    token = form_csrf((await client.get(f"/t/{tenant.slug}/webhooks/{endpoint_id}", headers=HTML)).text)
    response = await client.post(f"/t/{tenant.slug}/webhooks/{endpoint_id}/rotate", headers=HTML,
                                 data={"_csrf_token": token})
    new = re.search(r"whsec_[A-Za-z0-9+/=]+", response.text).group(0)
    assert new != old
    await app.state.plugin_host.call_for_tenant("mendan_model_built", tenant_id=tenant.id, version_id="v2")
    await _received(state, 1)
    assert _verified(new, state.received[0])["type"] == "model.built"
    with pytest.raises(WebhookVerificationError):
        _verified(old, state.received[0])
    assert "whsec_" not in (await client.get(f"/t/{tenant.slug}/webhooks/{endpoint_id}", headers=HTML)).text


async def test_delete_asks_first_then_removes_the_endpoint_and_its_log(app, client, make_tenant, make_user):
    tenant, _admin_user = await _admin(client, make_tenant, make_user)
    endpoint_id, _secret = await _register(client, tenant, "http://127.0.0.1:9/hook")
    confirm = await client.get(f"/t/{tenant.slug}/webhooks/{endpoint_id}/delete", headers=HTML)
    assert confirm.status_code == 200 and "http://127.0.0.1:9/hook" in confirm.text
    assert await WebhookEndpoint.count().where(WebhookEndpoint.id == endpoint_id) == 1  # asking deletes nothing
    response = await client.post(f"/t/{tenant.slug}/webhooks/{endpoint_id}/delete", headers=HTML,
                                 data={"_csrf_token": form_csrf(confirm.text)}, follow_redirects=False)
    assert response.status_code in (302, 303)
    index = await client.get(response.headers["location"], headers=HTML)
    assert "http://127.0.0.1:9/hook" not in index.text and "送り先を削除しました。" in index.text
    assert await WebhookEndpoint.count().where(WebhookEndpoint.id == endpoint_id) == 0
    actions = [a.action for a in await AuditEntry.objects().where(AuditEntry.tenant == tenant.id)]
    assert "webhooks.deleted" in actions


async def test_the_pages_are_for_admins_only(client, make_tenant, make_user):
    tenant = await make_tenant()
    await login(client, tenant, await make_user(tenant, "interviewer"))
    assert (await client.get(f"/t/{tenant.slug}/webhooks/", headers=HTML)).status_code == 403


async def test_the_form_refuses_an_unusable_address_and_keeps_the_input(client, make_tenant, make_user):
    tenant, _admin_user = await _admin(client, make_tenant, make_user)
    token = form_csrf((await client.get(f"/t/{tenant.slug}/webhooks/", headers=HTML)).text)
    for url, words in (("http://169.254.169.254/latest/meta-data", "169.254.169.254"),
                       ("ftp://hr.example.com/hook", "http")):
        response = await client.post(f"/t/{tenant.slug}/webhooks/", headers=HTML | {"accept-language": "en"},
                                     data={"url": url, "description": "kept", "events": ["model.built"],
                                           "_csrf_token": token})
        assert response.status_code == 400 and words in response.text and 'value="kept"' in response.text
    assert await TenantScope(tenant.id).count(WebhookEndpoint) == 0


@pytest.mark.parametrize("url", ["https://10.1.2.3/hook", "https://localhost/hook", "https://[::1]/hook",
                                 "https://192.168.0.10/hook", "https://224.0.0.1/hook", "http://93.184.215.14/hook",
                                 "https://[::ffff:127.0.0.1]/hook", "https://100.64.0.1/hook",
                                 "https://[64:ff9b::a00:1]/hook", "https://[2002:a00:1::]/hook", "https://0.0.0.0/hook",
                                 "https://[64:ff9b:1::a00:1]/hook", "https://192.0.0.8/hook", "https://[5f00::1]/hook"])
def test_production_refuses_addresses_outside_the_public_internet(url):
    with pytest.raises(AddressRefused):
        checked_target(url, production=True)


def test_production_accepts_a_public_https_address_and_development_loopback():
    assert str(checked_target("https://93.184.215.14/hook", production=True).address) == "93.184.215.14"
    assert checked_target("http://localhost:8080/hook", production=False).address.is_loopback
    with pytest.raises(AddressRefused):
        checked_target("http://10.0.0.1/hook", production=False)  # private ranges stay refused in development


async def test_refusals_are_told_in_japanese_and_english(make_tenant):
    tenant = await make_tenant()
    messages = {}
    for language in ("ja", "en"):
        token = current_language.set(language)
        try:
            with pytest.raises(EndpointProblem) as refused:
                await register(TenantScope(tenant.id), url="http://hr.example.com/hook", description="",
                               events=["model.built"], production=True)
            messages[language] = str(refused.value)
        finally:
            current_language.reset(token)
    assert "https://" in messages["en"] and "https://" in messages["ja"] and messages["ja"] != messages["en"]


async def test_the_address_is_checked_again_when_sending(app, client, make_tenant, make_user, receiver):
    """An endpoint accepted in development (loopback) is refused by a production process at sending time."""
    state = receiver()
    tenant, _admin_user = await _admin(client, make_tenant, make_user)
    url = state.url.replace("http://127.0.0.1", "https://localhost")  # https: refused for its address, not its scheme
    endpoint_id, _secret = await _register(client, tenant, url)
    scope = TenantScope(tenant.id)
    endpoint = await scope.get(WebhookEndpoint, uuid.UUID(endpoint_id))
    delivery = await scope.add(WebhookDelivery(endpoint=endpoint.id, message_id="msg_direct", event_type="model.built",
                                               body=json.dumps({"type": "model.built"})))
    development = runtime()
    set_runtime(dataclasses.replace(development, settings=dataclasses.replace(development.settings,
                                                                              environment="production")))
    try:
        with pytest.raises(DeliveryRefused):
            await deliver(str(tenant.id), str(delivery.id))
    finally:
        set_runtime(development)
    attempt = await scope.objects(WebhookAttempt).where(WebhookAttempt.delivery == delivery.id).first()
    assert attempt.status_code is None and "localhost" in attempt.error
    assert state.received == []


async def test_a_job_run_again_after_its_success_sends_nothing_more(app, client, make_tenant, make_user, receiver):
    """What the job table's re-queue does after a worker died past a successful attempt: the same job
    runs again and finds its own success; only a replay (another job) sends once more."""
    state = receiver()
    tenant, _admin_user = await _admin(client, make_tenant, make_user)
    endpoint_id, secret = await _register(client, tenant, state.url)
    scope = TenantScope(tenant.id)
    delivery = await scope.add(WebhookDelivery(endpoint=uuid.UUID(endpoint_id), message_id="msg_once",
                                               event_type="model.built", body=json.dumps({"type": "model.built"})))
    for job_id, replay in (("job-1", False), ("job-1", False), ("job-1", True), ("job-2", True), ("job-2", True)):
        token = current_job_id.set(job_id)
        try:
            await deliver(str(tenant.id), str(delivery.id), replay=replay)
        finally:
            current_job_id.reset(token)
    assert [r.headers["webhook-id"] for r in state.received] == ["msg_once", "msg_once"]
    assert all(_verified(secret, r) == {"type": "model.built"} for r in state.received)
    assert (await scope.get(WebhookDelivery, delivery.id)).attempts == 2


async def test_purging_the_tenant_removes_its_endpoints_deliveries_and_attempts(app, client, make_tenant, make_user,
                                                                                receiver):
    from tenants.retention import purge_tenant

    state = receiver()
    tenant, _admin_user = await _admin(client, make_tenant, make_user)
    await _register(client, tenant, state.url)
    await app.state.plugin_host.call_for_tenant("mendan_model_built", tenant_id=tenant.id, version_id="v1")
    scope = TenantScope(tenant.id)

    async def attempted():
        return await scope.count(WebhookAttempt)

    await eventually(attempted, what="an attempt to purge")
    await purge_tenant(tenant.id, reason="test")
    for table in (WebhookEndpoint, WebhookDelivery, WebhookAttempt):
        assert await table.count().where(table.tenant == tenant.id) == 0
