"""After the interview ends, the camera and microphone stop and the interviewee sees a thank-you
page with the next steps (issue 20), in Debian's chromium with the fake devices."""

from __future__ import annotations

import json

import pytest

from tests.interview_fixtures import make_interview
from tests.test_live_interview import live, server  # noqa: F401  (fixtures)
from tests.test_live_interview_browser import interviewee_joins, interviewer_joins, record_for, stop_and_end

pytestmark = pytest.mark.browser

# Every track the page obtains, and their states as the page is left (kept in the tab's
# sessionStorage so the next page can read them): "ended" only when the page stopped them itself.
TRACK_WATCH = """(() => {
  const tracks = [];
  const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    const stream = await original(constraints);
    tracks.push(...stream.getTracks());
    return stream;
  };
  window.addEventListener("pagehide", () => {
    if (tracks.length) sessionStorage.setItem("mendan-tracks", JSON.stringify(tracks.map((t) => t.readyState)));
  });
})();"""


def watch_tracks(browser) -> None:
    """Every context made from now on watches its page's tracks."""
    new_context = browser.new_context

    async def watched(*args, **kwargs):
        context = await new_context(*args, **kwargs)
        await context.add_init_script(TRACK_WATCH)
        return context

    browser.new_context = watched


async def track_states(page) -> list[str]:
    return json.loads(await page.evaluate("() => sessionStorage.getItem('mendan-tracks') || '[]'"))


async def test_the_live_interviews_end_stops_both_cameras_and_thanks_the_interviewee(server, browser, make_tenant,
                                                                                     make_user):
    watch_tracks(browser)
    base = f"http://{server}"
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user)
    interview = setup["interview"]
    room = f"/t/{tenant.slug}/live_interview/{interview.id}"
    host_context, host_page = await interviewer_joins(browser, base, tenant, setup["interviewer"], room)
    guest_context, guest_page = await interviewee_joins(browser, base, tenant, setup["interviewee"], room)
    await record_for(host_page, guest_page, 0)
    await guest_page.wait_for_function("() => window.liveRoom.segments[0].base > 0", timeout=30000)
    assert "live" in await guest_page.evaluate("() => window.liveRoom.stream.getTracks().map((t) => t.readyState)")

    await stop_and_end(host_page, guest_page, base, tenant, interview)
    await guest_page.wait_for_url(f"{base}/t/{tenant.slug}/interviews/{interview.id}/thanks", timeout=20000)
    assert await guest_page.is_visible("#thanks")
    assert tenant.name in await guest_page.text_content("#next-steps")
    guest_tracks = await track_states(guest_page)
    assert len(guest_tracks) >= 2 and set(guest_tracks) == {"ended"}, guest_tracks
    host_tracks = await track_states(host_page)
    assert len(host_tracks) >= 2 and set(host_tracks) == {"ended"}, host_tracks
