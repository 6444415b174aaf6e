"""speech in the product: a completed recording of the interviewee is transcribed by a job, shown on
its transcript page (time-synced, searchable, editable by staff, downloadable as text and WebVTT) and
on the interview page; browsers may send their own transcript of the interviewee's recording."""

from __future__ import annotations

import re
import zlib
from datetime import datetime, timezone
from urllib.parse import unquote
from uuid import uuid4

import numpy as np
import pytest

from core.auth.passwords import hash_password
from core.db.tables import AuditEntry, Job, TranscriptRecord, User
from core.interviews.api import Recording, store_transcript, transcript_of
from core.tables import json_value
from core.tenancy import TenantScope
from core.transcripts import Segment, Transcript, Word
from plugins.speech import plugin as speech_plugin
from plugins.speech import testing
from plugins.speech.jobs import queue_transcription, transcription_state
from tests.conftest import HTML, PASSWORD, form_csrf, login, wait_for_job
from tests.interview_fixtures import make_interview
from tests.video_files import make_video

SAID = ("前職では法人向けの営業を五年間担当していました。", "その結果、紹介による契約が大きく増えました。")


@pytest.fixture
def speech(host):
    host.register(speech_plugin, key="speech")
    return host


async def add_recording(scope, storage, tenant, interview, path, *, uploaded_by=None) -> Recording:
    rec_id = uuid4()
    container = path.suffix.lstrip(".")
    key = f"recordings/{interview.id}/{rec_id}.{container}"
    storage.write_file(storage.tenant_key(tenant), key, path)
    return await scope.add(Recording(
        id=rec_id, interview=interview.id, container=container, size=path.stat().st_size, sha256="0" * 64,
        state="complete", blob_key=key, uploaded_by=uploaded_by, filename=path.name,
        completed_at=datetime.now(timezone.utc)))


async def completed(host, tenant, interview, recording) -> Job:
    """Fire the hook the upload fires, and wait for the transcription job it queued (the test's `client`
    fixture runs the app, whose embedded worker does the job)."""
    await host.call_for_tenant("mendan_recording_completed", tenant_id=tenant.id, interview_id=interview.id,
                               recording_id=recording.id)
    jobs = await Job.objects().where((Job.tenant == tenant.id) & (Job.actor == "speech.transcribe"))
    assert len(jobs) == 1
    return await wait_for_job(jobs[0].id)


@pytest.mark.speech_model
async def test_the_interviewees_recording_is_transcribed_by_a_job_and_stored(speech, app, client, make_tenant,
                                                                             make_user, storage, tmp_path):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user, kind="self")
    samples, rate = testing.japanese_speech(SAID)
    path = testing.write_audio(tmp_path / "answer.webm", samples, rate, video=True)
    rec = await add_recording(setup["scope"], storage, tenant, setup["interview"], path,
                              uploaded_by=setup["interviewee"].id)

    job = await completed(speech, tenant, setup["interview"], rec)

    assert job.state == "done", job.error
    assert job.result_ref.startswith("transcribed:") and job.attempts == 1
    stored = await transcript_of(setup["scope"], rec.id)
    assert stored.source == "faster-whisper:base" and stored.language == "ja"
    assert testing.character_error_rate("".join(SAID), stored.text()) <= 0.2
    assert (await transcription_state(setup["scope"], rec.id)).state == "transcribed"


@pytest.mark.speech_model
async def test_silence_is_stored_as_an_empty_transcript_no_speech_found(speech, app, client, make_tenant, make_user,
                                                                         storage, tmp_path):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user, kind="self")
    path = testing.write_audio(tmp_path / "quiet.webm", np.zeros(16000 * 4, np.int16), 16000, video=True)
    rec = await add_recording(setup["scope"], storage, tenant, setup["interview"], path)

    job = await completed(speech, tenant, setup["interview"], rec)

    assert job.state == "done" and job.result_ref == "no speech found"
    assert (await transcript_of(setup["scope"], rec.id)).segments == ()
    assert (await transcription_state(setup["scope"], rec.id)).state == "no speech found"


async def test_a_recording_without_audio_fails_once_as_audio_missing(speech, app, make_tenant, make_user, storage,
                                                                     tmp_path, client):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user, kind="self")
    path = make_video(tmp_path / "mute.mp4", seconds=2.0)
    rec = await add_recording(setup["scope"], storage, tenant, setup["interview"], path)

    job = await completed(speech, tenant, setup["interview"], rec)

    assert job.state == "failed" and job.attempts == 1 and job.error.startswith("AudioMissing")
    assert await TranscriptRecord.count().where(TranscriptRecord.recording_id == rec.id) == 0
    state = await transcription_state(setup["scope"], rec.id)
    assert state.state == "audio missing" and "音声トラック" in state.detail
    await login(client, tenant, setup["admin"])
    page = await client.get(f"/t/{tenant.slug}/interviews/{setup['interview'].id}", headers=HTML)
    assert "文字起こし" in page.text and "音声がありません" in page.text


