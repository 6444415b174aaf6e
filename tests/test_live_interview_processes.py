"""One live room over two `mendan serve` processes (issue 21 item 12): the interviewer's browser
talks to one, the interviewee's to the other; signalling, presence, a reconnect and the end
cross between them over Redis pub/sub (a redis-server of the test's own). Both processes share
the session's database (its SQLite file, or PostgreSQL with MENDAN_TEST_POSTGRES), data
folder and master key."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from core.interviews.tables import Interview
from core.storage import load_master_key
from core.tables import json_value
from core.tenancy import TenantScope
from plugins.live_interview.tables import RoomEvent
from tests.interview_fixtures import make_interview
from tests.test_live_interview_bus import redis_server  # noqa: F401  (fixture)
from tests.test_live_interview import live  # noqa: F401  (fixture)
from tests.test_live_interview_browser import interviewee_joins, interviewer_joins, record_for, sees_video

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
MENDAN = str(Path(sys.executable).with_name("mendan"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _answers(base: str, process: subprocess.Popen, log: Path) -> None:
    deadline = asyncio.get_running_loop().time() + 120  # a start under a CPU hog takes long
    async with httpx.AsyncClient() as http:
        while asyncio.get_running_loop().time() < deadline:
            assert process.poll() is None, f"mendan serve stopped: {log.read_text()[-3000:]}"
            try:
                if (await http.get(f"{base}/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise AssertionError(f"{base} never answered")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture
async def two_servers(live, app, settings, redis_server, tmp_path):  # noqa: F811  (fixtures)
    """Two `mendan serve` processes over the session's database, data folder and master key, one
    Redis; the test's own app (`app`) is the runtime that makes the tenant and the interview."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MENDAN_", "DATABASE_URL", "BROKER_URL"))}
    env.update(MENDAN_DATA_DIR=str(settings.data_dir), DATABASE_URL=settings.database_url,
               MENDAN_SECRET_KEY=settings.secret_key, MENDAN_QUEUE=settings.queue_name,
               MENDAN_MASTER_KEY=base64.urlsafe_b64encode(load_master_key(settings)).decode(),
               BROKER_URL=redis_server.url, MENDAN_PLUGINS="live_interview")
    servers = []
    for n in range(2):
        port, log = _free_port(), tmp_path / f"serve-{n}.log"
        with log.open("w") as out:
            process = subprocess.Popen([MENDAN, "serve", "--port", str(port)], env=env, cwd=ROOT, stdout=out,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        servers.append((f"http://127.0.0.1:{port}", process, log))
    try:
        await asyncio.gather(*(_answers(base, process, log) for base, process, log in servers))
        yield [base for base, _process, _log in servers]
    finally:
        for _base, process, log in servers:
            _stop(process)
            print(log.name, log.read_text()[-4000:])


async def test_the_two_people_meet_through_two_web_processes(two_servers, browser, make_tenant, make_user):
    host_base, guest_base = two_servers
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user)
    interview = setup["interview"]
    room = f"/t/{tenant.slug}/live_interview/{interview.id}"
    _c1, host_page = await interviewer_joins(browser, host_base, tenant, setup["interviewer"], room)
    _c2, guest_page = await interviewee_joins(browser, guest_base, tenant, setup["interviewee"], room)
    await sees_video(host_page)
    await sees_video(guest_page)

    # The interviewee's socket drops and reopens (on its process); the interviewer, on the other,
    # learns it left and came back, and calls again.
    await host_page.evaluate("window.callBeforeBlip = window.liveRoom.pc")
    await guest_page.evaluate("window.liveRoom.socket.close()")
    await host_page.wait_for_function(
        "() => window.liveRoom.pc && window.liveRoom.pc !== window.callBeforeBlip"
        " && window.liveRoom.pc.connectionState === 'connected'", timeout=30000)
    await sees_video(host_page)

    # The interviewer's start reaches the recorder on the other process; the upload's progress
    # comes back, so the end is allowed once the upload is complete.
    await record_for(host_page, guest_page, 0)
    await guest_page.wait_for_function("() => window.liveRoom.segments[0].base > 0", timeout=30000)
    await host_page.click("#stop-recording")
    await host_page.wait_for_selector("#end-interview:not([disabled])", timeout=30000)
    await host_page.click("#end-interview")
    await host_page.wait_for_url(f"{host_base}/t/{tenant.slug}/interviews/{interview.id}", timeout=20000)
    await guest_page.wait_for_selector("text=面談は終了しました", timeout=20000)  # sent by the other process

    held = await TenantScope(tenant.id).get(Interview, interview.id)
    assert held.state in ("recorded", "analysed")
    joined = await TenantScope(tenant.id).objects(RoomEvent).where(
        (RoomEvent.interview == interview.id) & (RoomEvent.kind == "joined"))
    assert {"interviewer", "interviewee"} <= {json_value(e.detail).get("role") for e in joined}
