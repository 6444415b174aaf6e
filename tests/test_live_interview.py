"""The live room (issue 8) without a browser: who may enter, the upload that may not be
cut short, the audit trail, the meters, and the signalling socket's door."""

from __future__ import annotations

import asyncio
import html
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
import websockets
from websockets.asyncio.client import connect

from billing.tables import UsageRow
from core.interviews.people import issue_join_link
from core.interviews.tables import Interview, Recording
from core.tenancy import TenantScope
from plugins.live_interview import plugin as live_interview
from plugins.live_interview.tables import RoomEvent
from tests.conftest import HTML, login
from tests.interview_fixtures import chunk_checksum, consent, join, make_interview, open_link
from tests.video_files import make_video


@pytest.fixture
def live(host):
    host.register(live_interview, key="live_interview")


def api(client) -> dict[str, str]:
    return {"x-csrftoken": client.cookies["csrftoken"], "accept": "application/json"}


async def patch(client, location: str, offset: int, chunk: bytes, length: int | None = None, checksum: bool = True):
    headers = {**api(client), "content-type": "application/offset+octet-stream", "upload-offset": str(offset),
               "tus-resumable": "1.0.0"}
    if checksum:
        headers["upload-checksum"] = chunk_checksum(chunk)
    if length is not None:
        headers["upload-length"] = str(length)
    return await client.patch(location, content=chunk, headers=headers)


async def live_upload(client, tenant, interview) -> str:
    response = await client.post(f"/t/{tenant.slug}/interviews/{interview.id}/uploads", headers=api(client),
                                 json={"defer_length": True, "filename": "live.webm", "content_type": "video/webm"})
    assert response.status_code == 201, response.text
    return response.json()["location"]


async def test_only_the_interviews_interviewer_and_interviewee_enter_its_room(live, client, make_tenant, make_user):
    tenant, other_tenant = await make_tenant(), await make_tenant()
    setup = await make_interview(tenant, make_user)
    interview = setup["interview"]
    room = f"/t/{tenant.slug}/live_interview/{interview.id}"

    await login(client, tenant, setup["interviewer"])
    page = await client.get(room, headers=HTML)
    assert page.status_code == 200
    assert 'data-role="interviewer"' in page.text and "Tell us about yourself." in page.text
    client.cookies.clear()

    await login(client, tenant, setup["admin"])
    assert (await client.get(room, headers=HTML)).status_code == 404
    client.cookies.clear()

    stranger = await make_user(tenant, "interviewee")
    await login(client, tenant, stranger)
    assert (await client.get(room, headers=HTML)).status_code == 404
    client.cookies.clear()

    outsider = await make_user(other_tenant, "interviewer")
    await login(client, other_tenant, outsider)
    assert (await client.get(room, headers=HTML)).status_code == 404


async def test_the_interviewee_consents_first_and_then_continues_to_the_room(live, client, make_tenant, make_user):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user)
    interview = setup["interview"]
    room = f"/t/{tenant.slug}/live_interview/{interview.id}"
    token = await issue_join_link(TenantScope(tenant.id), setup["interviewee"])

    arrived = await open_link(client, f"/t/{tenant.slug}/join/{token}?next_page={room}")
    assert arrived.headers["location"] == room
    to_consent = await client.get(room, headers=HTML, follow_redirects=False)
    assert to_consent.status_code in (302, 303)
    assert to_consent.headers["location"].startswith(f"/t/{tenant.slug}/interviews/{interview.id}/consent?next_page=")
    consent_page = await client.get(to_consent.headers["location"], headers=HTML)
    assert f'name="next_page" value="{room}"' in consent_page.text
    accepted = await client.post(
        f"/t/{tenant.slug}/interviews/{interview.id}/consent", headers=HTML, follow_redirects=False,
        data={"version": "1", "agree": "yes", "next_page": room, "_csrf_token": client.cookies["csrftoken"]})
    assert accepted.headers["location"] == room
    page = await client.get(room, headers=HTML)
    assert page.status_code == 200 and 'data-role="interviewee"' in page.text

    # A link to another site is never followed.
    elsewhere = await open_link(client, f"/t/{tenant.slug}/join/{token}?next_page=//evil.example/")
    assert elsewhere.headers["location"] == f"/t/{tenant.slug}/interviews/"


