"""PostgreSQL connection pools (core.db.pools): the web loop's requests and the job worker threads
each stay within their pool's limit and reuse its connections, seen from PostgreSQL's own
pg_stat_activity; skips on SQLite (set MENDAN_TEST_POSTGRES=postgresql://user@host:port)."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import replace

import asyncpg
import httpx
import pytest

from core.config import Settings
from core.db.engine import close_kept_connections, current_engine
from core.db.pools import LOOP_POOL_NAME, SHARED_POOL_NAME
from core.db.tables import Job
from core.tasks import TaskQueue, current_job_id
from mendan.app import create_app
from mendan.pytest_plugin import BASE_URL, HTML, sign_in

pytestmark = pytest.mark.postgres

WEB_MAX = 3
SHARED_MAX = 2


@pytest.fixture
def pg_settings(mendan_database: Settings) -> Settings:
    if mendan_database.database_kind != "postgres":
        pytest.skip("pools are PostgreSQL's: set MENDAN_TEST_POSTGRES=postgresql://user@host:port")
    return replace(mendan_database, db_pool_min=1, db_pool_max=WEB_MAX, db_shared_pool_max=SHARED_MAX)


class Backends:
    """Samples the client backends connected to the test database, from a connection of its own to
    the `postgres` database (so it never counts itself): every pid seen, by application name."""

    def __init__(self, settings: Settings) -> None:
        self.server, self.database = settings.database_url.rsplit("/", 1)
        self.seen: dict[str, set[int]] = {}
        self.most: dict[str, int] = {}

    async def sample(self, conn: asyncpg.Connection) -> dict[str, set[int]]:
        rows = await conn.fetch("SELECT pid, application_name FROM pg_stat_activity "
                                "WHERE datname = $1 AND backend_type = 'client backend'", self.database)
        now: dict[str, set[int]] = {}
        for row in rows:
            now.setdefault(row["application_name"], set()).add(row["pid"])
        for name, pids in now.items():
            self.seen.setdefault(name, set()).update(pids)
            self.most[name] = max(self.most.get(name, 0), len(pids))
        return now

    async def watch(self, started: asyncio.Event, stop: asyncio.Event) -> None:
        """Sample until `stop` is set, and once more then; `started` is set after the first sample."""
        conn = await asyncpg.connect(f"{self.server}/postgres")
        try:
            await self.sample(conn)
            started.set()
            while not stop.is_set():
                await asyncio.sleep(0.005)  # sampling pace, not synchronisation
                await self.sample(conn)
        finally:
            await conn.close()

    async def start(self) -> tuple[asyncio.Task, asyncio.Event]:
        """A running `watch` (after its first sample) and the event that stops it."""
        started, stop = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(self.watch(started, stop))
        await asyncio.wait([task, asyncio.create_task(started.wait())], return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            task.result()  # the sampler's own failure
        return task, stop

    async def wait_for_none(self, name: str, timeout: float = 20) -> None:
        """Until no backend of `name` is connected (a closed connection's backend ends shortly after)."""
        conn = await asyncpg.connect(f"{self.server}/postgres")
        try:
            deadline = time.monotonic() + timeout
            while (await self.sample(conn)).get(name):
                assert time.monotonic() < deadline, f"{name} connections still open: {self.seen}"
                await asyncio.sleep(0.05)
        finally:
            await conn.close()


async def test_requests_reuse_the_web_loops_pool_within_its_limit(pg_settings, make_tenant, make_user):
    app = create_app(pg_settings)
    tenant = await make_tenant()
    user = await make_user(tenant, role="admin")
    backends = Backends(pg_settings)
    # The app's lifespan and its requests on this test's loop, as in `mendan serve`.
    async with app.lifespan(), httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client:
        await sign_in(client, tenant, user)
        watcher, stop = await backends.start()
        pages = [f"/t/{tenant.slug}/", f"/t/{tenant.slug}/interviews", f"/t/{tenant.slug}/people",
                 f"/t/{tenant.slug}/jobs"] * 5
        answers = await asyncio.gather(*(client.get(page, headers=HTML) for page in pages))
        stop.set()
        await watcher
        assert [a.status_code for a in answers] == [200] * len(pages)
    # 20 pages of several statements each ran on at most WEB_MAX connections, all the loop pool's.
    assert 1 <= len(backends.seen.get(LOOP_POOL_NAME, ())) <= WEB_MAX, backends.seen
    assert len(backends.seen.get(SHARED_POOL_NAME, ())) <= SHARED_MAX, backends.seen
    assert set(backends.seen) <= {LOOP_POOL_NAME, SHARED_POOL_NAME}, f"unpooled connections: {backends.seen}"
    await backends.wait_for_none(LOOP_POOL_NAME)  # closed at shutdown


async def test_worker_threads_share_the_process_pool_and_leave_nothing_open(pg_settings):
    create_app(pg_settings)  # binds the engine with pg_settings' limits
    engine = current_engine()
    seen: list[tuple[int, str, str]] = []
    lock = threading.Lock()

    async def whoami(tenant_id: str | None, number: int) -> None:
        rows = await Job.raw("SELECT pg_backend_pid() AS pid, current_setting('application_name') AS name")
        async with engine.transaction():  # a transaction's statements run on the shared pool too
            inside = await Job.raw("SELECT pg_backend_pid() AS pid")
            await Job.update({Job.message: f"job {number}"}).where(Job.id == current_job_id.get())
        with lock:
            seen.append((rows[0]["pid"], rows[0]["name"], threading.current_thread().name))
            seen.append((inside[0]["pid"], rows[0]["name"], threading.current_thread().name))

    queue = TaskQueue(pg_settings, {"test.whoami": whoami})
    queue.start_embedded_worker(threads=2)
    backends = Backends(pg_settings)
    watcher, stop = await backends.start()
    try:
        ids = [await queue.enqueue("test.whoami", tenant_id=None, number=n) for n in range(12)]
        deadline = time.monotonic() + 60
        while await Job.count().where(Job.id.is_in(ids) & (Job.state == "done")) < len(ids):
            assert time.monotonic() < deadline, await Job.select(Job.state, Job.error).where(Job.id.is_in(ids))
            await asyncio.sleep(0.05)
    finally:
        queue.stop()  # the worker threads end
        stop.set()
        await watcher
    messages = await Job.select(Job.message).where(Job.id.is_in(ids)).output(as_list=True)
    assert sorted(messages) == sorted(f"job {n}" for n in range(12))  # the transactions committed
    threads = {thread for _pid, _name, thread in seen}
    assert len(threads) == 2, seen  # both worker threads ran jobs ...
    assert {name for _pid, name, _thread in seen} == {SHARED_POOL_NAME}, seen  # ... on the shared pool
    assert len({pid for pid, _name, _thread in seen}) <= SHARED_MAX, seen
    assert backends.most.get(SHARED_POOL_NAME, 0) <= SHARED_MAX, backends.most
    assert set(backends.seen) <= {LOOP_POOL_NAME, SHARED_POOL_NAME}, f"unpooled connections: {backends.seen}"
    close_kept_connections(engine)
    await backends.wait_for_none(SHARED_POOL_NAME)
