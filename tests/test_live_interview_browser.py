"""The live room in Debian's chromium with a fake camera and microphone (issue 8): two people
see each other, the interviewee's recording arrives whole while it is made, a page that
dies mid-interview loses nothing it had already sent, and one that dies for good cannot stop
the interviewer from ending the interview (issue 21). Screenshots go to test-artifacts/."""

from __future__ import annotations

import asyncio
import dataclasses
import html
from pathlib import Path

import av
import pytest

from core.db.tables import Job, TranscriptRecord
from core.features import features_of, quality_problem
from core.interviews.api import QuestionSetVersion, items_of, save_evaluation
from core.interviews.people import issue_join_link
from core.interviews.tables import Interview, Recording
from core.storage import BlobStore
from core.tables import json_value
from core.tenancy import TenantScope
from plugins.ai_model.service import training_set
from plugins.live_interview.tables import RoomEvent
from tests.conftest import PASSWORD, eventually
from tests.interview_fixtures import make_interview
from tests.test_face_features import models  # noqa: F401  (fixture)
from tests.test_live_interview import live, server  # noqa: F401  (fixtures)
from tests.test_speech import whisper_models  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(scope="module")
def face_video(tmp_path_factory) -> Path:
    """What both fake cameras show: the test face, so the recording can be analysed."""
    from tests.media_fixtures import face_y4m

    return face_y4m(tmp_path_factory.mktemp("camera") / "face.y4m", fps=15, size=(320, 240))


@pytest.fixture
async def browser(face_video):
    """Debian's chromium as in conftest, its fake camera fed the face (never a downloaded browser)."""
    import shutil

    from tests.conftest import CHROMIUM_ARGS

    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        launched = await pw.chromium.launch(
            executable_path=executable, args=[*CHROMIUM_ARGS, f"--use-file-for-fake-video-capture={face_video}"])
        yield launched
        await launched.close()


@pytest.fixture
def face(host, models, monkeypatch):
    """face_features installed, so the recording is analysed as in production."""
    from plugins.face_features import plugin as face_plugin

    monkeypatch.setenv("MENDAN_MODELS_DIR", str(models.parent))
    host.register(face_plugin, key="face_features")


@pytest.fixture
def speech(host, whisper_models):
    """speech installed, so the interviewee's recording is transcribed as in production."""
    from plugins.speech import plugin as speech_plugin

    host.register(speech_plugin, key="speech")


async def transcription_finished(tenant_id, recording_id) -> Job | None:
    """The transcription job of this recording once it is done or failed, else None."""
    jobs = await Job.objects().where((Job.tenant == tenant_id) & (Job.actor == "speech.transcribe"))
    mine = [j for j in jobs if json_value(j.args).get("recording_id") == str(recording_id)]
    return next((j for j in mine if j.state in ("done", "failed")), None)

async def new_page(browser, who: str):
    """A page in its own browser context; its console and errors are printed (shown when a test fails)."""
    context = await browser.new_context(locale="ja-JP")
    page = await context.new_page()
    page.on("console", lambda m: print(f"[{who} console] {m.text}"))
    page.on("response", lambda r: print(f"[{who}] {r.status} {r.url}") if r.status >= 400 else None)
    page.on("pageerror", lambda e: print(f"[{who} error] {e}"))
    return context, page


async def interviewer_joins(browser, base: str, tenant, user, room: str):
    context, page = await new_page(browser, "interviewer")
    await page.goto(f"{base}/t/{tenant.slug}/login")
    await page.fill("#email", user.email)
    await page.fill("#password", PASSWORD)
    await page.click("form.card button[type=submit]")
    await page.wait_for_load_state()
    await page.goto(base + room)
    await enter(page)
    return context, page


async def interviewee_joins(browser, base: str, tenant, user, room: str):
    """Through the personal link; the consent screen comes first when consent is missing."""
    context, page = await new_page(browser, "interviewee")
    token = await issue_join_link(TenantScope(tenant.id), user)
    await page.goto(f"{base}/t/{tenant.slug}/join/{token}?next_page={room}")
    async with page.expect_navigation():
        await page.click("#join-button")
    if "/consent" in page.url:
        await page.check("input[name=agree]")
        await page.click("form[action$='/consent'] button[type=submit]")
        await page.wait_for_url(base + room)
    await enter(page)
    return context, page


async def enter(page) -> None:
    """The camera/microphone check passes with the fake devices, then into the room."""
    try:
        await page.wait_for_selector("#join-button:not([disabled])", timeout=20000)
    finally:
        print("check page:", page.url, (await page.content())[:3000])
    assert await page.locator("#camera-select option").count() >= 1
    assert await page.locator("#microphone-select option").count() >= 1
    await page.click("#join-button")


async def sees_video(page) -> None:
    await page.wait_for_function("() => document.getElementById('remote-video').videoWidth > 0", timeout=30000)


