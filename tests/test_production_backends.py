"""The production paths: `mendan migrate` and `mendan serve` on PostgreSQL, and real `mendan worker`
processes on Redis and RabbitMQ. Each test skips, saying why, only when its server is not running."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
from dataclasses import replace
from email import message_from_bytes, policy
from pathlib import Path

import httpx
import pytest

from core.config import Settings
from mendan.core_actors import CORE_ACTORS
from core.db.engine import bind_engine, make_engine
from core.db.tables import Job
from core.mail import build_message
from core.tasks import TaskQueue

ROOT = Path(__file__).resolve().parents[1]
MENDAN = str(Path(sys.executable).with_name("mendan"))
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/0"
RABBIT_URL = "amqp://guest:guest@127.0.0.1:5672/"


def _reachable(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return True
    except OSError:
        return False


def _env(data_dir: Path, **values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MENDAN_", "DATABASE_URL", "BROKER_URL"))}
    env.update(MENDAN_DATA_DIR=str(data_dir), MENDAN_SECRET_KEY="production-test-" + "s" * 40, **values)
    return env


def _mendan(*args: str, env: dict[str, str], timeout: int = 180) -> subprocess.CompletedProcess:
    return subprocess.run([MENDAN, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def _stop(process: subprocess.Popen) -> None:
    """Stop a server or worker we started, with the children it forked (its own process group)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture(scope="module")
