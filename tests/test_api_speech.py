"""Transcripts (speech) and summaries (summary) through the REST API v1 (issue 18): present and
absent, read by the interview's staff only, 404 for foreign tenants and where the plugin is off."""

from __future__ import annotations

import pytest

from core.auth.tokens import create_api_token
from core.interviews.api import store_transcript
from core.transcripts import Segment, Transcript, Word
from plugins.speech import plugin as speech_plugin
from plugins.summary import plugin as summary_plugin
from tests.interview_fixtures import make_interview
from tests.test_summary import FIGURES_JA, ORDER_JA
from tests.test_summary_panel import add_recording, spoken

# The platform's tenant isolation matrix and schema check, run again here on a host with speech and summary, so
# they cover these plugins' routes too (every /api/v1 route: 404 to another tenant's token; documented).
from tests.test_api_endpoints import test_every_api_route_answers_404_to_another_tenants_token  # noqa: F401
from tests.test_api_endpoints import test_the_schema_documents_every_api_route  # noqa: F401

EN = {"Accept-Language": "en"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **EN}


@pytest.fixture
def host(host):
    host.register(speech_plugin, key="speech")
    host.register(summary_plugin, key="summary")
    return host


async def test_transcripts_of_a_recording_and_of_an_interview_in_seconds(app, client, make_tenant, make_user):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user, kind="self")
    scope, interview = setup["scope"], setup["interview"]
    answered = await add_recording(scope, interview, "q1.webm", sequence=1)
    silent = await add_recording(scope, interview, "q2.webm", sequence=2)
    said = Transcript("ja", "faster-whisper:base", (
        Segment(0.5, 2.25, "はじめまして。", 0.9, words=(Word(0.5, 1.0, "はじめ", 0.8), Word(1.0, 2.25, "まして", 0.7))),
        Segment(3.0, 5.5, "営業を三年担当しました。", 0.85)))
    await store_transcript(scope, answered.id, said)
    token = await create_api_token(setup["interviewer"], "ro", scope="read")
    base = f"/api/v1/t/{tenant.slug}/speech"

    one = await client.get(f"{base}/recordings/{answered.id}/transcript", headers=bearer(token))
    assert one.status_code == 200, one.text
    assert one.headers["etag"]
    body = one.json()
    assert (body["recording_id"], body["interview_id"]) == (str(answered.id), str(interview.id))
    assert body["revision"] == 1 and not body["edited"]
    assert body["language"] == "ja" and body["source"] == "faster-whisper:base"
    assert [(s["start"], s["end"], s["text"]) for s in body["segments"]] == [
        (0.5, 2.25, "はじめまして。"), (3.0, 5.5, "営業を三年担当しました。")]
    assert body["segments"][0]["words"][1] == {"start": 1.0, "end": 2.25, "text": "まして", "confidence": 0.7}

    absent = await client.get(f"{base}/recordings/{silent.id}/transcript", headers=bearer(token))
    assert absent.status_code == 404 and absent.json()["code"] == "transcript_not_found"
    assert absent.headers["content-type"].startswith("application/problem+json")
    assert absent.json()["detail"] == "This recording has no transcript yet."

    # A staff correction is a new revision, and the API shows it.
    await store_transcript(scope, answered.id, Transcript("ja", "faster-whisper:base", (
        Segment(0.5, 2.25, "初めまして。", None),)), edited_by=setup["admin"].id)
    whole = await client.get(f"{base}/interviews/{interview.id}/transcripts", headers=bearer(token))
    assert whole.status_code == 200
    (only,) = whole.json()["items"]
    assert only["recording_id"] == str(answered.id) and only["revision"] == 2 and only["edited"]
    assert [s["text"] for s in only["segments"]] == ["初めまして。"]

    empty = (await make_interview(tenant, make_user, kind="self"))["interview"]
    admin = await create_api_token(setup["admin"], "admin", scope="read")
    nothing = await client.get(f"{base}/interviews/{empty.id}/transcripts", headers=bearer(admin))
    assert nothing.status_code == 200 and nothing.json() == {"interview_id": str(empty.id), "items": []}


async def test_the_summary_present_and_absent(app, client, make_tenant, make_user):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user, kind="self")
    scope, interview = setup["scope"], setup["interview"]
    recording = await add_recording(scope, interview, "q1.webm", sequence=1)
    token = await create_api_token(setup["admin"], "ro", scope="read")
    url = f"/api/v1/t/{tenant.slug}/summary/interviews/{interview.id}"

    absent = await client.get(url, headers=bearer(token))
    assert absent.status_code == 404 and absent.json()["code"] == "summary_not_found"

    await store_transcript(scope, recording.id, spoken(ORDER_JA))
    present = await client.get(url, headers=bearer(token))
    assert present.status_code == 200, present.text
    body = present.json()
    assert body["interview_id"] == str(interview.id) and body["summary"]["provider"] == "extractive:lexrank"
    sentences = {s["text"]: s for s in body["summary"]["sentences"]}
    for sentence in FIGURES_JA:  # the sentences with figures are kept, with the second they were said
        assert sentences[sentence]["start"] == ORDER_JA.index(sentence) * 4.0
        assert sentences[sentence]["recording_id"] == str(recording.id)
    (answer,) = body["answers"]
    assert answer["recording_id"] == str(recording.id) and answer["summary"]["sentences"]
    again = await client.get(url, headers=bearer(token) | {"If-None-Match": present.headers["etag"]})
    assert again.status_code == 304  # the stored summary: the same representation


async def test_only_the_interviews_staff_read_and_foreign_tenants_or_a_plugin_off_get_404(
    app, client, host, make_tenant, make_user
):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user, kind="self")
    recording = await add_recording(setup["scope"], setup["interview"], "q1.webm", sequence=1)
    await store_transcript(setup["scope"], recording.id, spoken(ORDER_JA))
    paths = (f"/speech/recordings/{recording.id}/transcript", f"/speech/interviews/{setup['interview'].id}/transcripts",
             f"/summary/interviews/{setup['interview'].id}")

    outsider = await create_api_token(await make_user(tenant, "interviewer"), "o", scope="read")
    other = await make_tenant()
    stranger = await create_api_token(await make_user(other, "admin"), "s", scope="read")
    for path in paths:
        for token, slug in ((outsider, tenant.slug), (stranger, tenant.slug), (stranger, other.slug)):
            answer = await client.get(f"/api/v1/t/{slug}{path}", headers=bearer(token))
            assert answer.status_code == 404 and answer.json()["code"] == "not_found", (path, slug)

    staff = await create_api_token(setup["interviewer"], "i", scope="read")
    assert all([(await client.get(f"/api/v1/t/{tenant.slug}{path}", headers=bearer(staff))).status_code == 200
                for path in paths])
    await host.set_enabled(tenant.id, "speech", False)
    await host.set_enabled(tenant.id, "summary", False)
    for path in paths:
        off = await client.get(f"/api/v1/t/{tenant.slug}{path}", headers=bearer(staff))
        assert off.status_code == 404 and off.json()["code"] == "not_in_contract", path