async def test_the_mailed_personal_link_leads_through_consent_into_the_room(live, client, make_tenant, make_user):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user)
    interview = setup["interview"]
    room = f"/t/{tenant.slug}/live_interview/{interview.id}"
    token = await issue_join_link(TenantScope(tenant.id), setup["interviewee"])
    # The form of the link in the scheduling mail (core/interviews/notifications.py).
    arrived = await open_link(client, f"/t/{tenant.slug}/join/{token}?interview={interview.id}")
    consent_url = arrived.headers["location"]
    assert consent_url.startswith(f"/t/{tenant.slug}/interviews/{interview.id}/consent?next_page=")
    consent_page = await client.get(consent_url, headers=HTML)
    assert f'name="next_page" value="{room}"' in consent_page.text


async def test_ending_while_the_last_chunk_is_being_joined_waits_rather_than_asking_to_end_anyway(
        live, client, make_tenant, make_user, tmp_path: Path):
    """The end can arrive between the last chunk and the join (state `received`): the page must be
    told to wait, not that nothing was recorded."""
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user)
    interview = setup["interview"]
    data = make_video(tmp_path / "live.webm", seconds=2).read_bytes()
    await consent(tenant, setup["interviewee"])
    await join(client, tenant, setup["interviewee"], interview)
    location = await live_upload(client, tenant, interview)
    assert (await patch(client, location, 0, data[:1000])).status_code == 204
    client.cookies.clear()
    scope = TenantScope(tenant.id)
    rec = await scope.objects(Recording).where(Recording.interview == interview.id).first()
    await scope.update(Recording, {Recording.state: "received"}).where(Recording.id == rec.id)

    await login(client, tenant, setup["interviewer"])
    joining = await client.post(f"/t/{tenant.slug}/live_interview/{interview.id}/end", headers=api(client))
    assert joining.status_code == 409 and joining.json()["waiting"] is True, joining.text
    assert "being put together" in joining.json()["detail"]
    assert (await scope.get(Recording, rec.id)).state == "received"  # nothing given up


async def test_the_interview_cannot_end_before_the_recording_upload_is_complete(
        live, client, make_tenant, make_user, tmp_path: Path):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user)
    interview = setup["interview"]
    room = f"/t/{tenant.slug}/live_interview/{interview.id}"
    data = make_video(tmp_path / "live.webm", seconds=2).read_bytes()

    await login(client, tenant, setup["interviewer"])
    nothing = await client.post(f"{room}/end", headers=api(client))
    assert nothing.status_code == 409
    client.cookies.clear()

    await consent(tenant, setup["interviewee"])
    await join(client, tenant, setup["interviewee"], interview)
    location = await live_upload(client, tenant, interview)
    unchecked = await patch(client, location, 0, data[:1000], checksum=False)
    assert unchecked.status_code == 400  # a chunk of an upload without a declared length proves itself
    half = len(data) // 2
    assert (await patch(client, location, 0, data[:half])).status_code == 204
    head = await client.head(location, headers=api(client))
    assert head.headers["upload-defer-length"] == "1" and head.headers["upload-offset"] == str(half)
    client.cookies.clear()

    await login(client, tenant, setup["interviewer"])
    early = await client.post(f"{room}/end", headers=api(client))
    assert early.status_code == 409 and early.json()["done"] is False
    client.cookies.clear()

    await join(client, tenant, setup["interviewee"], interview)
    last = await patch(client, location, half, data[half:], length=len(data))
    assert last.status_code == 204 and last.headers["upload-state"] == "complete", last.text
    rec = await TenantScope(tenant.id).objects(Recording).where(Recording.interview == interview.id).first()
    assert rec.size == len(data) and rec.state == "complete"
    assert (await TenantScope(tenant.id).get(Interview, interview.id)).state == "recorded"
    client.cookies.clear()

    await login(client, tenant, setup["interviewer"])
    ended = await client.post(f"{room}/end", headers=api(client))
    assert ended.status_code == 200, ended.text
    kinds = [e.kind for e in await TenantScope(tenant.id).objects(RoomEvent).where(
        RoomEvent.interview == interview.id).order_by(RoomEvent.at)]
    assert kinds == ["segment_completed", "ended"]
    segment = await TenantScope(tenant.id).objects(RoomEvent).where(
        (RoomEvent.interview == interview.id) & (RoomEvent.kind == "segment_completed")).first()
    detail = json.loads(segment.detail) if isinstance(segment.detail, str) else segment.detail
    assert detail["bytes"] == len(data) and detail["seconds"] == pytest.approx(2.0, abs=0.15)
    usage = {row.meter: row.quantity for row in await UsageRow.objects().where(UsageRow.tenant == tenant.id)}
    assert usage == {"live_interview.interviews": 1, "live_interview.recorded_minutes": 1}