async def test_only_the_interviewees_recording_of_a_live_interview_is_queued(speech, app, make_tenant, make_user,
                                                                              storage, tmp_path):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user, kind="live")
    path = make_video(tmp_path / "v.mp4")
    theirs = await add_recording(setup["scope"], storage, tenant, setup["interview"], path,
                                 uploaded_by=setup["interviewer"].id)

    assert await queue_transcription(tenant.id, setup["interview"].id, theirs.id) is None
    mine = await add_recording(setup["scope"], storage, tenant, setup["interview"], path,
                               uploaded_by=setup["interviewee"].id)
    assert await queue_transcription(tenant.id, setup["interview"].id, mine.id) is not None
    jobs = await Job.objects().where((Job.tenant == tenant.id) & (Job.actor == "speech.transcribe"))
    assert [json_value(j.args)["recording_id"] for j in jobs] == [str(mine.id)]


SEGMENTS = (Segment(0.0, 2.5, "五年間、営業を担当しました。", 0.9, words=(Word(0.0, 0.5, "五"),)),
            Segment(3.0, 5.0, "紹介の契約が<増えました>。", 0.8))


async def test_the_transcript_page_edits_downloads_and_captions(speech, app, client, make_tenant, make_user, storage,
                                                                tmp_path):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user, kind="self")
    rec = await add_recording(setup["scope"], storage, tenant, setup["interview"], make_video(tmp_path / "v.mp4"))
    await store_transcript(setup["scope"], rec.id, Transcript("ja", "faster-whisper:base", SEGMENTS))
    base = f"/t/{tenant.slug}/speech/recordings/{rec.id}"
    await login(client, tenant, setup["interviewer"])

    page = await client.get(base, headers=HTML)
    assert page.status_code == 200
    assert f'<track kind="captions" default srclang="ja"' in page.text and f'src="{base}/captions.vtt"' in page.text
    assert 'data-start="3.0"' in page.text and 'id="transcript-search"' in page.text
    assert "<script>" not in page.text and f'/t/{tenant.slug}/speech/speech.js' in page.text
    assert (await client.get(f"/t/{tenant.slug}/speech/speech.js")).status_code == 200

    vtt = await client.get(f"{base}/captions.vtt")
    assert vtt.headers["content-type"].startswith("text/vtt")
    assert vtt.text.startswith("WEBVTT") and "00:00:03.000 --> 00:00:05.000\n紹介の契約が&lt;増えました&gt;。" in vtt.text
    text = await client.get(f"{base}/transcript.txt")
    assert text.text == "[00:00] 五年間、営業を担当しました。\n[00:03] 紹介の契約が<増えました>。\n"
    assert "attachment" in text.headers["content-disposition"]

    saved = await client.post(f"{base}/edit", headers=HTML, follow_redirects=False, data={
        "segment-0": "五年間、法人営業を担当しました。", "segment-1": "紹介の契約が<増えました>。",
        "revision": "1", "_csrf_token": form_csrf(page.text)})
    assert saved.status_code == 303 and saved.headers["location"].endswith("?saved=2")
    edited = await transcript_of(setup["scope"], rec.id)
    assert edited.segments[0].text == "五年間、法人営業を担当しました。" and edited.segments[0].words == ()
    assert edited.segments[1] == SEGMENTS[1]
    rows = await TranscriptRecord.objects().where(TranscriptRecord.recording_id == rec.id).order_by(
        TranscriptRecord.revision)
    assert [(r.revision, r.edited_by) for r in rows] == [(1, None), (2, setup["interviewer"].id)]
    [entry] = await AuditEntry.objects().where((AuditEntry.tenant == tenant.id)
                                               & (AuditEntry.action == "speech.transcript_edited"))
    assert entry.actor == setup["interviewer"].id and entry.target == str(rec.id)
    again = await client.get(f"{base}?saved=2", headers=HTML)
    assert "法人営業" in again.text and "saved as revision 2" in again.text  # the interviewer reads English
    refused = await client.post(f"{base}/edit", headers=HTML, follow_redirects=False, data={
        "segment-0": "五年間、\x00法人営業を\x1b担当しました。", "segment-1": "紹介の契約が<増えました>。",
        "revision": "2", "_csrf_token": form_csrf(page.text)})
    assert refused.status_code == 400 and "control character" in refused.text
    assert await TranscriptRecord.count().where(TranscriptRecord.recording_id == rec.id) == 2  # nothing stored

    # The interview page's players get the captions through the panel's script.
    interview_page = await client.get(f"/t/{tenant.slug}/interviews/{setup['interview'].id}", headers=HTML)
    assert f'id="recording-{rec.id}"' in interview_page.text
    assert f'data-captions-src="{base}/captions.vtt"' in interview_page.text