def decoded_seconds(store: BlobStore, tenant, rec: Recording) -> float:
    """Decode every video frame of the stored recording; its end is the last frame's time."""
    path = ARTIFACTS / f"{rec.id}.webm"
    with path.open("wb") as out:
        for block in store.read(store.tenant_key(tenant), rec.blob_key):
            out.write(block)
    with av.open(str(path)) as media:
        times = [frame.time for frame in media.decode(video=0)]
    path.unlink()
    assert times, "no video frame decoded"
    return max(times)


async def segments(tenant, interview) -> list[Recording]:
    return await TenantScope(tenant.id).objects(Recording).where(Recording.interview == interview.id).order_by(
        Recording.created_at)


async def record_for(interviewer_page, interviewee_page, seconds: float) -> None:
    await interviewer_page.wait_for_selector("#start-recording:not([disabled])", timeout=20000)
    await interviewer_page.click("#start-recording")
    await interviewee_page.wait_for_function("() => window.liveRoom.recorder !== null", timeout=20000)
    await asyncio.sleep(seconds)


async def stop_and_end(interviewer_page, interviewee_page, base: str, tenant, interview) -> float:
    """Stop, wait for the upload, end; returns the seconds the interviewee's last segment recorded,
    read before the end leads their page to the thank-you page."""
    await interviewer_page.click("#stop-recording")
    await interviewer_page.wait_for_selector("#end-interview:not([disabled])", timeout=60000)
    recorded = await interviewee_page.evaluate("window.liveRoom.segments.at(-1).seconds")
    await interviewer_page.click("#end-interview")
    await interviewer_page.wait_for_url(f"{base}/t/{tenant.slug}/interviews/{interview.id}", timeout=20000)
    return recorded


async def test_two_people_see_each_other_and_the_recording_arrives_whole(face, speech, server, browser,
                                                                          make_tenant, make_user, storage):
    ARTIFACTS.mkdir(exist_ok=True)
    base = f"http://{server}"
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user, experts=1)
    interview = setup["interview"]
    room = f"/t/{tenant.slug}/live_interview/{interview.id}"
    _c1, host_page = await interviewer_joins(browser, base, tenant, setup["interviewer"], room)
    _c2, guest_page = await interviewee_joins(browser, base, tenant, setup["interviewee"], room)
    await sees_video(host_page)
    await sees_video(guest_page)

    # Longer than the quality gate's 10 s, so the interview can join a model's training material.
    await record_for(host_page, guest_page, 11)
    # A network blip: the interviewee's socket drops; it reopens, the call is made again,
    # and the recorder goes on into the same recording.
    await host_page.evaluate("window.callBeforeBlip = window.liveRoom.pc")
    await guest_page.evaluate("window.liveRoom.socket.close()")
    await host_page.wait_for_function(
        "() => window.liveRoom.pc && window.liveRoom.pc !== window.callBeforeBlip"
        " && window.liveRoom.pc.connectionState === 'connected'", timeout=30000)
    await sees_video(host_page)
    # Chunks go on after the blip: wait until one is acknowledged, not for a fixed time.
    await guest_page.wait_for_function("() => window.liveRoom.segments[0].base > 0", timeout=30000)
    await host_page.click("#questions li:first-child .question-timer")
    assert await host_page.locator("#end-interview").is_enabled()  # the interviewer can always end it
    await host_page.screenshot(path=str(ARTIFACTS / "live_interview_interviewer.png"), full_page=True)
    await guest_page.screenshot(path=str(ARTIFACTS / "live_interview_interviewee.png"), full_page=True)
    assert await guest_page.evaluate("window.liveRoom.segments[0].base") > 0  # sent while recording

    assert await guest_page.evaluate("window.liveRoom.segments.length") == 1
    recorded = await stop_and_end(host_page, guest_page, base, tenant, interview)
    # The interviewee is led to the thank-you page.
    await guest_page.wait_for_selector("text=面談は終了しました", timeout=10000)

    [rec] = await segments(tenant, interview)
    assert rec.state == "complete" and rec.size > 0
    assert abs(decoded_seconds(storage, tenant, rec) - recorded) < 1.0
    # Recorded, or analysed already: the recording's analysis jobs may have finished by now.
    assert (await TenantScope(tenant.id).get(Interview, interview.id)).state in ("recorded", "analysed")
    kinds = [e.kind for e in await TenantScope(tenant.id).objects(RoomEvent).where(
        RoomEvent.interview == interview.id)]
    for kind in ("joined", "recording_started", "recording_stopped", "segment_completed", "ended"):
        assert kind in kinds

    # The recording (a MediaRecorder WebM: no duration, no cues) is analysed from its timestamps.
    features = {}
    for _ in range(1200):
        features = await features_of(TenantScope(tenant.id), interview.id)
        if "face_features.presence_ratio" in features:
            break
        await asyncio.sleep(0.1)
    assert features.get("face_features.duration_s") == pytest.approx(rec.duration_s, abs=0.2)
    assert abs(features["face_features.duration_s"] - recorded) < 1.0
    assert features["face_features.presence_ratio"] > 0.8
    assert features["face_features.sampled_frames"] == pytest.approx(5 * rec.duration_s, rel=0.1)
    assert quality_problem(features) is None
    # An expert scores it, and the interview joins the training material of the next model.
    scope = TenantScope(tenant.id)
    held = await scope.get(Interview, interview.id)
    items = items_of(await scope.get(QuestionSetVersion, held.question_set_version))
    await save_evaluation(scope, held, setup["experts"][0], {item.key: "3" for item in items}, "")
    table, _labels, _items, excluded, _versions = await training_set(scope)
    assert str(interview.id) in table.index and str(interview.id) not in excluded

    # The interviewee's recording goes through transcription without error: the fake microphone
    # gives a beep, so the transcript may be empty ("no speech found"), but it is stored.
    job = await eventually(lambda: transcription_finished(tenant.id, rec.id), timeout=600,
                           what="the transcription job of the interviewee's recording")
    assert job.state == "done", job.error
    assert await TranscriptRecord.count().where(TranscriptRecord.recording_id == rec.id) == 1