async def pg_url():
    """A fresh PostgreSQL database, migrated by `mendan migrate`, dropped afterwards."""
    import asyncpg

    try:
        admin = await asyncpg.connect(PG_ADMIN, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.skip(f"PostgreSQL is not reachable at 127.0.0.1:5432 as postgres: {exc}")
    name = f"mendan_test_{secrets.token_hex(6)}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    try:
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.mark.postgres
async def test_migrate_runs_forwards_on_postgres(pg_url, tmp_path):
    import asyncpg

    env = _env(tmp_path, DATABASE_URL=pg_url)
    first = _mendan("migrate", env=env)
    assert first.returncode == 0, first.stderr
    assert "migrated postgres database" in first.stdout
    again = _mendan("migrate", env=env)  # nothing left to do, and no harm done
    assert again.returncode == 0, again.stderr
    conn = await asyncpg.connect(pg_url)
    try:
        tables = {r["tablename"] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname='public'")}
        applied = {r["app_name"] for r in await conn.fetch("SELECT DISTINCT app_name FROM migration")}
        kinds = {r["column_name"]: r["data_type"] for r in await conn.fetch(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name='mendan_job'")}
    finally:
        await conn.close()
    assert {"mendan_tenant", "mendan_user", "mendan_job", "mendan_audit", "mendan_plugin_setting"} <= tables
    assert "mendan_core" in applied
    assert kinds["created_at"] == "timestamp with time zone" and kinds["id"] == "uuid"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _wait_for(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    async with httpx.AsyncClient() as http:
        while asyncio.get_running_loop().time() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"the server stopped: {process.stdout.read()}")
            try:
                if (await http.get(url)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.3)
    raise AssertionError(f"{url} never answered")


async def _wait_for_file(folder: Path, pattern: str, timeout: float = 60) -> list[Path]:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        found = sorted(folder.glob(pattern)) if folder.exists() else []
        if found:
            return found
        await asyncio.sleep(0.2)
    raise AssertionError(f"nothing like {pattern} appeared in {folder}")


@pytest.mark.postgres
async def test_the_service_runs_on_postgres(pg_url, tmp_path):
    """`mendan demo` and `mendan serve` on PostgreSQL: sign in, see the tenant's home, and have
    the in-process worker deliver a password-reset mail through the job table."""
    env = _env(tmp_path, DATABASE_URL=pg_url)
    demo = _mendan("demo", "--interviews", "0", env=env)
    assert demo.returncode == 0, demo.stderr
    password = re.search(r"the password (\S+):", demo.stdout).group(1)
    port = _free_port()
    server = subprocess.Popen([MENDAN, "serve", "--port", str(port)], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        await _wait_for(f"{base}/healthz", server)
        async with httpx.AsyncClient(base_url=base, headers={"accept": "text/html"}) as http:
            ready = await http.get("/readyz")
            assert ready.status_code == 200, ready.text
            assert ready.json()["checks"] == {"database": "ok", "broker": "ok", "storage": "ok"}
            await http.get("/t/demo/login")
            signed_in = await http.post("/t/demo/login", data={
                "email": "admin@demo.example", "password": password, "_csrf_token": http.cookies["csrftoken"]})
            assert signed_in.status_code == 302, signed_in.text
            home = await http.get("/t/demo/")
            assert home.status_code == 200 and "デモ株式会社" in home.text
            await http.post("/t/demo/logout", data={"_csrf_token": http.cookies["csrftoken"]})
            await http.get("/t/demo/password-reset")
            asked = await http.post("/t/demo/password-reset", data={
                "email": "interviewer@demo.example", "_csrf_token": http.cookies["csrftoken"]})
            assert asked.status_code == 200
        mails = await _wait_for_file(tmp_path / "outbox", "*.eml")
        message = message_from_bytes(mails[0].read_bytes(), policy=policy.default)
        assert message["To"] == "interviewer@demo.example"
        assert "/t/demo/password-reset/" in message.get_body(("plain",)).get_content()
    finally:
        _stop(server)


@pytest.fixture
def worker_database(settings: Settings, pg_url: str | None):
    """The database the worker process and this test share: PostgreSQL, as in production."""
    worker_settings = replace(settings, database_url=pg_url)
    bind_engine(make_engine(worker_settings))
    try:
        yield worker_settings
    finally:
        bind_engine(make_engine(settings))


async def _run_mail_job_through_worker(worker_settings: Settings, broker_url: str, data_dir: Path) -> None:
    queue_name = f"mendan_test_{secrets.token_hex(4)}"
    env = _env(data_dir, DATABASE_URL=worker_settings.database_url, BROKER_URL=broker_url, MENDAN_QUEUE=queue_name)
    worker = subprocess.Popen([MENDAN, "worker", "--processes", "1", "--threads", "2"], env=env, cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    tasks = TaskQueue(replace(worker_settings, broker_url=broker_url, queue_name=queue_name), dict(CORE_ACTORS))
    try:
        msg = build_message(sender="no-reply@mendan.localhost", to="someone@example.jp",
                            subject="worker test", text="sent by a separate worker process")
        job_id = await tasks.enqueue("core.send_mail", tenant_id=None, message=msg.as_string())
        deadline = asyncio.get_running_loop().time() + 90
        while asyncio.get_running_loop().time() < deadline:
            job = await Job.objects().where(Job.id == job_id).first()
            if job.state in ("done", "failed") or worker.poll() is not None:
                break
            await asyncio.sleep(0.3)
        if worker.poll() is not None:
            raise AssertionError(f"the worker stopped: {worker.stdout.read()}")
        assert (job.state, job.error, job.attempts, job.progress) == ("done", "", 1, 100)
        mail = Path(job.result_ref)
        assert mail.parent == data_dir / "outbox" and mail.exists()
        received = message_from_bytes(mail.read_bytes(), policy=policy.default)
        assert "sent by a separate worker process" in received.get_body(("plain",)).get_content()
    finally:
        _stop(worker)
        _forget_queues(tasks, queue_name)
        tasks.stop()


def _forget_queues(tasks: TaskQueue, queue_name: str) -> None:
    """Leave no test queues behind on the shared server."""
    from dramatiq.common import dq_name, xq_name

    names = [queue_name, dq_name(queue_name), xq_name(queue_name)]
    if tasks.settings.broker_kind == "redis":
        tasks.broker.client.delete(*[f"dramatiq:{n}{suffix}" for n in names for suffix in ("", ".msgs")])
    else:
        for name in names:
            tasks.broker.channel.queue_delete(name)


@pytest.mark.postgres
@pytest.mark.redis
async def test_a_redis_worker_process_runs_an_actor(worker_database, tmp_path):
    if not _reachable(6379):
        pytest.skip("Redis is not reachable at 127.0.0.1:6379")
    await _run_mail_job_through_worker(worker_database, REDIS_URL, tmp_path)


@pytest.mark.postgres
@pytest.mark.rabbitmq
async def test_a_rabbitmq_worker_process_runs_an_actor(worker_database, tmp_path):
    if not _reachable(5672):
        pytest.skip("RabbitMQ is not reachable at 127.0.0.1:5672")
    await _run_mail_job_through_worker(worker_database, RABBIT_URL, tmp_path)
