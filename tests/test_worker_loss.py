"""A worker killed mid-job (issue 21, item 10): PostgreSQL, a Redis server of the test's own on a
free port, `mendan worker` processes started here and `kill -9`ed. The job page says the worker was
lost once its heartbeat lapses, a second worker runs the job again within the configured timeout,
and it finishes exactly once: a later delivery of the finished job does not run it again."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import pytest
import redis

from core.config import Settings
from core.db.tables import Job
from core.tasks import TaskQueue
from tests.conftest import eventually, login
from tests.test_production_backends import MENDAN, ROOT, _env, _free_port, _stop


LOST_AFTER_S = 6.0
HEARTBEAT_S = 1.0
ACTOR = "worker_loss.slow"  # declared in tests/worker_loss_actor.py, which only a worker process imports
pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
def own_redis(tmp_path):
    """A redis-server of this test's own on a free port (no persistence), stopped afterwards."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = _free_port()
    server = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                               "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, start_new_session=True)
    client = redis.Redis(port=port)
    deadline = time.monotonic() + 30
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline or server.poll() is not None:
                raise AssertionError("the test's redis-server did not start")
            time.sleep(0.05)
    try:
        yield f"redis://127.0.0.1:{port}/0", client
    finally:
        server.kill()
        server.wait(timeout=10)


def _start_worker(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([MENDAN, "worker", "--processes", "1", "--threads", "1", "tests.worker_loss_actor"],
                            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


async def _job(job_id) -> Job:
    return await Job.objects().where(Job.id == job_id).first()


async def _state_on_page(client, tenant, job_id) -> str:
    page = await client.get(f"/t/{tenant.slug}/jobs/{job_id}", headers={"accept": "text/html"})
    assert page.status_code == 200
    return page.text


async def test_a_killed_workers_job_shows_lost_runs_again_and_finishes_once(
        settings: Settings, own_redis, tmp_path, client, make_tenant, make_user):
    if settings.database_kind != "postgres":
        pytest.skip("the worker fault test runs on PostgreSQL: set MENDAN_TEST_POSTGRES")
    broker_url, redis_client = own_redis
    queue_name = settings.queue_name + "_loss"
    env = _env(tmp_path / "data", DATABASE_URL=settings.database_url, BROKER_URL=broker_url, MENDAN_QUEUE=queue_name,
               MENDAN_WORKER_LOST_AFTER_S=str(LOST_AFTER_S), MENDAN_JOB_HEARTBEAT_S=str(HEARTBEAT_S),
               MENDAN_PLUGINS="none")  # the job needs no plugin: without them a worker starts in half the time
    tasks = TaskQueue(replace(settings, broker_url=broker_url, queue_name=queue_name, worker_lost_after_s=LOST_AFTER_S,
                              job_heartbeat_s=HEARTBEAT_S), {ACTOR: lambda **kwargs: None})
    tenant = await make_tenant()
    await login(client, tenant, await make_user(tenant, role="admin"))
    side_effects = tmp_path / "effects"
    side_effects.mkdir()
    starts, finishes = side_effects / "starts", side_effects / "finishes"
    first = _start_worker(env)
    second = None
    try:
        job_id = await tasks.enqueue(ACTOR, tenant_id=tenant.id, folder=str(side_effects))
        await eventually(lambda: _until(lambda: len(_lines(starts)) == 1, first), timeout=180, what="the first start")
        running = await _job(job_id)
        assert running.state == "running" and running.worker_id.split(":")[1] == _lines(starts)[0]
        assert 'data-state="running"' in await _state_on_page(client, tenant, job_id)

        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
        page = await eventually(lambda: _page_with(client, tenant, job_id, 'data-state="lost"'), timeout=120,
                                what="the job page saying the worker was lost")
        assert "ワーカーが応答しません。再試行されます" in page  # the page speaks the default language, Japanese
        assert (await _job(job_id)).state == "running" and len(_lines(starts)) == 1

        second = _start_worker(env)
        launched_ms = time.time() * 1000
        polling = await eventually(
            lambda: _until(lambda: _first_poll(redis_client, launched_ms, tasks.broker.broker_id), second),
            timeout=180, what="the second worker polling Redis")
        await eventually(lambda: _until(lambda: len(_lines(starts)) == 2, second), timeout=180,
                         what="the second worker starting the job again")
        again = await _job(job_id)
        # The dead worker's Redis heartbeat is older than LOST_AFTER_S by now, so its message comes back at the
        # second worker's first polls; dramatiq's defaults would wait 60 s and then minutes for maintenance.
        assert again.started_at.timestamp() - polling < LOST_AFTER_S + 10
        assert again.attempts == 2 and again.worker_id.split(":")[1] == _lines(starts)[1] == str(_child_of(second))

        (side_effects / "open").touch()
        done = await eventually(lambda: _finished(job_id), timeout=120, what="the job finishing")
        assert (done.state, done.error, done.attempts) == ("done", "", 2)
        assert len(_lines(finishes)) == 1

        # The same message once more: consumed (acknowledged) by the worker, and not run again.
        tasks._send(ACTOR, job_id, tenant.id, {"folder": str(side_effects)})
        await eventually(lambda: _until(lambda: redis_client.hlen(f"dramatiq:{queue_name}.msgs") == 0, second),
                         timeout=120, what="the second delivery consumed")
        assert (len(_lines(starts)), len(_lines(finishes))) == (2, 1)
        assert ((await _job(job_id)).state, (await _job(job_id)).attempts) == ("done", 2)
    finally:
        for worker in (first, second):
            if worker is not None:
                _stop(worker)
        tasks.stop()


async def _until(check, worker: subprocess.Popen) -> bool:
    if worker.poll() is not None:
        raise AssertionError(f"the worker stopped: {worker.stdout.read()}")
    return check()


async def _page_with(client, tenant, job_id, text: str) -> str | None:
    page = await _state_on_page(client, tenant, job_id)
    return page if text in page else None


async def _finished(job_id) -> Job | None:
    job = await _job(job_id)
    return job if job.state in ("done", "failed") else None


def _first_poll(redis_client, since_ms: float, ours: str) -> float | None:
    """When a broker other than the test's own first spoke to Redis after `since_ms` (seconds since
    the epoch): every dramatiq command stamps its broker in the heartbeats set."""
    for member, score in redis_client.zrange("dramatiq:__heartbeats__", 0, -1, withscores=True):
        if member.decode() != ours and score >= since_ms:
            return score / 1000
    return None


def _child_of(worker: subprocess.Popen) -> int:
    """The pid of the one process dramatiq forked to run jobs."""
    children = Path(f"/proc/{worker.pid}/task/{worker.pid}/children").read_text().split()
    assert len(children) == 1, children
    return int(children[0])