async def test_a_page_that_dies_mid_interview_keeps_the_chunks_it_had_sent(server, browser, make_tenant, make_user,
                                                                           storage):
    ARTIFACTS.mkdir(exist_ok=True)
    base = f"http://{server}"
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user)
    interview = setup["interview"]
    room = f"/t/{tenant.slug}/live_interview/{interview.id}"
    _c1, host_page = await interviewer_joins(browser, base, tenant, setup["interviewer"], room)
    guest_context, guest_page = await interviewee_joins(browser, base, tenant, setup["interviewee"], room)
    await sees_video(host_page)
    await record_for(host_page, guest_page, 4)
    await guest_page.wait_for_function("() => window.liveRoom.segments[0].base > 0", timeout=20000)
    acknowledged = await guest_page.evaluate("window.liveRoom.segments[0].base")
    await guest_context.close()  # the interviewee's browser dies

    async def stored():
        [row] = await segments(tenant, interview)
        return row if row.upload_offset >= acknowledged else None

    first = await eventually(stored, what="the acknowledged chunks on the server")
    kept = first.upload_offset
    assert first.state == "uploading" and kept > 0

    _c3, guest_page = await interviewee_joins(browser, base, tenant, setup["interviewee"], room)
    await sees_video(host_page)
    await sees_video(guest_page)
    # Recording was on when the page died: the rejoined page records again by itself.
    await guest_page.wait_for_function("() => window.liveRoom.recorder !== null", timeout=20000)
    await asyncio.sleep(3)
    second_seconds = await stop_and_end(host_page, guest_page, base, tenant, interview)

    first, second = await segments(tenant, interview)
    # Every chunk acknowledged before the crash is kept (chunks still in flight then may follow).
    assert first.state == "complete" and first.size >= kept
    assert decoded_seconds(storage, tenant, first) > 1.0
    assert second.state == "complete"
    assert abs(decoded_seconds(storage, tenant, second) - second_seconds) < 1.0
    # Recorded, or analysed already: the recording's analysis jobs may have finished by now.
    assert (await TenantScope(tenant.id).get(Interview, interview.id)).state in ("recorded", "analysed")


async def test_an_interviewee_whose_page_dies_for_good_cannot_stop_the_interviewer_ending(server, app, browser,
                                                                                         make_tenant, make_user):
    app.state.settings = dataclasses.replace(app.state.settings, upload_progress_seconds=2)
    base = f"http://{server}"
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user)
    interview = setup["interview"]
    room = f"/t/{tenant.slug}/live_interview/{interview.id}"
    _c1, host_page = await interviewer_joins(browser, base, tenant, setup["interviewer"], room)
    guest_context, guest_page = await interviewee_joins(browser, base, tenant, setup["interviewee"], room)
    await sees_video(host_page)
    await record_for(host_page, guest_page, 1)
    await guest_page.wait_for_function("() => window.liveRoom.segments[0].base > 0", timeout=20000)
    await guest_context.close()  # the interviewee's browser dies and never comes back

    # End waits while chunks may still come, then offers to end anyway.
    await host_page.click("#end-interview")
    await host_page.wait_for_selector("#end-anyway:not([hidden])", timeout=30000)
    [rec] = await segments(tenant, interview)
    assert rec.state == "uploading"
    await host_page.click("#end-anyway")
    await host_page.wait_for_url(f"{base}/t/{tenant.slug}/interviews/{interview.id}", timeout=20000)
    [rec] = await segments(tenant, interview)
    assert rec.state == "abandoned" and rec.error
    assert rec.error in html.unescape(await host_page.content())
