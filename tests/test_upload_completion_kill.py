"""Upload completion survives `kill -9` of the web server (issue 21, item 7, for real): PostgreSQL,
a redis-server of the test's own on a free port, `mendan serve` and `mendan worker` processes
started here with the session's database, data folder and master key, and killed here.

The interviewee's browser is played over HTTP: a personal link signs in, tus sends the video.
The first web server is killed between two chunks; a second one answers tus `HEAD` with the
offset it holds and takes the rest. It is killed in turn by the final PATCH, as soon as the
recording's row leaves `uploading` (or right after the PATCH if it never does), and a third one
serves what follows. The sweeper finishes the completion: with a broker it runs in `mendan worker`
(core.sweeper.SweeperMiddleware), not in the web process. The recording ends complete once, with
one analysis and its jobs, one transcription job and one `segment_completed` room event (what
the speech and live_interview plugins do on `mendan_recording_completed`)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import shutil
import signal
import subprocess
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from core.auth.tokens import create_api_token
from core.db.tables import AnalysisRun, Job
from core.interviews.completion import STALE_AFTER_S
from core.interviews.people import issue_join_link
from core.interviews.tables import Interview, Recording
from core.storage import load_master_key
from core.tables import json_value
from core.tenancy import TenantScope
from plugins.live_interview.tables import RoomEvent
from tests.conftest import eventually
from tests.interview_fixtures import chunk_checksum, consent, make_interview, open_link
from tests.test_production_backends import MENDAN, ROOT, _free_port, _stop
from tests.test_upload_completion import OwnRedis
from tests.video_files import make_video

pytestmark = [pytest.mark.postgres, pytest.mark.redis,
              pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")]

CHUNK = 256 * 1024
PLUGINS = "speech,live_interview"  # an extractor (the analysis's jobs) and two mendan_recording_completed hooks


class Processes:
    """The `mendan` processes of one test, each in a process group of its own, logs in `folder`."""

    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        self.folder, self.env = folder, env
        self.started: list[tuple[subprocess.Popen, Path]] = []

    def start(self, name: str, *args: str) -> subprocess.Popen:
        log = self.folder / f"{name}.log"
        with log.open("w") as out:
            process = subprocess.Popen([MENDAN, *args], env=self.env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        self.started.append((process, log))
        return process

    async def serve(self, name: str) -> tuple[str, subprocess.Popen]:
        """A `mendan serve` on a free port, once its /healthz answers; (base URL, process)."""
        port = _free_port()
        process = self.start(name, "serve", "--port", str(port))
        base = f"http://127.0.0.1:{port}"

        async def healthy():
            assert process.poll() is None, f"{name} stopped: {self.log(name)}"
            try:
                async with httpx.AsyncClient() as http:
                    return (await http.get(f"{base}/healthz")).status_code == 200
            except httpx.TransportError:
                return False
        await eventually(healthy, timeout=120, what=f"{name} to answer")  # a start under a CPU hog takes long
        return base, process

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text()[-4000:]

    def stop_all(self) -> None:
        for process, log in self.started:
            _stop(process)
            print(log.name, log.read_text()[-3000:])


def kill(process: subprocess.Popen) -> None:
    """kill -9 of the process and every process it forked."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


@pytest.fixture
async def broker(tmp_path):
    redis = OwnRedis(tmp_path)
    await redis.start()
    try:
        yield redis
    finally:
        redis.stop()


