"""Liveness, readiness and Prometheus metrics for monitoring."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request, Response, get
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController

from core import ops_metrics
from core.db.tables import Tenant

prometheus_config = PrometheusConfig(app_name="mendan", group_path=True, exclude=["/metrics", "/healthz", "/static"])


class MetricsController(PrometheusController):
    """The request metrics, process metrics and the job and disk gauges of core.ops_metrics."""

    path = "/metrics"

    @get()
    async def get(self, request: Request) -> Response:
        settings = request.app.state.settings
        await ops_metrics.refresh(settings.queue_name, settings.data_dir)
        return await super().get.fn(self)  # the parent handler's function: it writes out the registry


@get("/healthz", exclude_from_auth=True, exclude_from_csrf=True, skip_session=True)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def _check(name: str, fn) -> tuple[str, str]:
    try:
        await asyncio.wait_for(fn(), timeout=5)
        return name, "ok"
    except Exception as exc:  # readiness reports every failure instead of raising
        return name, f"error: {type(exc).__name__}: {exc}"[:300]


@get("/readyz", exclude_from_auth=True, exclude_from_csrf=True, skip_session=True)
async def readyz(request: Request) -> Response[dict[str, Any]]:
    state = request.app.state

    async def database() -> None:
        await Tenant.count()

    async def broker() -> None:
        await asyncio.to_thread(state.tasks.ping)

    async def storage() -> None:
        await asyncio.to_thread(state.storage.check)

    checks = dict(await asyncio.gather(_check("database", database), _check("broker", broker), _check("storage", storage)))
    ok = all(v == "ok" for v in checks.values())
    return Response({"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503)
