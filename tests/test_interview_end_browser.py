"""After the interview ends, the camera and microphone stop and the interviewee sees a thank-you
page with the next steps (issue 20), in Debian's chromium with the fake devices."""

from __future__ import annotations

import pytest

from tests.interview_fixtures import make_interview
from tests.track_watch import track_states, watch_tracks
from tests.test_live_interview import live, server  # noqa: F401  (fixtures)
from tests.test_live_interview_browser import interviewee_joins, interviewer_joins, record_for, stop_and_end

pytestmark = pytest.mark.browser


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
