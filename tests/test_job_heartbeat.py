"""Worker heartbeats per job (core/job_heartbeat.py) on the embedded broker: a running job is
stamped while it runs, a lapsed lease reads "worker lost" on the job pages and in the API, and
each delivery claims the row first: a finished job never runs again, a job a live worker holds
waits for that lease, and a job whose worker was lost on every attempt fails."""

from __future__ import annotations

import threading
import uuid
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from core.db.tables import Job
from core.hookspecs import hookimpl
from core.job_heartbeat import shown_state
from core.plugins import PluginMeta
from core.rest.jobs import job_state_of
from mendan.app import create_app
from tests.conftest import eventually, login, wait_for_job

RUNS: dict[str, int] = {}
GATES: dict[str, threading.Event] = {}


def counted(tenant_id, token):
    RUNS[token] = RUNS.get(token, 0) + 1
    return f"run {RUNS[token]}"


def gated(tenant_id, token):
    if not GATES[token].wait(timeout=60):
        raise RuntimeError("the gate never opened")


class Beats:
    @hookimpl
    def mendan_plugin_meta(self):
        return PluginMeta(key="beats", name_ja="鼓動", name_en="Beats", version="1.0", kind="basic", hours="batch")

    @hookimpl
    def mendan_actors(self):
        return {"counted": counted, "gated": gated}


@pytest.fixture
def app(settings, host):
    host.register(Beats(), key="beats")
    return create_app(replace(settings, job_heartbeat_s=0.2, worker_lost_after_s=1.0, job_max_retries=2,
                              job_min_backoff_ms=20), host=host)


def _now() -> datetime:
    return datetime.now(timezone.utc)


async def _job(job_id) -> Job:
    return await Job.objects().where(Job.id == job_id).first()


async def _left_by_a_killed_worker(tenant, token: str, attempts: int = 1, lease_ends: datetime | None = None) -> Job:
    """The row a worker leaves when it dies mid-job: running, its last stamp and lease in the past."""
    job = Job(id=uuid.uuid4(), tenant=tenant.id, actor="beats.counted", args={"token": token}, state="running",
              attempts=attempts, worker_id="elsewhere:4242:1", heartbeat_at=_now() - timedelta(seconds=30),
              lease_until=lease_ends or _now() - timedelta(seconds=10), started_at=_now() - timedelta(minutes=1))
    await job.save()
    return job


async def test_a_running_job_is_stamped_until_it_ends(app, client, make_tenant):
    tenant = await make_tenant()
    token = uuid.uuid4().hex
    GATES[token] = threading.Event()
    job_id = await app.state.tasks.enqueue("beats.gated", tenant_id=tenant.id, token=token)
    first = await eventually(lambda: _running(job_id), what="the job running")
    stamped = await eventually(lambda: _stamped_after(job_id, first.heartbeat_at), what="a later heartbeat")
    assert stamped.lease_until >= stamped.heartbeat_at + timedelta(seconds=1.0)
    assert shown_state(stamped) == "running" and stamped.worker_id == first.worker_id
    GATES[token].set()
    assert (await wait_for_job(job_id)).state == "done"


async def _running(job_id) -> Job | None:
    job = await _job(job_id)
    return job if job.state == "running" and job.heartbeat_at is not None else None


async def _stamped_after(job_id, before: datetime) -> Job | None:
    job = await _job(job_id)
    return job if job.heartbeat_at > before else None


async def test_a_lapsed_lease_reads_worker_lost_on_the_pages_and_in_the_api(app, client, make_tenant, make_user):
    tenant = await make_tenant()
    await login(client, tenant, await make_user(tenant, role="admin"))
    job = await _left_by_a_killed_worker(tenant, uuid.uuid4().hex)
    page = await client.get(f"/t/{tenant.slug}/jobs/{job.id}", headers={"accept": "text/html"})
    assert 'data-state="lost"' in page.text and "ワーカーが応答しません。再試行されます" in page.text
    listing = await client.get(f"/t/{tenant.slug}/jobs", headers={"accept": "text/html"})
    assert 'data-state="lost"' in listing.text and 'data-state="running"' not in listing.text
    client.cookies.set("lang", "en")
    english = await client.get(f"/t/{tenant.slug}/jobs/{job.id}", headers={"accept": "text/html"})
    assert "worker lost, will be retried" in english.text
    represented = job_state_of(job)
    assert represented.state == "lost" and represented.heartbeat_at == job.heartbeat_at


async def test_a_lost_workers_job_runs_again_from_its_redelivery(app, client, make_tenant):
    tenant = await make_tenant()
    token = uuid.uuid4().hex
    job = await _left_by_a_killed_worker(tenant, token)
    app.state.tasks._send("beats.counted", job.id, tenant.id, {"token": token})
    done = await wait_for_job(job.id)
    assert (done.state, done.attempts, done.result_ref, RUNS[token]) == ("done", 2, "run 1", 1)


async def test_a_finished_job_delivered_again_does_not_run_again(app, client, make_tenant):
    tenant = await make_tenant()
    token = uuid.uuid4().hex
    tasks = app.state.tasks
    job_id = await tasks.enqueue("beats.counted", tenant_id=tenant.id, token=token)
    assert (await wait_for_job(job_id)).result_ref == "run 1"
    tasks._send("beats.counted", job_id, tenant.id, {"token": token})
    await eventually(lambda: _queue_drained(tasks), what="the second delivery consumed")
    again = await _job(job_id)
    assert (again.state, again.attempts, again.result_ref, RUNS[token]) == ("done", 1, "run 1", 1)


async def _queue_drained(tasks) -> bool:
    broker = tasks.broker
    return all(q.unfinished_tasks == 0 for q in broker.queues.values())


async def test_a_job_held_by_a_live_worker_waits_for_its_lease(app, client, make_tenant):
    tenant = await make_tenant()
    token = uuid.uuid4().hex
    lease_ends = _now() + timedelta(seconds=1.5)
    job = await _left_by_a_killed_worker(tenant, token, lease_ends=lease_ends)
    app.state.tasks._send("beats.counted", job.id, tenant.id, {"token": token})
    done = await wait_for_job(job.id)
    assert (done.state, done.attempts, RUNS[token]) == ("done", 2, 1)
    assert done.started_at >= lease_ends


async def test_a_job_whose_worker_was_lost_on_every_attempt_fails(app, client, make_tenant):
    tenant = await make_tenant()
    token = uuid.uuid4().hex
    job = await _left_by_a_killed_worker(tenant, token, attempts=3)  # job_max_retries 2: three runs in all
    app.state.tasks._send("beats.counted", job.id, tenant.id, {"token": token})
    failed = await wait_for_job(job.id)
    assert (failed.state, failed.error, failed.attempts) == ("failed", "the worker was lost during all 3 attempts", 3)
    assert token not in RUNS
