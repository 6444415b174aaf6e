"""The transcript page and the summary panel in Debian's chromium: the sentence being played is
highlighted, search filters sentences, and a summary sentence's time plays the recording from there."""

from __future__ import annotations

from datetime import datetime, timezone
from uuid import uuid4

import pytest

from core.interviews.api import Recording, store_transcript
from core.transcripts import Segment, Transcript
from plugins.speech import plugin as speech_plugin
from plugins.speech import testing
from plugins.summary import plugin as summary_plugin
from tests.conftest import PASSWORD
from tests.interview_fixtures import make_interview
from tests.test_summary import FIGURES_JA, ORDER_JA

pytestmark = pytest.mark.browser


@pytest.fixture
def plugins(host):
    host.register(speech_plugin, key="speech")
    host.register(summary_plugin, key="summary")


async def test_transcript_follows_the_video_and_summary_sentences_play_it(plugins, live_server, browser, make_tenant,
                                                                          make_user, storage, tmp_path):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user, kind="self")
    samples, rate = testing.japanese_speech(ORDER_JA[:3])
    path = testing.write_audio(tmp_path / "answer.webm", samples, rate, video=True)
    rec_id = uuid4()
    key = f"recordings/{setup['interview'].id}/{rec_id}.webm"
    storage.write_file(storage.tenant_key(tenant), key, path)
    await setup["scope"].add(Recording(
        id=rec_id, interview=setup["interview"].id, container="webm", size=path.stat().st_size, sha256="0" * 64,
        state="complete", blob_key=key, filename="answer.webm", completed_at=datetime.now(timezone.utc)))
    segments = tuple(Segment(i * 4.0, i * 4.0 + 3.5, s, 0.9) for i, s in enumerate(ORDER_JA))
    await store_transcript(setup["scope"], rec_id, Transcript("ja", "test", segments))

    context = await browser.new_context(locale="ja-JP")
    page = await context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(f"{live_server}/t/{tenant.slug}/login")
    await page.fill("#email", setup["admin"].email)
    await page.fill("#password", PASSWORD)
    await page.click("form.card button[type=submit]")
    await page.wait_for_load_state()

    await page.goto(f"{live_server}/t/{tenant.slug}/speech/recordings/{rec_id}")
    await page.click("#transcript li:nth-child(2) button.seek")  # plays from 4 s
    current = await page.wait_for_selector("#transcript li.current", timeout=30000)
    assert ORDER_JA[1] in await current.inner_text()
    # ... and it is seen to be: its background is not the other sentences'.
    backgrounds = await page.evaluate(
        "Array.from(document.querySelectorAll('#transcript li')).map(li => getComputedStyle(li).backgroundColor)")
    assert backgrounds[1] != backgrounds[0] and backgrounds[1] not in ("rgba(0, 0, 0, 0)", "transparent")
    await page.evaluate(f"document.getElementById('recording-{rec_id}').pause()")
    await page.click("a[hreflang=en]")  # the language switch: one hit reads "1 sentence matches."
    await page.wait_for_selector("html[lang=en]")
    await page.wait_for_load_state("load")  # the deferred script listens to the search box from then on
    await page.fill("#transcript-search", FIGURES_JA[0][:6])
    await page.wait_for_selector("#transcript li.match")
    visible = await page.locator("#transcript li:not([hidden])").all_inner_texts()
    assert len(visible) == 1 and FIGURES_JA[0] in visible[0]
    assert await page.inner_text("#transcript-hits") == "1 sentence matches."
    assert await page.evaluate("document.querySelector('video track').track.mode") in ("showing", "hidden")

    await page.goto(f"{live_server}/t/{tenant.slug}/interviews/{setup['interview'].id}")
    await page.wait_for_selector(".summary[data-loaded=true] button.summary-play", timeout=30000)
    button = page.locator(".summary button.summary-play", has_text="00:08").first
    await button.click()
    await page.wait_for_function(
        f"() => document.getElementById('recording-{rec_id}').currentTime >= 8", timeout=30000)
    assert await page.evaluate(f"document.querySelectorAll('#recording-{rec_id} track').length") == 1
    assert errors == []
    await context.close()


async def test_the_demo_recording_shows_its_picture_and_an_unplayable_codec_is_explained(
        live_server, browser, make_tenant, make_user, storage, tmp_path):
    """The demo's clip (H.264 + AAC, as `mendan demo` makes it) has a picture in chromium; an
    MPEG-4 Part 2 file has none there, and the page says why and offers the download."""
    from core.media import probe
    from plugins.face_features import plugin as face_features_plugin
    from plugins.speech.demo import add_speech
    from tests.video_files import make_video

    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user)
    demo = tmp_path / "interview-01.mp4"
    face_features_plugin.mendan_demo_recording(path=demo, seconds=4.0, presence=0.8, head_movement=0.5, smile=0.5)
    add_speech(demo, 4.0)
    old_camera = make_video(tmp_path / "古いカメラ.mp4", seconds=2, size=(320, 240))
    ids = {}
    for path in (demo, old_camera):
        rec_id = ids[path.name] = uuid4()
        key = f"recordings/{setup['interview'].id}/{rec_id}.mp4"
        storage.write_file(storage.tenant_key(tenant), key, path)
        await setup["scope"].add(Recording(
            id=rec_id, interview=setup["interview"].id, container="mp4", size=path.stat().st_size,
            sha256="0" * 64, state="complete", blob_key=key, filename=path.name, video_codec=probe(path).codec,
            completed_at=datetime.now(timezone.utc)))

    context = await browser.new_context(locale="ja-JP")
    page = await context.new_page()
    await page.goto(f"{live_server}/t/{tenant.slug}/login")
    await page.fill("#email", setup["admin"].email)
    await page.fill("#password", PASSWORD)
    await page.click("form.card button[type=submit]")
    await page.wait_for_load_state()
    await page.goto(f"{live_server}/t/{tenant.slug}/interviews/{setup['interview'].id}")
    shown = f"document.getElementById('recording-{ids[demo.name]}')"
    await page.wait_for_function(f"() => {shown}.readyState >= 1 || {shown}.error", timeout=30000)
    assert await page.evaluate(f"[{shown}.videoWidth, {shown}.videoHeight]") == [640, 480]
    assert await page.locator(f"#unplayable-{ids[demo.name]}").count() == 0
    old = f"document.getElementById('recording-{ids[old_camera.name]}')"
    await page.wait_for_function(f"() => {old}.readyState >= 1 || {old}.error", timeout=30000)
    assert await page.evaluate(f"{old}.videoWidth") == 0
    notice = page.locator(f"#unplayable-{ids[old_camera.name]}")
    assert "コーデック（mpeg4）を再生できない" in await notice.inner_text()
    assert await notice.locator("a[download]").get_attribute("download") == old_camera.name
    await context.close()
