"""In Debian's chromium: an admin schedules an interview by typing part of a Japanese name in the
people pickers (static/people_picker.js, under the page's Content-Security-Policy)."""

from __future__ import annotations

import pytest

from core.interviews.schedule import experts_of
from core.interviews.tables import Interview
from core.tenancy import TenantScope
from tests.conftest import PASSWORD
from tests.interview_fixtures import make_interview

pytestmark = pytest.mark.browser


async def test_an_interview_is_scheduled_by_typing_part_of_a_name(live_server, browser, make_tenant, make_user):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user, experts=1)
    hanako = await make_user(tenant, "interviewee", email="hanako@example.jp", display_name="山田 花子")
    await make_user(tenant, "interviewee", email="taro@example.jp", display_name="山田 太郎")
    expert = setup["experts"][0]
    context = await browser.new_context(locale="ja-JP")
    page = await context.new_page()
    await page.goto(f"{live_server}/t/{tenant.slug}/login")
    await page.fill("#email", setup["admin"].email)
    await page.fill("#password", PASSWORD)
    await page.click("form.card button[type=submit]")
    await page.wait_for_load_state()
    await page.goto(f"{live_server}/t/{tenant.slug}/interviews/new")

    await page.locator("#interviewee_typed").press_sequentially("花子")
    option = page.locator(".picker-results [role=option]", has_text="hanako@example.jp")
    await option.wait_for()
    assert await page.locator(".picker-results [role=option]").count() == 1  # 太郎 does not match
    await option.click()
    assert await page.input_value("#interviewee_typed") == "山田 花子 <hanako@example.jp>"
    assert await page.input_value("input[type=hidden][name=interviewee]") == str(hanako.id)

    await page.locator("#interviewer_typed").press_sequentially(setup["interviewer"].email[:12])
    await page.locator(".picker-results [role=option]", has_text=setup["interviewer"].email).click()
    await page.locator("#experts_typed").press_sequentially(expert.email[:9])
    await page.locator(".picker-results [role=option]", has_text=expert.email).click()
    await page.locator(".picker-chosen li", has_text=expert.email).wait_for()

    await page.fill("#starts_at", "2027-03-01T10:00")
    await page.click("form.card button[type=submit]")
    await page.wait_for_url(f"{live_server}/t/{tenant.slug}/interviews/*-*")
    interview = await TenantScope(tenant.id).get(Interview, page.url.rsplit("/", 1)[1])
    assert interview.interviewee == hanako.id and interview.interviewer == setup["interviewer"].id
    assert experts_of(interview) == [str(expert.id)]
    assert "山田 花子" in await page.content()
