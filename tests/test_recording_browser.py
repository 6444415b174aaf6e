"""In Debian's chromium: an interviewee opens the personal link, accepts the consent text and
uploads a real video while the progress bar moves; leaving mid-upload is warned against."""

from __future__ import annotations

import asyncio

import pytest

from core.interviews.people import issue_join_link
from core.interviews.tables import Recording
from core.tenancy import TenantScope
from tests.interview_fixtures import make_interview
from tests.video_files import make_video

pytestmark = pytest.mark.browser


async def test_interviewee_consents_and_uploads_a_video_while_the_progress_bar_moves(
        live_server, browser, make_tenant, make_user, storage, tmp_path):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user, kind="self")
    video = make_video(tmp_path / "answer.mp4", seconds=2, size=(640, 480), noise=True)
    token = await issue_join_link(TenantScope(tenant.id), setup["interviewee"])

    page = await browser.new_page(locale="ja-JP")

    async def slow_chunks(route):
        # Loopback is too fast to watch: hold each chunk briefly so the bar is seen moving.
        await asyncio.sleep(0.15)
        await route.continue_()

    await page.route("**/uploads/*", slow_chunks)
    await page.goto(f"{live_server}/t/{tenant.slug}/join/{token}?interview={setup['interview'].id}")
    await page.click("#join-button")
    await page.wait_for_url("**/consent")
    assert "カメラとマイク" in await page.inner_text("#consent-text")
    assert await page.locator("#upload-form").count() == 0  # nothing to record with before consent
    await page.check("input[name=agree]")
    await page.click("button[type=submit]:has-text('同意する')")
    await page.wait_for_url("**/record")

    await page.evaluate("""() => {
        window.progressSeen = [];
        const bar = document.getElementById('upload-progress');
        window.progressTimer = setInterval(() => {
            const v = bar.value;
            if (window.progressSeen[window.progressSeen.length - 1] !== v) window.progressSeen.push(v);
        }, 5);
    }""")
    await page.set_input_files("#video-file", str(video))
    await page.click("#upload-button")
    await page.wait_for_function("() => document.getElementById('upload-progress').value > 0")
    leaving = await page.evaluate("""() => {
        const e = new Event('beforeunload', {cancelable: true});
        window.dispatchEvent(e);
        return e.defaultPrevented;
    }""")
    assert leaving, "leaving the page mid-upload must be warned against"
    await page.wait_for_selector("#upload-form[data-state]", timeout=60_000)
    assert await page.get_attribute("#upload-form", "data-state") == "done", await page.inner_text("#upload-status")
    assert await page.inner_text("#upload-status") == "録画を受け付けました。"
    seen = await page.evaluate("window.progressSeen")
    steps = [v for v in seen if 0 < v < 100]
    assert len(steps) >= 5 and steps == sorted(steps), seen
    assert seen[-1] == 100
    after = await page.evaluate("""() => {
        const e = new Event('beforeunload', {cancelable: true});
        window.dispatchEvent(e);
        return e.defaultPrevented;
    }""")
    assert not after

    rec = await TenantScope(tenant.id).objects(Recording).where(Recording.interview == setup["interview"].id).first()
    assert rec.state == "complete" and rec.container == "mp4"
    assert b"".join(storage.read(storage.tenant_key(tenant), rec.blob_key)) == video.read_bytes()
