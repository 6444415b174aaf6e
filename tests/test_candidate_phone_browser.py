"""The candidate on a 390x844 phone (issue 20): a compact header, and their interview page's
call to action above the fold. Screenshots go to test-artifacts/."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.interviews.people import issue_join_link
from core.tenancy import TenantScope
from tests.interview_fixtures import consent, make_interview
from tests.test_live_interview import live, server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
PHONE = {"width": 390, "height": 844}


async def test_on_a_phone_the_interviews_call_to_action_is_above_the_fold(server, browser, make_tenant, make_user):
    ARTIFACTS.mkdir(exist_ok=True)
    base = f"http://{server}"
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user, language="ja")
    interview = setup["interview"]
    await consent(tenant, setup["interviewee"])
    context = await browser.new_context(locale="ja-JP", viewport=PHONE, has_touch=True)
    page = await context.new_page()
    token = await issue_join_link(TenantScope(tenant.id), setup["interviewee"])
    await page.goto(f"{base}/t/{tenant.slug}/join/{token}")
    async with page.expect_navigation():
        await page.click("#join-button")
    await page.goto(f"{base}/t/{tenant.slug}/interviews/{interview.id}")

    header = await page.locator("header.top").bounding_box()
    assert header["height"] <= 120, header  # one or two short lines, not a screenful
    button = await page.locator("#go-to-interview").bounding_box()
    assert button is not None and button["y"] >= 0 and button["y"] + button["height"] <= PHONE["height"], button
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await page.screenshot(path=str(ARTIFACTS / "candidate_phone_interview.png"))

    async with page.expect_navigation():
        await page.click("#go-to-interview")
    assert f"/live_interview/{interview.id}" in page.url  # consent given: straight on into the room
    await context.close()