async def test_an_upload_that_stopped_holds_the_end_only_until_the_interviewer_confirms(
        live, client, make_tenant, make_user, monkeypatch, tmp_path: Path):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user)
    interview = setup["interview"]
    room = f"/t/{tenant.slug}/live_interview/{interview.id}"
    data = make_video(tmp_path / "live.webm", seconds=1).read_bytes()
    await consent(tenant, setup["interviewee"])
    await join(client, tenant, setup["interviewee"], interview)
    location = await live_upload(client, tenant, interview)
    half = len(data) // 2
    assert (await patch(client, location, 0, data[:half])).status_code == 204
    client.cookies.clear()

    # While chunks arrive, ending waits, and says who is still uploading how much.
    await login(client, tenant, setup["interviewer"])
    waiting = await client.post(f"{room}/end", headers=api(client))
    assert waiting.status_code == 409 and waiting.json()["waiting"] is True
    assert f"interviewee: {half / 1024**2:.1f} MB received" in waiting.json()["detail"]
    [upload] = waiting.json()["uploads"]
    assert upload["received"] == half and upload["size"] is None and upload["active"] is True

    # The interviewee's page is gone: no chunk for longer than MENDAN_UPLOAD_PROGRESS_SECONDS.
    later = datetime.now(timezone.utc) + timedelta(seconds=client.app.state.settings.upload_progress_seconds + 1)
    monkeypatch.setattr("core.hours.now", lambda: later)
    stalled = await client.post(f"{room}/end", headers=api(client))
    assert stalled.status_code == 409 and stalled.json()["waiting"] is False
    assert "stopped arriving" in stalled.json()["detail"]
    assert (await TenantScope(tenant.id).objects(Recording).where(
        Recording.interview == interview.id).first()).state == "uploading"  # nothing given up unasked

    ended = await client.post(f"{room}/end?anyway=1", headers=api(client))
    assert ended.status_code == 200, ended.text
    rec = await TenantScope(tenant.id).objects(Recording).where(Recording.interview == interview.id).first()
    assert rec.state == "abandoned" and rec.parts in ([], "[]")
    assert "ended the interview before this upload finished" in rec.error and "MB received" in rec.error
    kinds = [e.kind for e in await TenantScope(tenant.id).objects(RoomEvent).where(
        RoomEvent.interview == interview.id).order_by(RoomEvent.at)]
    assert kinds == ["uploads_abandoned", "ended"]
    page = await client.get(f"/t/{tenant.slug}/interviews/{interview.id}", headers=HTML)
    assert rec.error in html.unescape(page.text)
    client.cookies.clear()

    # tus: the abandoned upload is gone for the interviewee's page that comes back.
    await join(client, tenant, setup["interviewee"], interview)
    assert (await client.head(location, headers=api(client))).status_code == 410
    late = await patch(client, location, half, data[half:], length=len(data))
    assert late.status_code == 410 and late.json()["detail"] == rec.error


async def test_the_interviewer_can_end_an_interview_where_nothing_was_recorded_after_confirming(
        live, client, make_tenant, make_user):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user)
    room = f"/t/{tenant.slug}/live_interview/{setup['interview'].id}"
    await login(client, tenant, setup["interviewer"])
    asked = await client.post(f"{room}/end", headers=api(client))
    assert asked.status_code == 409 and asked.json()["waiting"] is False and asked.json()["uploads"] == []
    assert (await client.post(f"{room}/end?anyway=1", headers=api(client))).status_code == 200


@pytest.fixture
def server(live, live_server) -> str:
    """host:port of the served app, with the live_interview plugin registered first."""
    return live_server.removeprefix("http://")


async def signed_in(server: str, tenant, user) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=f"http://{server}")
    if user is not None:
        await login(client, tenant, user)
    return client


def cookie_header(client: httpx.AsyncClient) -> str:
    return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


async def refused(server: str, path: str, client: httpx.AsyncClient) -> bool:
    """True when the socket is refused: at the handshake, or closed at once without a welcome."""
    try:
        async with connect(f"ws://{server}{path}", additional_headers={"Cookie": cookie_header(client)},
                           origin=f"http://{server}", open_timeout=5) as ws:
            await ws.send(json.dumps({"type": "signal", "data": {"description": {"type": "offer", "sdp": "x"}}}))
            first = await asyncio.wait_for(ws.recv(), 5)
            return False if json.loads(first).get("type") == "welcome" else True
    except websockets.exceptions.InvalidStatus:
        return True
    except websockets.exceptions.ConnectionClosed as exc:
        return exc.rcvd is not None and exc.rcvd.code == 4403


