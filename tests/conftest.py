"""Shared fixtures: one migrated SQLite database per test session, a fresh app per test.

Each test makes its own tenants (random slugs), so tests never see each other's rows.
Plugins are registered per test on a fresh `PluginHost`; entry-point discovery has
tests of its own.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
import socket
import tempfile
import threading
from pathlib import Path

import pytest
import uvicorn
from litestar.testing import AsyncTestClient

from core.auth.passwords import hash_password
from core.config import Settings, use_settings
from core.db.tables import Job, User
from core.plugins import PluginHost
from core.storage import BlobStore
from core.tenancy import create_tenant

PASSWORD = "correct-horse-battery"
_TMP = Path(tempfile.mkdtemp(prefix="mendan-test-"))


def make_settings(data_dir: Path, **overrides) -> Settings:
    values = dict(
        data_dir=data_dir,
        database_url=f"sqlite:///{data_dir / 'mendan.sqlite'}",
        secret_key="test-secret-" + "x" * 40,
        login_rate_per_minute=1000,
        queue_name=f"mendan_test_{secrets.token_hex(4)}",
    )
    values.update(overrides)
    return Settings(**values)


# MENDAN_TEST_POSTGRES=postgresql://postgres@127.0.0.1:5432 runs the suite on a fresh PostgreSQL
# database (made here, dropped at the end) instead of SQLite; .ci/run does both.
TEST_POSTGRES = os.environ.get("MENDAN_TEST_POSTGRES", "").rstrip("/")


async def _postgres(statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(f"{TEST_POSTGRES}/postgres")
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def settings():
    if not TEST_POSTGRES:
        yield use_settings(make_settings(_TMP))
        return
    name = f"mendan_test_{secrets.token_hex(4)}"
    asyncio.run(_postgres(f"CREATE DATABASE {name}"))
    yield use_settings(make_settings(_TMP, database_url=f"{TEST_POSTGRES}/{name}"))
    asyncio.run(_postgres(f"DROP DATABASE {name} WITH (FORCE)"))


@pytest.fixture(scope="session", autouse=True)
async def migrated(settings: Settings) -> None:
    from core.db.migrate import migrate

    await migrate(settings)


@pytest.fixture
def host() -> PluginHost:
    return PluginHost()


@pytest.fixture
def app(settings: Settings, host: PluginHost):
    from core.app import create_app

    return create_app(use_settings(settings), host=host)


@pytest.fixture
async def client(app):
    async with AsyncTestClient(app, base_url="http://testserver.local") as c:
        yield c


@pytest.fixture
def live_server(app):
    """The test app served by uvicorn on a free loopback port (its own thread and event loop)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


# Debian's chromium, headless, with a fake camera and microphone; no network of its own.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
]


@pytest.fixture
async def browser():
    """A Playwright browser on Debian's chromium (never a downloaded one)."""
    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        launched = await pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@pytest.fixture
def storage(settings: Settings) -> BlobStore:
    return BlobStore.from_settings(settings)


@pytest.fixture
def make_tenant(storage: BlobStore):
    async def make(slug: str | None = None, **kw):
        return await create_tenant(storage, slug=slug or f"t-{secrets.token_hex(4)}", name=kw.pop("name", "Test KK"), **kw)

    return make


@pytest.fixture
def make_user():
    async def make(tenant, role: str = "admin", email: str | None = None, password: str | None = PASSWORD, **kw):
        user = User(
            tenant=tenant.id if tenant is not None else None,
            email=email or f"{role}-{secrets.token_hex(4)}@example.jp",
            role=role,
            display_name=kw.pop("display_name", role),
            password_hash=hash_password(password) if password else None,
            **kw,
        )
        await user.save()
        return user

    return make


HTML = {"accept": "text/html"}


async def login(client, tenant, user, password: str = PASSWORD):
    path = f"/t/{tenant.slug}/login" if tenant is not None else "/login"
    await client.get(path, headers=HTML)
    response = await client.post(
        path,
        data={"email": user.email, "password": password, "_csrf_token": client.cookies["csrftoken"]},
        headers=HTML,
        follow_redirects=False,
    )
    assert response.status_code == 302, response.text
    return response


def form_csrf(html: str) -> str:
    match = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field in the form"
    return match.group(1)


async def wait_for_job(job_id, timeout: float = 180) -> Job:
    """The job once it is done or failed (polled; the in-process worker runs it)."""
    deadline = asyncio.get_running_loop().time() + timeout
    job = None
    while asyncio.get_running_loop().time() < deadline:
        job = await Job.objects().where(Job.id == job_id).first()
        if job.state in ("done", "failed"):
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish: {job.state} {job.progress} {job.error}" if job else job_id)


async def eventually(check, timeout: float = 60, what: str = ""):
    """Poll the async `check()` until it returns something truthy, and return that.

    For effects another thread or job writes: a test waits for exactly what it asserts, never for
    a neighbouring effect that happens to come first (CI runs under load)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.05)