@pytest.fixture
def processes(settings, broker, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MENDAN_", "DATABASE_URL", "BROKER_URL"))}
    env.update(MENDAN_DATA_DIR=str(settings.data_dir), DATABASE_URL=settings.database_url,
               MENDAN_SECRET_KEY=settings.secret_key, MENDAN_QUEUE=settings.queue_name + "_kill",
               MENDAN_MASTER_KEY=base64.urlsafe_b64encode(load_master_key(settings)).decode(),
               BROKER_URL=broker.url, MENDAN_PLUGINS=PLUGINS)
    if os.environ.get("MENDAN_MODELS_DIR"):
        env["MENDAN_MODELS_DIR"] = os.environ["MENDAN_MODELS_DIR"]
    running = Processes(tmp_path, env)
    try:
        yield running
    finally:
        running.stop_all()


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> bytes:
    # Random pixels: some megabytes, so joining and probing them takes the web server a moment.
    return make_video(tmp_path_factory.mktemp("kill") / "answer.webm", seconds=1, size=(640, 480),
                      noise=True).read_bytes()


def _csrf(http: httpx.AsyncClient) -> dict[str, str]:
    return {"x-csrftoken": http.cookies["csrftoken"], "accept": "application/json"}


async def _patch(http: httpx.AsyncClient, location: str, offset: int, chunk: bytes) -> httpx.Response:
    return await http.patch(location, content=chunk, headers={
        **_csrf(http), "content-type": "application/offset+octet-stream", "tus-resumable": "1.0.0",
        "upload-offset": str(offset), "upload-checksum": chunk_checksum(chunk)})


async def _state(rec_id) -> str:
    return (await Recording.select(Recording.state).where(Recording.id == rec_id).first())["state"]


async def _kill_when_received(http, location: str, offset: int, chunk: bytes, web: subprocess.Popen) -> str:
    """Send the final PATCH and kill -9 the web server as soon as the row leaves `uploading`, or
    right after the PATCH answers if it never did; returns the row's state at the kill."""
    rec_id = location.rsplit("/", 1)[1]
    final = asyncio.create_task(_patch(http, location, offset, chunk))
    state = "uploading"
    while state == "uploading" and not final.done():
        state = await _state(rec_id)
    kill(web)
    try:
        await final
    except httpx.TransportError:
        pass  # the server died under it, as a browser would see
    return await _state(rec_id)


async def test_a_web_server_killed_mid_upload_and_at_completion_completes_the_recording_once(
        settings, app, processes, make_tenant, make_user, video):
    """`app` is the test's runtime for making the tenant and the interview; it is never started,
    so no sweeper runs in the test's process."""
    if settings.database_kind != "postgres":
        pytest.skip("the kill -9 fault test runs on PostgreSQL: set MENDAN_TEST_POSTGRES")
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user)
    interview, interviewee = setup["interview"], setup["interviewee"]
    await consent(tenant, interviewee)
    reader = await create_api_token(setup["interviewer"], "reader", scope="read")
    link = await issue_join_link(TenantScope(tenant.id), interviewee)

    processes.start("worker", "worker", "--processes", "1", "--threads", "2")
    first, web = await processes.serve("serve-1")
    async with httpx.AsyncClient(base_url=first, timeout=120) as http:
        signed_in = await open_link(http, f"/t/{tenant.slug}/join/{link}?interview={interview.id}")
        assert signed_in.status_code in (302, 303), signed_in.text
        await http.get(f"/t/{tenant.slug}/interviews/{interview.id}/consent", headers={"accept": "text/html"})
        created = await http.post(f"/t/{tenant.slug}/interviews/{interview.id}/uploads", headers=_csrf(http), json={
            "size": len(video), "sha256": hashlib.sha256(video).hexdigest(), "filename": "answer.webm",
            "content_type": "video/webm"})
        assert created.status_code == 201, created.text
        location, rec_id = created.headers["location"], created.json()["id"]
        half = (len(video) // 2) // CHUNK * CHUNK
        for offset in range(0, half, CHUNK):
            sent = await _patch(http, location, offset, video[offset:offset + CHUNK])
            assert sent.status_code == 204, sent.text
        kill(web)  # between two chunks

    second, web = await processes.serve("serve-2")
    async with httpx.AsyncClient(base_url=second, timeout=120, cookies=http.cookies) as http:
        held = await http.head(location, headers={"tus-resumable": "1.0.0"})
        assert held.status_code == 200 and held.headers["upload-length"] == str(len(video))
        offset = int(held.headers["upload-offset"])
        assert offset == half
        last = len(video) - 1000  # a small final chunk: the join starts at once
        for at in range(offset, last, CHUNK):
            sent = await _patch(http, location, at, video[at:min(at + CHUNK, last)])
            assert sent.status_code == 204, sent.text
        at_kill = await _kill_when_received(http, location, last, video[last:], web)
        cookies = http.cookies
    print("the final PATCH's server was killed with the row", at_kill)

    # The kill stands for a crash two minutes ago (completion.STALE_AFTER_S: what the sweeper
    # takes for left by a crash, not a slow request), so the test need not wait them out.
    row = await Recording.objects().where(Recording.id == rec_id).first()
    earlier = timedelta(seconds=STALE_AFTER_S)
    await Recording.update({
        Recording.created_at: row.created_at - earlier,
        **({Recording.received_at: row.received_at - earlier} if row.received_at else {}),
        **({Recording.completed_at: row.completed_at - earlier} if row.completed_at else {}),
    }).where(Recording.id == rec_id)

    third, _web = await processes.serve("serve-3")
    async with httpx.AsyncClient(base_url=third, timeout=120, cookies=cookies) as http:
        # The browser's tus client, its final answer lost, asks again: every byte is in, none to resend.
        held = await http.head(location, headers={"tus-resumable": "1.0.0"})
        assert held.status_code == 200 and held.headers["upload-offset"] == str(len(video)), held.headers

    async def announced():
        rec = await Recording.objects().where(Recording.id == rec_id).first()
        return rec if rec.state == "complete" and rec.announced_at is not None else None
    done = await eventually(announced, timeout=180, what="the sweeper to complete and announce the recording")
    assert done.sha256 == hashlib.sha256(video).hexdigest() and done.upload_offset == len(video)
    assert (await Interview.objects().where(Interview.id == interview.id).first()).state == "recorded"

    async def analysed():
        jobs = await Job.objects().where((Job.tenant == tenant.id) & (Job.actor == "core.extract_features"))
        return jobs if jobs and all(j.state in ("done", "failed") for j in jobs) else None
    extractions = await eventually(analysed, timeout=180, what="the analysis jobs to run")
    runs = await AnalysisRun.objects().where(AnalysisRun.interview_id == interview.id)
    assert len(runs) == 1 and runs[0].expected == len(extractions) == 1
    # Ran once (the video has no sound: the voice extractor refuses it, without retries).
    ran = [(json_value(j.args)["recording_id"], j.attempts) for j in extractions]
    assert ran == [(rec_id, 1)], [j.error for j in extractions]

    async def heard():  # the hooks of mendan_recording_completed, in the sweeper's process
        events = await RoomEvent.objects().where(
            (RoomEvent.interview == interview.id) & (RoomEvent.kind == "segment_completed"))
        transcriptions = await Job.objects().where((Job.tenant == tenant.id) & (Job.actor == "speech.transcribe"))
        return (events, transcriptions) if events and transcriptions else None
    events, transcriptions = await eventually(heard, timeout=120, what="the recording_completed hooks")
    assert [json_value(e.detail)["recording_id"] for e in events] == [rec_id]
    assert [json_value(j.args)["recording_id"] for j in transcriptions] == [rec_id]

    async with httpx.AsyncClient(base_url=third, timeout=120, cookies=cookies) as http:
        # The upload's state, as its tus URL tells the interviewee.
        seen = await http.get(location, headers={"accept": "application/json"})
    assert seen.status_code == 200 and seen.json()["state"] == "complete", seen.text
    async with httpx.AsyncClient(base_url=third, timeout=120) as api:
        shown = await api.get(f"/api/v1/t/{tenant.slug}/interviews/{interview.id}/recordings/{rec_id}",
                              headers={"authorization": f"Bearer {reader}", "accept": "application/json"})
    assert shown.status_code == 200 and shown.json()["state"] == "complete", shown.text
    assert await Recording.count().where(Recording.interview == interview.id) == 1
