"""In Debian's chromium: an interviewee opens the personal link, accepts the consent text and
uploads a real video while the progress bar moves; leaving mid-upload is warned against."""

from __future__ import annotations

import asyncio
import shutil
import socket
import threading

import pytest
import uvicorn

from core.interviews.people import issue_join_link
from core.interviews.tables import Recording
from core.tenancy import TenantScope
from tests.interview_fixtures import make_interview
from tests.video_files import make_video

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
]


@pytest.fixture
def server(app):
    """The app served by uvicorn on a free port, in a thread with its own event loop."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    while not uv.started:
        threading.Event().wait(0.05)
    yield f"http://127.0.0.1:{port}"
    uv.should_exit = True
    thread.join(10)


async def test_interviewee_consents_and_uploads_a_video_while_the_progress_bar_moves(
        server, make_tenant, make_user, storage, tmp_path):
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.async_api import async_playwright

    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user, kind="self")
    video = make_video(tmp_path / "answer.mp4", seconds=2, size=(640, 480), noise=True)
    token = await issue_join_link(TenantScope(tenant.id), setup["interviewee"])

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = await browser.new_page(locale="ja-JP")

        async def slow_chunks(route):
            # Loopback is too fast to watch: hold each chunk briefly so the bar is seen moving.
            await asyncio.sleep(0.15)
            await route.continue_()

        await page.route("**/uploads/*", slow_chunks)
        await page.goto(f"{server}/t/{tenant.slug}/join/{token}?interview={setup['interview'].id}")
        assert page.url.endswith("/consent")
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
        await browser.close()

    rec = await TenantScope(tenant.id).objects(Recording).where(Recording.interview == setup["interview"].id).first()
    assert rec.state == "complete" and rec.container == "mp4"
    assert b"".join(storage.read(storage.tenant_key(tenant), rec.blob_key)) == video.read_bytes()
