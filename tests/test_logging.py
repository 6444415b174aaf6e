"""Logging (core/log_config.py, core/web/middleware.py): JSON lines in production with the request's
ids bound, readable console output in development, standard-library records rendered the same way."""

from __future__ import annotations

import base64
import io
import json
import logging
import threading
from dataclasses import replace

import structlog
from litestar.testing import AsyncTestClient

from mendan.app import create_app
from core.log_config import _MendanHandler, configure_logging
from tests.conftest import HTML, login


def _lines(buffer: io.StringIO) -> list[dict]:
    # Every line must be JSON: json.loads fails the test on anything else.
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


async def test_a_request_logs_a_json_line_with_its_ids_in_production(settings, host, storage, make_tenant, make_user):
    production = replace(settings, environment="production",
                         master_key=base64.urlsafe_b64encode(storage.master_key).decode())
    app = create_app(production, host=host)
    buffer = io.StringIO()
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=buffer))  # keeps create_app's processors
    try:
        tenant = await make_tenant()
        user = await make_user(tenant, "admin")
        # Production cookies are Secure: the client must speak https to keep them.
        async with AsyncTestClient(app, base_url="https://testserver.local") as client:
            await login(client, tenant, user)
            home = await client.get(f"/t/{tenant.slug}/", headers={**HTML, "X-Request-ID": "proxy-42.a"})
            odd = await client.get(f"/t/{tenant.slug}/", headers={**HTML, "X-Request-ID": "x" * 65})
        assert home.status_code == 200 and odd.status_code == 200
        requests = [line for line in _lines(buffer)
                    if line["event"] == "request" and line["path"].rstrip("/") == f"/t/{tenant.slug}"]
    finally:
        configure_logging(settings.is_production)
    assert len(requests) == 2
    first, second = requests
    assert first["request_id"] == "proxy-42.a"
    assert first["user_id"] == str(user.id) and first["tenant_id"] == str(tenant.id)
    assert (first["method"], first["status"], first["level"]) == ("GET", 200, "info")
    assert first["timestamp"].endswith("Z") and isinstance(first["ms"], float)
    # An id that is not a plain token is replaced by one of ours.
    assert len(second["request_id"]) == 32 and second["request_id"] != first["request_id"]


def test_development_logs_are_console_lines_and_production_logs_json():
    try:
        configure_logging(False)
        assert isinstance(structlog.get_config()["processors"][-1], structlog.dev.ConsoleRenderer)
        configure_logging(True)
        assert isinstance(structlog.get_config()["processors"][-1], structlog.processors.JSONRenderer)
        ours = [h for h in logging.getLogger().handlers if isinstance(h, _MendanHandler)]
        assert len(ours) == 1  # configuring twice does not stack handlers
        buffer = io.StringIO()
        ours[0].setStream(buffer)
        structlog.contextvars.bind_contextvars(job_id="j-1")
        logging.getLogger("dramatiq.test").warning("from the standard library %s", "module")
        structlog.contextvars.clear_contextvars()
        (line,) = _lines(buffer)
        assert line["event"] == "from the standard library module"
        assert (line["logger"], line["level"], line["job_id"]) == ("dramatiq.test", "warning", "j-1")
    finally:
        configure_logging(False)


def test_litestars_own_records_are_json_lines_and_an_app_starts_no_logging_thread(settings, host):
    # Another test's bare Litestar app (its default logging config) may have taken the logger over.
    litestar_logger = logging.getLogger("litestar")
    litestar_logger.handlers.clear()
    litestar_logger.propagate = True
    def listeners() -> set[threading.Thread]:  # a logging.handlers.QueueListener's thread runs `_monitor`
        return {t for t in threading.enumerate() if "(_monitor)" in t.name}

    before = listeners()
    apps = [create_app(settings, host=host) for _ in range(3)]
    assert not listeners() - before  # Litestar's queue listener would add one thread per app
    assert litestar_logger.propagate and not litestar_logger.handlers  # our apps leave it to the root's handler
    try:
        configure_logging(True)
        (ours,) = [h for h in logging.getLogger().handlers if isinstance(h, _MendanHandler)]
        buffer = io.StringIO()
        ours.setStream(buffer)
        logging.getLogger("litestar").warning("from litestar")
        (line,) = _lines(buffer)
        assert (line["event"], line["logger"]) == ("from litestar", "litestar")
    finally:
        configure_logging(False)
    assert len(apps) == 3