def saved_as(disposition: str) -> tuple[str, str]:
    """(disposition type, file name) as an RFC 6266 client reads the header: `filename*` (RFC 5987) wins."""
    kind = disposition.split(";")[0].strip()
    extended = re.search(r"filename\*=UTF-8''([^;\s]+)", disposition, re.I)
    plain = re.search(r'filename="([^"]*)"', disposition)
    return kind, unquote(extended.group(1)) if extended else plain.group(1)


async def test_downloads_have_one_charset_and_keep_a_japanese_file_name(speech, app, client, make_tenant, make_user,
                                                                        storage, tmp_path):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user, kind="self")
    rec = await add_recording(setup["scope"], storage, tenant, setup["interview"],
                              make_video(tmp_path / "山田花子の自己紹介.mp4"))
    await store_transcript(setup["scope"], rec.id, Transcript("ja", "faster-whisper:base", SEGMENTS))
    await login(client, tenant, setup["interviewer"])
    page = await client.get(f"/t/{tenant.slug}/speech/recordings/{rec.id}", headers=HTML)
    links = dict((label, href) for href, label in re.findall(r'<a href="([^"]+)" download>([^<]+)</a>', page.text))
    [track] = re.findall(r'<track [^>]*src="([^"]+)"', page.text)

    downloads = {links["Download as text"]: ("text/plain; charset=utf-8", "山田花子の自己紹介.txt"),
                 links["Download as WebVTT"]: ("text/vtt; charset=utf-8", "山田花子の自己紹介.vtt")}
    for url, (media_type, filename) in downloads.items():
        response = await client.get(url)
        assert response.status_code == 200 and response.headers["content-type"] == media_type, url
        assert saved_as(response.headers["content-disposition"]) == ("attachment", filename), url
    captions = await client.get(track)  # the player's captions are read in place, not saved
    assert captions.headers["content-type"] == "text/vtt; charset=utf-8"
    assert saved_as(captions.headers["content-disposition"]) == ("inline", "山田花子の自己紹介.vtt")
    script = await client.get(f"/t/{tenant.slug}/speech/speech.js")
    assert script.status_code == 200 and script.headers["content-type"] == "text/javascript; charset=utf-8"


async def test_an_emptied_sentence_is_refused_and_only_the_remove_box_deletes_one(speech, app, client, make_tenant,
                                                                                  make_user, storage, tmp_path):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user, kind="self")
    rec = await add_recording(setup["scope"], storage, tenant, setup["interview"], make_video(tmp_path / "v.mp4"))
    await store_transcript(setup["scope"], rec.id, Transcript("ja", "faster-whisper:base", SEGMENTS))
    base = f"/t/{tenant.slug}/speech/recordings/{rec.id}"
    await login(client, tenant, setup["admin"])  # reads Japanese
    page = await client.get(base, headers=HTML)
    assert 'name="remove-1"' in page.text and "この文を削除" in page.text

    emptied = await client.post(f"{base}/edit", headers=HTML, follow_redirects=False, data={
        "segment-0": SEGMENTS[0].text, "segment-1": " \u3000 ", "revision": "1", "_csrf_token": form_csrf(page.text)})
    assert emptied.status_code == 400
    assert await TranscriptRecord.count().where(TranscriptRecord.recording_id == rec.id) == 1  # nothing stored
    assert (await transcript_of(setup["scope"], rec.id)).segments == SEGMENTS
    assert "空欄の文があります" in emptied.text and "保存していません" in emptied.text

    removed = await client.post(f"{base}/edit", headers=HTML, follow_redirects=False, data={
        "segment-0": SEGMENTS[0].text, "segment-1": "", "remove-1": "1", "revision": "1",
        "_csrf_token": form_csrf(page.text)})
    assert removed.status_code == 303 and removed.headers["location"].endswith("?saved=2")
    assert (await transcript_of(setup["scope"], rec.id)).segments == SEGMENTS[:1]
    [entry] = await AuditEntry.objects().where((AuditEntry.tenant == tenant.id)
                                               & (AuditEntry.action == "speech.transcript_edited"))
    assert json_value(entry.detail) == {"revision": 2, "segments_changed": 1}


