"""Personal links (issue 19, 5): a cancelled, ended or expired interview's link shows a clear
page with the tenant's contact and signs nobody in; the room is open only in a window around
the slot (settings: 30 minutes before to 2 hours after by default)."""

from __future__ import annotations

from datetime import timedelta, timezone

import pytest

from core.interviews.people import issue_join_link
from core.interviews.schedule import cancel
from core.interviews.senders import set_sender
from core.interviews.tables import Interview
from core.mail_templates import contact_of, set_contact
from tenants.tables import TenantProfile
from tests.conftest import HTML
from tests.interview_fixtures import consent, make_interview, open_link

UTC = timezone.utc


async def _open(client, tenant, setup, accept=HTML):
    token = await issue_join_link(setup["scope"], setup["interviewee"])
    return await open_link(client, f"/t/{tenant.slug}/join/{token}?interview={setup['interview'].id}", accept)


async def _signed_in(client, tenant) -> bool:
    response = await client.get(f"/t/{tenant.slug}/interviews/", headers=HTML, follow_redirects=False)
    return response.status_code == 200


async def test_a_cancelled_interviews_link_shows_the_contact_and_signs_nobody_in(client, make_tenant, make_user,
                                                                                storage):
    tenant = await make_tenant(name="面談商事")
    setup = await make_interview(tenant, make_user)
    await set_sender(setup["scope"], storage, tenant, "saiyou@mendan-shoji.example")
    await consent(tenant, setup["interviewee"])
    await cancel(setup["scope"], setup["interview"])
    page = await _open(client, tenant, setup)
    assert page.status_code == 410 and page.headers["content-type"].startswith("text/html")
    assert "中止" in page.text and "saiyou@mendan-shoji.example" in page.text and "面談商事" in page.text
    assert not await _signed_in(client, tenant)
    api = await _open(client, tenant, setup, accept={"accept": "application/json"})
    assert api.status_code == 410 and api.headers["content-type"].startswith("application/problem+json")


async def test_without_a_sender_the_closed_page_names_the_profiles_contact_or_the_admins_text(
        client, make_tenant, make_user):
    """A tenant that sends from the service's own address: the page names the contact of the
    tenant's profile, and the text an admin set for mails once there is one (as the mails do)."""
    tenant = await make_tenant(name="面談商事")
    setup = await make_interview(tenant, make_user)
    await cancel(setup["scope"], setup["interview"])
    await setup["scope"].add(TenantProfile(contact_name="人事部", contact_email="jinji@mendan-shoji.example"))
    page = await _open(client, tenant, setup)
    assert page.status_code == 410 and "人事部 &lt;jinji@mendan-shoji.example&gt;" in page.text
    # The mails' {{ contact }} too, rather than the no-reply sender.
    assert await contact_of(setup["scope"], "no-reply@mendan.example") == "人事部 <jinji@mendan-shoji.example>"
    await set_contact(setup["scope"], "採用担当 佐藤\n03-1234-5678")
    page = await _open(client, tenant, setup)
    assert "採用担当 佐藤\n03-1234-5678" in page.text and "jinji@" not in page.text


@pytest.mark.parametrize("state", ["evaluated", "analysed"])
async def test_an_ended_interviews_link_leads_nowhere(client, make_tenant, make_user, state):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user)
    await Interview.update({Interview.state: state}).where(Interview.id == setup["interview"].id)
    page = await _open(client, tenant, setup)
    assert page.status_code == 410 and "終了" in page.text
    assert not await _signed_in(client, tenant)


async def test_an_expired_link_shows_the_same_clear_page(client, make_tenant, make_user):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user)
    token = await issue_join_link(setup["scope"], setup["interviewee"], lifetime=timedelta(seconds=-1))
    page = await client.get(f"/t/{tenant.slug}/join/{token}?interview={setup['interview'].id}", headers=HTML)
    assert page.status_code == 410 and "有効期限" in page.text and tenant.name in page.text


