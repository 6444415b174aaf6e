"""Upload completion is durable and happens once (issue 21, 7): a crash between the last chunk
and the join is finished by the sweeper, a broker outage at completion leaves the jobs in the
outbox until the broker is back, two final PATCHes at once complete the recording once, and a
job sent twice runs once (core.interviews.completion, core.tasks, core.sweeper). Run on
PostgreSQL with MENDAN_TEST_POSTGRES, as the fault tests of issue 21 ask."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import shutil
import socket
import subprocess
import threading
from dataclasses import replace
from pathlib import Path
from uuid import UUID

import anyio.to_thread
import dramatiq
import httpx
import pytest
from dramatiq.middleware import SkipMessage
from litestar.testing import AsyncTestClient

import plugins.ai_model.plugin as ai_model_plugin
from core.db.engine import current_engine
from core.db.tables import AnalysisRun, AuditEntry, Job
from core.tasks import JobTableMiddleware
from core.hookspecs import hookimpl
from core.interviews import uploads, web_recordings
from core.interviews.completion import sweep_recordings
from core.interviews.tables import Interview, Recording
from core.plugins import PluginMeta
from mendan.app import create_app
from mendan.pytest_plugin import BASE_URL
from tests.conftest import eventually
from tests.interview_fixtures import consent, join, make_interview
from tests.test_analysis_pipeline import Watcher
from tests.test_recording_upload import CompletedRecordings, api, create, send
from tests.video_files import make_video

CALLS: dict[str, int] = {}


def count(tenant_id, token):
    CALLS[token] = CALLS.get(token, 0) + 1
    return f"call {CALLS[token]}"


class Counter:
    @hookimpl
    def mendan_plugin_meta(self):
        return PluginMeta(key="outbox_probe", name_ja="送信確認", name_en="Outbox probe", version="1", kind="basic",
                          hours="batch")

    @hookimpl
    def mendan_actors(self):
        return {"count": count}


class ProcessDied(Exception):
    """Stands for the web process dying at this point (kill -9 would leave the same rows)."""


@pytest.fixture
def watchers(host):
    watcher, completed = Watcher(), CompletedRecordings()
    host.register(watcher, key="clock")
    host.register(completed, key="recording_watch")
    host.register(ai_model_plugin, key="ai_model")
    host.register(Counter(), key="outbox_probe")
    return watcher, completed


@pytest.fixture
def app(watchers, host, settings):
    return create_app(settings, host=host)


@pytest.fixture(scope="module")
def webm(tmp_path_factory) -> bytes:
    return make_video(tmp_path_factory.mktemp("completion") / "answer.webm", seconds=1).read_bytes()


async def _started(client, tenant, make_user):
    setup = await make_interview(tenant, make_user)
    await consent(tenant, setup["interviewee"])
    await join(client, tenant, setup["interviewee"], setup["interview"])
    return setup["interview"]


async def _recording(rec_id) -> Recording:
    return await Recording.objects().where(Recording.id == rec_id).first()


async def _jobs(tenant, actor: str) -> list[Job]:
    return await Job.objects().where((Job.tenant == tenant.id) & (Job.actor == actor))


async def _settled(tenant) -> None:
    """Until no job of the tenant is queued or running (the analysis and what it started)."""
    async def idle():
        return await Job.count().where((Job.tenant == tenant.id) & Job.state.is_in(["queued", "running"])) == 0
    await eventually(idle, timeout=180, what="the tenant's jobs to finish")


async def _analysed_once(tenant, interview, watcher, completed, rec_id) -> None:
    """One analysis of the recording ran to its end: one run, one hook of each kind, one prediction job."""
    async def heard():
        return len(watcher.analysed) >= 1
    await eventually(heard, timeout=180, what="the analysed hook")
    await _settled(tenant)
    runs = await AnalysisRun.objects().where(AnalysisRun.interview_id == interview.id)
    assert [(r.expected, r.finished) for r in runs] == [(2, 2)]
    assert [c["recording_id"] for c in completed.calls] == [rec_id]
    assert [a["interview_id"] for a in watcher.analysed] == [interview.id]
    assert sorted(watcher.extracted) == ["clock", "clock_size"]
    assert len(await _jobs(tenant, "ai_model.predict")) == 1
    extractions = await _jobs(tenant, "core.extract_features")
    assert sorted((j.state, j.attempts) for j in extractions) == [("done", 1), ("done", 1)]


@pytest.mark.parametrize("dies_at", ["before_received", "during_join"])
async def test_a_crash_between_the_last_chunk_and_the_join_is_finished_by_the_sweeper(
        dies_at, monkeypatch, watchers, app, client, make_tenant, make_user, webm):
    watcher, completed = watchers
    tenant = await make_tenant()
    interview = await _started(client, tenant, make_user)
    created = await create(client, tenant, interview, webm)
    location, rec_id = created.headers["location"], created.json()["id"]
    half = len(webm) // 2
    assert (await send(client, location, 0, webm[:half])).status_code == 204

    def die(*args, **kwargs):
        raise ProcessDied(dies_at)

    if dies_at == "before_received":
        monkeypatch.setattr(web_recordings, "receive", die)
    else:
        monkeypatch.setattr(uploads, "_join", die)
    try:
        last = await send(client, location, half, webm[half:])
        assert last.status_code == 500, last.text
    except ProcessDied:
        pass
    monkeypatch.undo()

    left = await _recording(rec_id)
    assert (left.state, left.upload_offset) == ("uploading" if dies_at == "before_received" else "received",
                                                len(webm))
    assert completed.calls == [] and await AnalysisRun.count().where(AnalysisRun.interview_id == interview.id) == 0

    assert await sweep_recordings(older_than_s=0) == 1
    done = await _recording(rec_id)
    assert (done.state, done.sha256, uploads.parts_of(done)) == ("complete", hashlib.sha256(webm).hexdigest(), [])
    assert done.announced_at is not None
    assert (await Interview.objects().where(Interview.id == interview.id).first()).state in ("recorded", "analysed")
    assert await sweep_recordings(older_than_s=0) == 0  # a second sweep (another process's) finds nothing
    await _analysed_once(tenant, interview, watcher, completed, done.id)
    status = await client.get(location, headers=api(client))
    assert status.json()["state"] == "complete" and status.json()["offset"] == len(webm)


async def test_two_final_patches_at_once_complete_the_recording_once(
        monkeypatch, watchers, app, live_server, make_tenant, make_user, webm):
    """A live recording's last PATCH declares the length; the browser sends it twice (a retry after a
    timeout). Both get the tus answer (204, the offset); one analysis, one hook, one audit entry.
    A real server (its own thread and loop) serves both requests at once."""
    watcher, completed = watchers
    tenant = await make_tenant()
    # Both requests are past their checks before either marks the upload received.
    together = threading.Barrier(2)
    receive = web_recordings.receive

    async def at_once(scope, rec):
        await anyio.to_thread.run_sync(together.wait, 60)
        return await receive(scope, rec)

    async with httpx.AsyncClient(base_url=live_server, timeout=120) as client:
        interview = await _started(client, tenant, make_user)
        created = await client.post(f"/t/{tenant.slug}/interviews/{interview.id}/uploads", headers=api(client),
                                    json={"defer_length": True, "filename": "live.webm", "content_type": "video/webm"})
        assert created.status_code == 201, created.text
        location, rec_id = created.headers["location"], created.json()["id"]
        assert (await send(client, location, 0, webm)).status_code == 204
        monkeypatch.setattr(web_recordings, "receive", at_once)
        final = {**api(client), "content-type": "application/offset+octet-stream", "upload-offset": str(len(webm)),
                 "upload-length": str(len(webm)), "tus-resumable": "1.0.0"}
        first, second = await asyncio.gather(client.patch(location, content=b"", headers=final),
                                             client.patch(location, content=b"", headers=final))
    assert (first.status_code, second.status_code) == (204, 204), (first.text, second.text)
    assert first.headers["upload-offset"] == second.headers["upload-offset"] == str(len(webm))

    done = await _recording(rec_id)
    assert (done.state, done.size) == ("complete", len(webm))
    audits = await AuditEntry.count().where((AuditEntry.action == "recording.completed")
                                            & (AuditEntry.target == str(rec_id)))
    assert audits == 1
    await _analysed_once(tenant, interview, watcher, completed, done.id)


async def test_a_job_the_relay_sends_twice_runs_once(app):
    """Two relays (two processes, or a mark that was lost) send one job's message twice before a
    worker runs: the job runs once."""
    tasks = app.state.tasks
    token = secrets.token_hex(4)
    # Made in a transaction that sends nothing after it: the job waits in the outbox.
    async with current_engine().transaction():
        job_id = await tasks.enqueue("outbox_probe.count", tenant_id=None, token=token)
    assert (await Job.objects().where(Job.id == job_id).first()).sent_at is None
    try:
        assert await tasks.relay_unsent(older_than_s=0) >= 1
        await Job.update({Job.sent_at: None}).where(Job.id == job_id)
        assert await tasks.relay_unsent(older_than_s=0) >= 1
        assert tasks.broker.queues[tasks.settings.queue_name].qsize() >= 2
        tasks.start_embedded_worker()
        await anyio.to_thread.run_sync(lambda: tasks.broker.join(tasks.settings.queue_name, timeout=120_000))
    finally:
        tasks.stop()
    job = await Job.objects().where(Job.id == job_id).first()
    assert (job.state, job.attempts, job.result_ref, CALLS[token]) == ("done", 1, "call 1", 1)
    assert job.sent_at is not None


async def test_a_delivery_meeting_another_threads_reservation_claims_nothing(app):
    """The race the whole suite met under a CPU hog: of two deliveries of one job in two worker
    threads of one process, the second claimed the row between the first's reservation and its
    claim, and both ran. A delivery that finds the job reserved by another thread of its process
    claims nothing and comes back a heartbeat later."""
    tasks = app.state.tasks
    token = secrets.token_hex(4)
    async with current_engine().transaction():  # the message is never sent: only the row exists
        job_id = await tasks.enqueue("outbox_probe.count", tenant_id=None, token=token)
    job_table = next(m for m in tasks.broker.middleware if isinstance(m, JobTableMiddleware))
    message = tasks.actors["outbox_probe.count"].message_with_options(
        kwargs={"tenant_id": None, "token": token}, job_id=str(job_id))
    assert job_table.heartbeat.reserve(str(job_id), "the-first-thread")  # reserved, not yet claimed
    delayed = f"{tasks.settings.queue_name}.DQ"
    before = tasks.broker.queues[delayed].qsize()
    try:
        with pytest.raises(SkipMessage):
            await anyio.to_thread.run_sync(job_table.before_process_message, tasks.broker, message)
        row = await Job.objects().where(Job.id == job_id).first()
        assert (row.state, row.attempts) == ("queued", 0)
        assert tasks.broker.queues[delayed].qsize() == before + 1  # it comes back later
    finally:
        job_table.heartbeat.release(str(job_id))
        # Whatever delivery comes back later finds the job finished and drops it.
        await Job.update({Job.state: "done"}).where(Job.id == job_id)
    assert CALLS.get(token) is None


class OwnRedis:
    """A redis-server of the test's own on a free port, to stop and start (no persistence)."""

    def __init__(self, folder: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.folder = folder
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis

        client = redis.Redis(port=self.port, socket_connect_timeout=1)

        async def answers():
            try:
                return await anyio.to_thread.run_sync(client.ping)
            except redis.ConnectionError:
                return False
        await eventually(answers, timeout=30, what="redis-server to answer")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


@pytest.mark.redis
@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
async def test_a_broker_outage_at_completion_keeps_the_jobs_until_the_broker_is_back(
        watchers, host, settings, make_tenant, make_user, webm, tmp_path):
    watcher, completed = watchers
    broker = OwnRedis(tmp_path)
    await broker.start()
    app = create_app(replace(settings, broker_url=broker.url, queue_name=f"mendan_test_{secrets.token_hex(4)}"),
                     host=host)
    tasks = app.state.tasks
    worker = None
    try:
        async with AsyncTestClient(app, base_url=BASE_URL) as client:
            tenant = await make_tenant()
            interview = await _started(client, tenant, make_user)
            created = await create(client, tenant, interview, webm)
            location, rec_id = created.headers["location"], created.json()["id"]
            half = len(webm) // 2
            assert (await send(client, location, 0, webm[:half])).status_code == 204
            broker.stop()
            last = await send(client, location, half, webm[half:])
            assert last.status_code == 204, last.text
            assert (await _recording(rec_id)).state == "complete"
            waiting = await _jobs(tenant, "core.extract_features")
            assert [(j.state, j.sent_at) for j in waiting] == [("queued", None), ("queued", None)]
            assert await tasks.relay_unsent(older_than_s=0) == 0  # still away: nothing sent, nothing lost

            await broker.start()
            ids = [j.id for j in waiting]
            assert await tasks.relay_unsent(older_than_s=0) >= 2
            assert await Job.count().where(Job.id.is_in(ids) & Job.sent_at.is_not_null()) == 2
            # A second relay (another process, or a lost mark) sends them again: they still run once.
            await Job.update({Job.sent_at: None}).where(Job.id.is_in(ids))
            assert await tasks.relay_unsent(older_than_s=0) >= 2
            assert await Job.count().where(Job.id.is_in(ids) & Job.sent_at.is_not_null()) == 2
            worker = dramatiq.Worker(tasks.broker, worker_threads=1, worker_timeout=100)
            worker.start()
            await _analysed_once(tenant, interview, watcher, completed, UUID(rec_id))
            await anyio.to_thread.run_sync(lambda: tasks.broker.join(tasks.settings.queue_name, timeout=120_000))
            assert sorted(watcher.extracted) == ["clock", "clock_size"]
    finally:
        if worker is not None:
            worker.stop(timeout=5_000)
        tasks.stop()
        broker.stop()