async def test_the_transcript_page_is_for_the_interviews_staff_only(speech, app, client, make_tenant, make_user,
                                                                    storage, tmp_path):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user, kind="self")
    rec = await add_recording(setup["scope"], storage, tenant, setup["interview"], make_video(tmp_path / "v.mp4"))
    await store_transcript(setup["scope"], rec.id, Transcript("ja", "test", SEGMENTS))
    other_interviewer = await make_user(tenant, "interviewer")
    other = await make_tenant()
    await login(client, tenant, other_interviewer)
    assert (await client.get(f"/t/{tenant.slug}/speech/recordings/{rec.id}", headers=HTML)).status_code == 404
    assert (await client.get(f"/t/{tenant.slug}/speech/recordings/{rec.id}/captions.vtt")).status_code == 404
    await login(client, other, await make_user(other, "admin"))
    assert (await client.get(f"/t/{other.slug}/speech/recordings/{rec.id}", headers=HTML)).status_code == 404


def api(client) -> dict[str, str]:
    return {"x-csrftoken": client.cookies["csrftoken"], "accept": "application/json"}


async def test_a_browser_transcript_of_the_interviewees_own_recording(speech, app, client, make_tenant, make_user,
                                                                      storage, tmp_path):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user, kind="self")
    interviewee = setup["interviewee"]
    rec = await add_recording(setup["scope"], storage, tenant, setup["interview"], make_video(tmp_path / "v.mp4"),
                              uploaded_by=interviewee.id)
    url = f"/t/{tenant.slug}/speech/recordings/{rec.id}/browser-transcript"
    await User.update({User.password_hash: hash_password(PASSWORD)}).where(User.id == interviewee.id)
    await login(client, tenant, interviewee)

    bad = await client.post(url, headers=api(client), json={"results": [{"start": 2, "end": 1, "transcript": "x"}]})
    assert bad.status_code == 400 and "時刻が前後" in bad.json()["detail"]
    not_json = await client.post(url, headers={**api(client), "content-type": "application/json"}, content=b"{")
    assert not_json.status_code == 400
    good = await client.post(url, headers=api(client), json={"language": "ja", "results": [
        {"start": 0.0, "end": 2.0, "transcript": "五年間営業をしました", "confidence": 0.9}]})
    assert good.status_code == 201, good.text
    stored = await transcript_of(setup["scope"], rec.id)
    assert stored.source == "browser" and stored.segments[0].confidence == 0.45

    # Another user's recording, another tenant's: not found.
    theirs = await add_recording(setup["scope"], storage, tenant, setup["interview"], make_video(tmp_path / "w.mp4"),
                                 uploaded_by=setup["interviewer"].id)
    assert (await client.post(f"/t/{tenant.slug}/speech/recordings/{theirs.id}/browser-transcript",
                              headers=api(client), json={"results": []})).status_code == 404
    other = await make_tenant()
    await login(client, other, await make_user(other, "interviewee"))
    assert (await client.post(f"/t/{other.slug}/speech/recordings/{rec.id}/browser-transcript",
                              headers=api(client), json={"results": []})).status_code == 404


@pytest.mark.speech_model
async def test_a_demo_clip_gets_a_spoken_answer_that_is_transcribed(speech, app, client, make_tenant, tmp_path):
    import av

    from plugins.speech.demo import demo_answer
    from plugins.speech.whisper_backend import WhisperRecogniser

    tenant = await make_tenant()
    path = make_video(tmp_path / "interview-01.mp4", seconds=10.0)
    answered = await speech.first_for_tenant("mendan_demo_speech", tenant_id=tenant.id, path=path, seconds=10.0,
                                             language="ja")

    assert answered == ("speech", True)
    with av.open(str(path)) as container:
        assert container.streams.audio and container.streams.video
        frames = sum(1 for _ in container.decode(video=0))
    assert frames == 100  # the video is kept whole
    transcript = WhisperRecogniser().transcribe(path, "ja", lambda *_: None)
    _samples, _rate, said = demo_answer(10.0, seed=zlib.crc32(path.name.encode()))
    # Whole sentences, none cut off at the clip's end: the transcript is what was said.
    assert said and testing.character_error_rate("".join(said), transcript.text()) <= 0.15
