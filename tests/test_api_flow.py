"""Issue 18's Done-when: the whole main flow through the REST API v1 only, against the app served by
uvicorn: a question set with items, people, a webhook endpoint on a local receiver, interviews, the
interviewees' declared consent, tus uploads, the analyses awaited as signed `analysis.finished`
deliveries, expert evaluations, a model build (`model.built`), a new interview's predictions with
explanations, one confirmed (`prediction.confirmed`). Every delivery's signature is verified.

The one setup outside the API is the admin's first token (and each expert's own, which an expert
makes on the tokens page): tokens are made by people, not by the API."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import numpy as np
import pytest
from standardwebhooks import Webhook

import plugins.ai_model.plugin as ai_model_plugin
import plugins.face_features.plugin as face_features_plugin
from core.auth.tokens import create_api_token
from core.db.tables import User
from core.model_training import HARD_MINIMUM
from plugins.face_features.testing import ClipScript, write_clip
from tests.test_face_features import models  # noqa: F401  (the verified model files fixture)
from tests.webhook_receiver import Receiver, start_receiver

# The shortest recording the model learns from is 10 s; 5 frames a second is face_features' rate.
SECONDS, FPS = 10.5, 5
EVENTS = ["analysis.finished", "prediction.made", "prediction.confirmed", "model.built"]


@pytest.fixture
def host(host):
    host.register(face_features_plugin, key="face_features")
    host.register(ai_model_plugin, key="ai_model")
    return host


@pytest.fixture
def receiver():
    state, server = start_receiver()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def analysed_env(models, monkeypatch):  # noqa: F811
    monkeypatch.setenv("MENDAN_MODELS_DIR", str(models.parent))


def clip(folder: Path, n: int, rng) -> tuple[Path, dict[str, int]]:
    """A face in view for a share of the clip and a head that rolls; the expert's scores follow
    them (presence → warmth, stillness → composure), the rule the model has to find."""
    presence, movement = float(rng.uniform(0.6, 1.0)), float(rng.uniform(0, 1))
    gap = SECONDS * (1 - presence)
    path = write_clip(folder / f"interview-{n:02d}.mp4", ClipScript(
        seconds=SECONDS, fps=FPS, roll_amplitude=2 + 18 * movement,
        gaps=(((SECONDS - gap) / 2, (SECONDS + gap) / 2),) if gap > 0.2 else ()))
    return path, {"warmth": int(np.clip(round(1 + 4 * (presence - 0.6) / 0.4), 1, 5)),
                  "composure": int(np.clip(round(5 - 4 * movement), 1, 5))}


def created(response: httpx.Response, status: int = 201) -> dict:
    assert response.status_code == status, response.text
    return response.json()


def fresh() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def upload(api: httpx.Client, interview_id: str, path: Path) -> None:
    """A recording through tus: announce size and SHA-256, then one chunk with its checksum."""
    data = path.read_bytes()
    started = api.post(f"interviews/{interview_id}/recordings", headers=fresh(),
                       json={"filename": path.name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()})
    created(started)
    digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
    sent = api.patch(api.base_url.join(started.headers["location"]), content=data, headers={
        "Tus-Resumable": "1.0.0", "Content-Type": "application/offset+octet-stream", "Upload-Offset": "0",
        "Upload-Checksum": f"sha256 {digest}"})
    assert sent.status_code == 204 and sent.headers["upload-state"] == "complete", sent.text


def events(receiver: Receiver, secret: str, event_type: str, count: int, timeout: float) -> list[dict]:
    """The first `count` deliveries of `event_type` at the receiver, each signature verified
    (a forged or stale one raises); waits for them up to `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        payloads = [Webhook(secret).verify(r.body, r.headers) for r in list(receiver.received)]
        found = [p for p in payloads if p["type"] == event_type]
        if len(found) >= count:
            return found
        assert time.monotonic() < deadline, f"{len(found)} of {count} {event_type} deliveries in {timeout} s"
        time.sleep(0.2)


def delivery_log(api: httpx.Client, endpoint_id: str, delivered: int, timeout: float = 60) -> list[dict]:
    """The endpoint's delivery log once `delivered` deliveries are logged as delivered (the receiver
    hears a request a moment before its answer is logged)."""
    deadline = time.monotonic() + timeout
    while True:
        log = api.get(f"webhooks/{endpoint_id}/deliveries", params={"limit": 100}).json()["items"]
        if sum(d["state"] == "delivered" for d in log) >= delivered or time.monotonic() > deadline:
            return log
        time.sleep(0.2)


@pytest.mark.whole_pipeline  # the API's database rules have their own tests on both databases
async def test_the_whole_flow_runs_through_the_api_with_signed_webhooks(
        app, live_server, make_tenant, make_user, receiver, analysed_env, tmp_path):
    started = time.monotonic()
    tenant = await make_tenant()
    admin = await make_user(tenant, "admin")
    token = await create_api_token(admin, "ATS", scope="admin")  # the one step outside the API
    api = httpx.Client(base_url=f"{live_server}/api/v1/t/{tenant.slug}/", timeout=60,
                       headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"})

    question_set = created(api.post("question-sets", headers=fresh(), json={
        "name": "一次面接", "questions": [{"text": "自己紹介をお願いします。"}],
        "items": [{"key": "warmth", "name": "温かさ"}, {"key": "composure", "name": "落ち着き"}]}))
    interviewer = created(api.post("people", headers=fresh(), json={"email": "iv@example.jp", "role": "interviewer"}))
    experts = [created(api.post("people", headers=fresh(), json={"email": f"ex{n}@example.jp", "role": "expert"}))
               for n in range(2)]
    count = HARD_MINIMUM + 1  # enough to build, and one new interview to predict
    people = "email,display_name,role,language\n" + "".join(
        f"candidate{n}@example.jp,候補者 {n},interviewee,ja\n" for n in range(count))
    assert created(api.post("people/import", content=people.encode(), headers={"Content-Type": "text/csv"})) == {
        "created": count}
    interviewees = api.get("people", params={"role": "interviewee", "limit": 100}).json()["items"]
    endpoint = created(api.post("webhooks", headers=fresh(), json={"url": receiver.url, "events": EVENTS,
                                                                  "description": "ATS"}))
    secret = endpoint["secret"]

    rng = np.random.default_rng(18)
    first_start = datetime.now(timezone.utc) + timedelta(days=1)
    interviews, scores = [], []
    for n, person in enumerate(interviewees):
        interview = created(api.post("interviews", headers=fresh(), json={
            "kind": "live", "starts_at": (first_start + timedelta(hours=n)).isoformat(), "interviewee": person["id"],
            "interviewer": interviewer["id"], "experts": [e["id"] for e in experts],
            "question_set": question_set["id"], "duration_minutes": 30}))
        created(api.post(f"interviews/{interview['id']}/consent", headers=fresh(),
                         json={"purposes": ["recording", "training"], "source": "ATS 同意画面（2026-04-01）"}))
        path, expected = clip(tmp_path, n, rng)
        interviews.append(interview["id"])
        scores.append(expected)
        if n < count - 1:
            upload(api, interview["id"], path)
    new_interview, new_clip = interviews[-1], tmp_path / f"interview-{count - 1:02d}.mp4"

    finished = events(receiver, secret, "analysis.finished", count - 1, timeout=900)
    assert {e["data"]["interview_id"] for e in finished} == set(interviews[:-1])
    assert all("face_features" in e["data"]["succeeded"] for e in finished), finished

    for expert in experts:  # each expert's own token, made on the tokens page
        user = await User.objects().where(User.id == uuid.UUID(expert["id"])).first()
        expert_api = httpx.Client(base_url=str(api.base_url), timeout=60,
                                  headers={"Authorization": f"Bearer {await create_api_token(user, 'eval', 'write')}"})
        for interview_id, expected in zip(interviews[:-1], scores):
            created(expert_api.post(f"interviews/{interview_id}/evaluations", headers=fresh(),
                                    json={"scores": expected}))

    build = created(api.post("ai_model/versions", headers=fresh()), 202)
    [built] = events(receiver, secret, "model.built", 1, timeout=600)
    job = api.get(api.base_url.join(build["job_url"])).json()
    assert job["state"] == "done" and job["progress"] == 100, job
    version = api.get(f"ai_model/versions/{built['data']['version_id']}").json()
    assert version["state"] == "ready" and version["active"] and version["n_interviews"] == count - 1, version
    assert {i["key"] for i in version["items"]} == {"warmth", "composure"}

    upload(api, new_interview, new_clip)
    made = events(receiver, secret, "prediction.made", 2, timeout=600)
    assert {p["data"]["interview_id"] for p in made} == {new_interview}
    predictions = api.get("ai_model/predictions", params={"interview_id": new_interview}).json()["items"]
    assert {p["item"]["key"] for p in predictions} == {"warmth", "composure"}
    for prediction in predictions:
        assert prediction["score"] is not None and prediction["status"] == "unconfirmed"
        assert prediction["explanation"]["contributions"], prediction
        assert all(c["label"] for c in prediction["explanation"]["contributions"])

    chosen = predictions[0]
    confirmed = created(api.post(f"ai_model/predictions/{chosen['id']}/confirm", json={"comment": "妥当"}), 200)
    assert confirmed["status"] == "confirmed" and confirmed["reviewed_score"] == chosen["score"]
    [heard] = events(receiver, secret, "prediction.confirmed", 1, timeout=120)
    assert heard["data"]["prediction_id"] == chosen["id"] and heard["data"]["status"] == "confirmed"

    # Every request the receiver got was signed with the endpoint's secret, and logged as delivered.
    assert len({r.headers["webhook-id"] for r in receiver.received}) == len(receiver.received)
    log = delivery_log(api, endpoint["endpoint"]["id"], len(receiver.received))
    assert len(log) == len(receiver.received) and {d["state"] for d in log} == {"delivered"}
    assert all(json.loads(d["body"])["type"] in EVENTS for d in log)
    print(f"the whole flow over the API took {time.monotonic() - started:.0f} s")
