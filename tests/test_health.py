"""Operations endpoints (core/health.py): liveness, readiness with named failing checks, Prometheus metrics."""

from __future__ import annotations

from dataclasses import replace

from litestar.testing import AsyncTestClient

from mendan.app import create_app


async def test_healthz(client):
    response = await client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_readyz_when_everything_works(client):
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok", "storage": "ok"}}


async def test_readyz_names_an_unwritable_storage_folder(app, client, tmp_path):
    blocked = tmp_path / "blobs"
    blocked.write_text("a file where the folder should be")
    app.state.storage.root = blocked
    response = await client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["storage"].startswith("error: ")
    assert body["checks"]["database"] == "ok" and body["checks"]["broker"] == "ok"


async def test_readyz_names_an_unreachable_broker(settings, host):
    # Nothing listens on port 1: the broker check must fail, the others must not.
    app = create_app(replace(settings, broker_url="redis://127.0.0.1:1/0"), host=host)
    async with AsyncTestClient(app) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["broker"].startswith("error: ") and "ConnectionError" in checks["broker"]
    assert checks["database"] == "ok" and checks["storage"] == "ok"


async def test_readyz_names_a_stopped_embedded_worker(app, client):
    app.state.tasks.stop()
    response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == "error: RuntimeError: the in-process worker is not running"


def _landing_count(text: str) -> float:
    for line in text.splitlines():
        if (line.startswith("litestar_requests_total{") and 'app_name="mendan"' in line and 'path="/"' in line
                and 'method="GET"' in line and 'status_code="200"' in line):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_metrics_count_requests_in_prometheus_text_format(client):
    before = _landing_count((await client.get("/metrics")).text)
    for _ in range(3):
        assert (await client.get("/", headers={"accept": "text/html"})).status_code == 200
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert "# TYPE litestar_requests_total counter" in text
    assert _landing_count(text) == before + 3
    assert 'litestar_request_duration_seconds_bucket{app_name="mendan"' in text
    # The probes themselves are not counted.
    assert 'path="/metrics"' not in text and 'path="/healthz"' not in text
