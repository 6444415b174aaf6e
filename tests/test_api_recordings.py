"""REST API v1 (issue 18): an interview's recordings uploaded through tus with a bearer token
alone (no cookie, no CSRF), their state and probe results; evaluations (one per evaluator);
the extracted feature values."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest

from core.auth.tokens import create_api_token
from core.features import store_features
from core.interviews.question_sets import items_of
from core.interviews.schedule import advance
from core.interviews.tables import Recording
from tests.interview_fixtures import chunk_checksum, consent, make_interview
from tests.video_files import make_video

TUS_CHUNK = {"Content-Type": "application/offset+octet-stream", "Tus-Resumable": "1.0.0"}


def bearer(token: str, **more: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept-Language": "en", **more}


@pytest.fixture
async def setup(make_tenant, make_user):
    tenant = await make_tenant()
    made = await make_interview(tenant, make_user, experts=1)
    interview = made["interview"]
    return {**made, "tenant": tenant, "url": f"/api/v1/t/{tenant.slug}/interviews/{interview.id}",
            "token": await create_api_token(made["interviewer"], "recorder", scope="write")}


async def _patch(client, token, location, offset, chunk, checksum=None):
    return await client.patch(location, content=chunk, headers=bearer(
        token, **TUS_CHUNK, **{"Upload-Offset": str(offset), "Upload-Checksum": checksum or chunk_checksum(chunk)}))


async def test_a_video_is_uploaded_through_tus_with_a_bearer_token_alone(client, setup, tmp_path: Path):
    video = make_video(tmp_path / "answer.webm", seconds=1).read_bytes()
    token, url = setup["token"], setup["url"]
    announce = {"filename": "answer.webm", "size": len(video), "sha256": hashlib.sha256(video).hexdigest(),
                "content_type": "video/webm"}
    client.cookies.clear()
    refused = await client.post(f"{url}/recordings", headers=bearer(token), json=announce)
    assert refused.status_code == 403 and refused.json()["code"] == "consent_missing"
    await consent(setup["tenant"], setup["interviewee"])
    created = await client.post(f"{url}/recordings", headers=bearer(token), json=announce)
    assert created.status_code == 201, created.text
    location = created.headers["location"]
    assert location == created.json()["upload_url"] and created.headers["tus-resumable"] == "1.0.0"

    half = len(video) // 2
    first = await _patch(client, token, location, 0, video[:half])
    assert first.status_code == 204, first.text
    assert first.headers["upload-offset"] == str(half)
    damaged = await _patch(client, token, location, half, video[half:], checksum=chunk_checksum(b"other bytes"))
    assert damaged.status_code == 460 and damaged.json()["code"] == "checksum_mismatch"
    wrong_offset = await _patch(client, token, location, 1, video[1:])
    assert wrong_offset.status_code == 409 and wrong_offset.json()["code"] == "offset_mismatch"
    reader = await create_api_token(setup["interviewer"], "reader", scope="read")
    assert (await _patch(client, reader, location, half, video[half:])).status_code == 403
    offset = await client.head(location, headers=bearer(token))
    assert offset.headers["upload-offset"] == str(half) and offset.headers["upload-length"] == str(len(video))
    last = await _patch(client, token, location, half, video[half:])
    assert last.status_code == 204, last.text
    assert last.headers["upload-state"] == "complete"
    assert not client.cookies  # nothing but the token was needed, and no session was made

    recording = await client.get(f"{url}/recordings/{created.json()['id']}", headers=bearer(reader))
    body = recording.json()
    assert body["state"] == "complete" and body["sha256"] == hashlib.sha256(video).hexdigest()
    assert body["probe"]["container"] == "webm" and 0.5 < body["probe"]["duration_s"] < 1.5
    assert body["probe"]["streams"] == [{"kind": "video", "codec": "vp8", "width": 160, "height": 120}]
    listed = (await client.get(f"{url}/recordings", headers=bearer(reader))).json()["items"]
    assert [r["id"] for r in listed] == [body["id"]]
    interview = (await client.get(url, headers=bearer(reader))).json()
    assert interview["state"] == "recorded"


async def test_a_file_that_is_not_a_video_is_refused_and_kept_with_its_reason(client, setup):
    await consent(setup["tenant"], setup["interviewee"])
    junk = b"not a video at all" * 50
    created = await client.post(f"{setup['url']}/recordings", headers=bearer(setup["token"]), json={
        "filename": "clip.mp4", "size": len(junk), "sha256": hashlib.sha256(junk).hexdigest()})
    refused = await _patch(client, setup["token"], created.headers["location"], 0, junk)
    assert refused.status_code == 422 and refused.json()["code"] == "not_a_video"
    kept = (await client.get(f"{setup['url']}/recordings/{created.json()['id']}", headers=bearer(setup["token"])))
    assert kept.json()["state"] == "refused" and kept.json()["error"] and kept.json()["probe"] is None


async def test_a_malformed_upload_length_is_named_and_appends_nothing(client, setup):
    await consent(setup["tenant"], setup["interviewee"])
    created = await client.post(f"{setup['url']}/recordings", headers=bearer(setup["token"]),
                                json={"filename": "clip.webm", "defer_length": True})
    assert created.status_code == 201, created.text
    chunk = b"first bytes of a recording"
    refused = await client.patch(created.headers["location"], content=chunk, headers=bearer(
        setup["token"], **TUS_CHUNK, **{"Upload-Offset": "0", "Upload-Length": "lots",
                                        "Upload-Checksum": chunk_checksum(chunk)}))
    assert refused.status_code == 400 and refused.json()["code"] == "bad_upload", refused.text
    assert "Upload-Length" in refused.json()["detail"] and "Upload-Offset" not in refused.json()["detail"]
    offset = await client.head(created.headers["location"], headers=bearer(setup["token"]))
    assert offset.headers["upload-offset"] == "0" and offset.headers["upload-defer-length"] == "1"


async def test_recordings_stay_with_their_tenant_and_participants(client, setup, make_tenant, make_user):
    await consent(setup["tenant"], setup["interviewee"])
    created = await client.post(f"{setup['url']}/recordings", headers=bearer(setup["token"]), json={
        "filename": "a.webm", "size": 10, "sha256": "0" * 64})
    rec = f"{setup['url']}/recordings/{created.json()['id']}"
    outsider = await create_api_token(await make_user(setup["tenant"], "interviewer", password=None), "x",
                                      scope="write")
    assert (await client.get(rec, headers=bearer(outsider))).status_code == 404
    other = await make_tenant()
    foreign = await create_api_token(await make_user(other, "admin", password=None), "x", scope="write")
    assert (await client.get(rec, headers=bearer(foreign))).status_code == 404
    assert (await client.head(f"{rec}/upload", headers=bearer(foreign))).status_code == 404
    for part in ("recordings", "evaluations", "features"):
        assert (await client.get(f"{setup['url']}/{part}", headers=bearer(foreign))).status_code == 404, part
        assert (await client.get(f"/api/v1/t/{other.slug}/interviews/{setup['interview'].id}/{part}",
                                 headers=bearer(foreign))).status_code == 404, part
    assert await setup["scope"].count(Recording) == 1


async def test_evaluations_are_one_per_evaluator_with_scores_on_the_items_scales(client, setup):
    url, expert = setup["url"], await create_api_token(setup["experts"][0], "expert", scope="write")
    items = {i.name: i for i in items_of(setup["version"])}
    clarity, warmth = items["Clarity"].key, items["Warmth"].key
    early = await client.post(f"{url}/evaluations", headers=bearer(expert), json={"scores": {clarity: 4}})
    assert early.status_code == 409 and early.json()["code"] == "not_held_yet"
    await advance(setup["scope"], setup["interview"], "recorded")
    off_scale = await client.post(f"{url}/evaluations", headers=bearer(expert), json={"scores": {clarity: 9}})
    assert off_scale.status_code == 422 and off_scale.json()["errors"][0]["field"] == f"scores.{clarity}"
    missing = await client.post(f"{url}/evaluations", headers=bearer(expert), json={"scores": {warmth: 6}})
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == f"scores.{clarity}"
    unknown = await client.post(f"{url}/evaluations", headers=bearer(expert), json={"scores": {clarity: 3, "x": 1}})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "scores.x"
    created = await client.post(f"{url}/evaluations", headers=bearer(expert),
                                json={"scores": {clarity: 4, warmth: 6}, "comment": "落ち着いている"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["scores"] == {clarity: 4, warmth: 6} and body["evaluator_role"] == "expert"
    second = await client.post(f"{url}/evaluations", headers=bearer(expert), json={"scores": {clarity: 2}})
    assert second.status_code == 409 and second.json()["code"] == "evaluation_exists"
    by_interviewer = await client.post(f"{url}/evaluations", headers=bearer(setup["token"]),
                                       json={"scores": {clarity: 3}})
    assert by_interviewer.status_code == 201 and by_interviewer.json()["evaluator_role"] == "interviewer"
    reader = await create_api_token(setup["admin"], "reader", scope="read")
    assert (await client.post(f"{url}/evaluations", headers=bearer(reader),
                              json={"scores": {clarity: 3}})).status_code == 403
    listed = (await client.get(f"{url}/evaluations", headers=bearer(reader))).json()["items"]
    assert {e["evaluator_role"]: e["scores"][clarity] for e in listed} == {"expert": 4, "interviewer": 3}
    one = await client.get(created.headers["location"], headers=bearer(reader))
    assert one.status_code == 200 and one.json()["comment"] == "落ち着いている"


async def test_an_evaluation_comment_with_a_control_character_saves_nothing(client, setup):
    url, expert = setup["url"], await create_api_token(setup["experts"][0], "expert", scope="write")
    clarity = {i.name: i.key for i in items_of(setup["version"])}["Clarity"]
    await advance(setup["scope"], setup["interview"], "recorded")
    refused = await client.post(f"{url}/evaluations", headers=bearer(expert),
                                json={"scores": {clarity: 4}, "comment": "good\u0000 answer"})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "comment", refused.text
    assert (await client.get(f"{url}/evaluations", headers=bearer(expert))).json()["items"] == []
    kept = await client.post(f"{url}/evaluations", headers=bearer(expert),
                             json={"scores": {clarity: 4}, "comment": "一行目\n二行目"})
    assert kept.status_code == 201 and kept.json()["comment"] == "一行目\n二行目", kept.text


async def test_two_evaluations_sent_at_once_make_one_and_a_conflict(client, setup):
    expert = await create_api_token(setup["experts"][0], "expert", scope="write")
    await advance(setup["scope"], setup["interview"], "recorded")
    key = items_of(setup["version"])[0].key
    answers = await asyncio.gather(*[client.post(f"{setup['url']}/evaluations", headers=bearer(expert),
                                                 json={"scores": {key: score}}) for score in (2, 5)])
    assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
    listed = (await client.get(f"{setup['url']}/evaluations", headers=bearer(expert))).json()["items"]
    assert len(listed) == 1


class Loudness:
    name, version = "loudness", "1"


async def test_features_read_the_interviews_values_and_each_recordings(client, setup, make_user):
    scope, interview = setup["scope"], setup["interview"]
    empty = await client.get(f"{setup['url']}/features", headers=bearer(setup["token"]))
    assert empty.status_code == 200 and empty.json()["features"] == [] and empty.json()["recordings"] == []
    recordings = [await scope.add(Recording(interview=interview.id, container="webm", size=1, sha256="",
                                            state="complete", sequence=n)) for n in range(2)]
    for rec, (seconds, level) in zip(recordings, [(10.0, 0.2), (30.0, 0.6)]):
        await store_features(scope, interview.id, Loudness(), {"duration_s": seconds, "level": level},
                             recording_id=rec.id)
    body = (await client.get(f"{setup['url']}/features", headers=bearer(setup["token"]))).json()
    values = {f["key"]: f["value"] for f in body["features"]}
    assert values["loudness.duration_s"] == pytest.approx(40.0)
    assert values["loudness.level"] == pytest.approx((10 * 0.2 + 30 * 0.6) / 40)
    per_recording = {r["recording"]: {f["key"]: f["value"] for f in r["features"]} for r in body["recordings"]}
    assert per_recording[str(recordings[1].id)]["loudness.level"] == pytest.approx(0.6)
    outsider = await create_api_token(await make_user(setup["tenant"], "expert", password=None), "x", scope="read")
    assert (await client.get(f"{setup['url']}/features", headers=bearer(outsider))).status_code == 404

