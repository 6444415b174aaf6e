"""Shared fixtures: one migrated database per test session, a fresh app per test (from
mendan's pytest plugin, mendan/pytest_plugin.py), a live server, a browser.

Each test makes its own tenants (random slugs), so tests never see each other's rows.
Plugins are registered per test on a fresh `PluginHost`; entry-point discovery has
tests of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import socket
import threading
from collections.abc import Iterator

import pytest
import uvicorn

from core.config import Settings
from core.db.tables import Job
from core.storage import BlobStore
from core.web.i18n import DEFAULT_LANGUAGE, current_language

# The shared fixtures (host, app, client, make_tenant, make_user, login, the session's settings and
# database) are mendan's pytest plugin, the same kit outside plugin authors use.
from mendan.pytest_plugin import HTML, PASSWORD, make_settings, sign_in as login  # noqa: F401


def pytest_configure(config):
    """The kit is found through its `pytest11` entry point; load it by hand where the entry point is
    not installed yet (a checkout whose `pip install -e .` predates it)."""
    if not config.pluginmanager.has_plugin("mendan"):
        config.pluginmanager.import_plugin("mendan.pytest_plugin")


@pytest.fixture(scope="session")
def settings(mendan_settings: Settings) -> Settings:
    return mendan_settings


@pytest.fixture(autouse=True)
def default_language():
    """Every test starts in the default language: a sync test that sets `current_language` sets
    it for the whole thread, and the next test must not inherit it."""
    token = current_language.set(DEFAULT_LANGUAGE)
    yield
    current_language.reset(token)


@pytest.fixture(scope="session", autouse=True)
def migrated(mendan_database: Settings) -> None:
    """Every test runs on the migrated database."""


@contextlib.contextmanager
def serve(app) -> Iterator[str]:
    """`app` served by uvicorn on a free loopback port (its own thread and event loop) while the
    block runs; yields its base URL (http://127.0.0.1:PORT)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def live_server(app):
    """The test app served by uvicorn on a free loopback port (its own thread and event loop)."""
    with serve(app) as base:
        yield base


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
        violations = _watch_content_security_policy(launched)
        yield launched
        await launched.close()
    # Every browser test doubles as a check of the Content-Security-Policy: a page that needs an
    # inline script or a foreign source is caught even where the test did not look.
    assert not violations, f"Content-Security-Policy violations: {violations}"


def _watch_content_security_policy(browser) -> list[str]:
    """Collects chromium's console reports of Content-Security-Policy violations on every page
    the test opens (through `browser.new_page` or `browser.new_context`). `wait_for_function`
    takes a function (`"() => ..."`): an expression string is run with eval, which the policy refuses."""
    violations: list[str] = []

    def watch(page) -> None:
        page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)

    new_context, new_page = browser.new_context, browser.new_page

    async def context_watched(*args, **kwargs):
        context = await new_context(*args, **kwargs)
        context.on("page", watch)
        return context

    async def page_watched(*args, **kwargs):
        page = await new_page(*args, **kwargs)
        watch(page)
        return page

    browser.new_context, browser.new_page = context_watched, page_watched
    browser.csp_violations = violations  # a test that provokes one on purpose clears it
    return violations


@pytest.fixture
def storage(settings: Settings) -> BlobStore:
    return BlobStore.from_settings(settings)


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