async def test_the_signalling_socket_admits_only_the_interviews_two_people(server, make_tenant, make_user):
    tenant, other_tenant = await make_tenant(), await make_tenant()
    setup = await make_interview(tenant, make_user)
    interview = setup["interview"]
    path = f"/t/{tenant.slug}/live_interview/{interview.id}/signal"

    interviewer = await signed_in(server, tenant, setup["interviewer"])
    async with connect(f"ws://{server}{path}", additional_headers={"Cookie": cookie_header(interviewer)},
                       origin=f"http://{server}") as ws:
        welcome = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert welcome == {"type": "welcome", "role": "interviewer", "peer": False, "recording": False,
                           "ice_servers": []}

        outsider = await signed_in(server, other_tenant, await make_user(other_tenant, "interviewer"))
        assert await refused(server, path, outsider)
        no_link = await signed_in(server, tenant, await make_user(tenant, "interviewee"))
        assert await refused(server, path, no_link)
        anonymous = await signed_in(server, tenant, None)
        assert await refused(server, path, anonymous)

        # The interviewee, signed in by the link, is refused until consenting, then admitted.
        interviewee = httpx.AsyncClient(base_url=f"http://{server}")
        await join(interviewee, tenant, setup["interviewee"], interview)
        assert await refused(server, path, interviewee)
        # Another site's page cannot ride the interviewer's session.
        with pytest.raises((websockets.exceptions.ConnectionClosed, websockets.exceptions.InvalidStatus)):
            async with connect(f"ws://{server}{path}", additional_headers={"Cookie": cookie_header(interviewer)},
                               origin="http://evil.example") as foreign:
                await asyncio.wait_for(foreign.recv(), 5)

        # Nothing the refused sockets sent reached the interviewer.
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(ws.recv(), 0.5)

        await consent(tenant, setup["interviewee"])
        async with connect(f"ws://{server}{path}", additional_headers={"Cookie": cookie_header(interviewee)},
                           origin=f"http://{server}") as guest:
            assert json.loads(await asyncio.wait_for(guest.recv(), 5))["peer"] is True
            assert json.loads(await asyncio.wait_for(ws.recv(), 5)) == {"type": "peer", "present": True}
            await guest.send("not json")  # ignored; the socket stays open
            await guest.send(json.dumps({"type": "signal", "data": {"candidate": {"candidate": "c"}}}))
            relayed = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert relayed == {"type": "signal", "data": {"candidate": {"candidate": "c"}}, "from": "interviewee"}
            # Only the interviewer controls the recording.
            await guest.send(json.dumps({"type": "control", "action": "stop-recording"}))
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(ws.recv(), 0.5)
    for client in (interviewer, outsider, no_link, anonymous, interviewee):
        await client.aclose()
    joined = await TenantScope(tenant.id).objects(RoomEvent).where(
        (RoomEvent.interview == interview.id) & (RoomEvent.kind == "joined"))
    assert len(joined) == 2


async def test_the_interviewer_saves_the_evaluation_from_the_room_once_the_interview_began(
        live, client, make_tenant, make_user):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user)
    interview = setup["interview"]
    room = f"/t/{tenant.slug}/live_interview/{interview.id}"
    await login(client, tenant, setup["interviewer"])
    result_page = await client.get(f"/t/{tenant.slug}/interviews/{interview.id}", headers=HTML)
    assert f'href="{room}"' in result_page.text  # the interview page leads to the room

    form = {"score_clarity": "4", "comment": "Calm and clear.", "_csrf_token": client.cookies["csrftoken"]}
    early = await client.post(f"{room}/evaluation", data=form, headers=api(client))
    assert early.status_code == 400 and early.json()["detail"]

    await TenantScope(tenant.id).update(Interview, {Interview.state: "in_progress"}).where(
        Interview.id == interview.id)
    saved = await client.post(f"{room}/evaluation", data=form, headers=api(client))
    assert saved.status_code == 200, saved.text
    missing = await client.post(f"{room}/evaluation", data={**form, "score_clarity": ""}, headers=api(client))
    assert missing.status_code == 400  # Clarity is required
    page = await client.get(room, headers=HTML)
    assert 'value="4"' in page.text and "Calm and clear." in page.text