@pytest.mark.parametrize("offset, status", [
    (timedelta(minutes=-31), 403),   # half an hour and a minute before the slot: not open yet
    (timedelta(minutes=-29), 302),
    (timedelta(hours=3) - timedelta(minutes=1), 302),  # a 60-minute slot, 2 hours after its end
    (timedelta(hours=3, minutes=1), 410),
])
async def test_the_room_is_open_only_in_the_window_around_the_slot(client, make_tenant, make_user, monkeypatch,
                                                                   offset, status):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user)
    starts = setup["interview"].starts_at
    monkeypatch.setattr("core.hours.now", lambda: starts + offset)
    response = await _open(client, tenant, setup)
    assert response.status_code == status, response.text
    if status == 403:
        local = (starts - timedelta(minutes=30)).astimezone(timezone(timedelta(hours=9)))
        assert local.strftime("%Y-%m-%d %H:%M") in response.text
    assert await _signed_in(client, tenant) == (status == 302)


async def test_a_signed_in_interviewee_cannot_reach_the_upload_of_a_cancelled_interview(client, make_tenant,
                                                                                       make_user):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user)
    await consent(tenant, setup["interviewee"])
    assert (await _open(client, tenant, setup)).status_code == 302
    await cancel(setup["scope"], setup["interview"])
    record = await client.get(f"/t/{tenant.slug}/interviews/{setup['interview'].id}/record", headers=HTML)
    assert record.status_code == 410 and "<form" not in record.text.split("<main", 1)[-1]
    upload = await client.post(f"/t/{tenant.slug}/interviews/{setup['interview'].id}/uploads",
                               json={"size": 10, "filename": "a.webm", "content_type": "video/webm"},
                               headers={"x-csrftoken": client.cookies["csrftoken"], "accept": "application/json"})
    assert upload.status_code == 409 and upload.headers["content-type"].startswith("application/problem+json")


@pytest.fixture
def live(host):
    from plugins.live_interview import plugin as live_plugin

    host.register(live_plugin, key="live_interview")


async def test_the_live_room_of_a_cancelled_interview_is_closed_to_the_interviewee(live, client, make_tenant,
                                                                                  make_user):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user)
    await consent(tenant, setup["interviewee"])
    assert (await _open(client, tenant, setup)).status_code == 302
    room = f"/t/{tenant.slug}/live_interview/{setup['interview'].id}"
    assert (await client.get(room, headers=HTML)).status_code == 200
    await cancel(setup["scope"], setup["interview"])
    closed = await client.get(room, headers=HTML)
    assert closed.status_code == 410 and "中止" in closed.text


async def test_opening_a_link_signs_nobody_in_until_its_page_is_sent_and_then_under_a_new_session(
        client, make_tenant, make_user):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user)
    token = await issue_join_link(setup["scope"], setup["interviewee"])
    url = f"/t/{tenant.slug}/join/{token}?interview={setup['interview'].id}"
    shown = await client.get(url, headers=HTML, follow_redirects=False)
    assert shown.status_code == 200 and 'id="join-button"' in shown.text and tenant.name in shown.text
    assert not await _signed_in(client, tenant)  # a GET (any site can send one) changes nothing
    # No sign-in by a form posted from elsewhere: it lacks the page's CSRF token.
    forged = await client.post(url.split("?")[0], data={"interview": str(setup["interview"].id)},
                               headers=HTML, follow_redirects=False)
    assert forged.status_code == 403 and not await _signed_in(client, tenant)
    # A session id planted in the browser beforehand does not survive the sign-in.
    client.cookies.delete("session")
    client.cookies.set("session", "planted-by-someone-else", domain="testserver.local")
    planted = client.cookies.get("session")
    answer = await open_link(client, url)
    assert answer.status_code == 302 and answer.headers["location"].startswith(
        f"/t/{tenant.slug}/interviews/{setup['interview'].id}/consent")
    assert client.cookies.get("session") not in (None, planted)
    assert await _signed_in(client, tenant)
