"""docs/prometheus/alerts.yml: valid rules whose every metric the app really exports at /metrics,
and the job and disk gauges of core/ops_metrics.py telling the truth (spec table 7-1)."""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest
import yaml

from core.db.tables import Job

RULES = Path(__file__).resolve().parent.parent / "docs" / "prometheus" / "alerts.yml"
# Series Prometheus writes itself for every target, not the app's.
PROMETHEUS_MADE = {"up"}
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool",
                "offset", "le", "inf", "nan"}


def metric_names(expr: str) -> set[str]:
    """The metric names an expression reads: identifiers that are not functions, keywords, label
    names inside {...} / by (...), durations in [...] or numbers."""
    text = re.sub(r'"[^"]*"', "", expr)
    text = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?", text):
        name, call = match.group(1), match.group(2)
        if not call and name.lower() not in PROMQL_WORDS:
            names.add(name)
    return names


def exported_names(text: str) -> set[str]:
    return {line.split("{", 1)[0].split(" ", 1)[0] for line in text.splitlines() if line and not line.startswith("#")}


def rules() -> list[dict]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def test_metric_names_are_found_in_promql():
    assert metric_names('sum by (queue) (rate(a_total{x="y"}[5m])) / clamp_min(b, 1e-9) > 0.5') == {"a_total", "b"}
    assert metric_names("histogram_quantile(0.95, sum by (le) (rate(h_bucket[10m]))) > 3") == {"h_bucket"}


def test_rules_file_is_valid():
    found = rules()
    assert len(found) >= 8
    for rule in found:
        assert rule["alert"] and rule["expr"] and rule["labels"]["severity"] in ("warning", "critical"), rule
        assert rule["annotations"]["summary"]
    if shutil.which("promtool"):
        checked = subprocess.run(["promtool", "check", "rules", str(RULES)], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.fixture
async def jobs_of_a_test_actor():
    """Two waiting jobs (the older two hours old) and a failed one, of an actor of this test's own."""
    actor = f"test.alerts_{secrets.token_hex(3)}"
    now = datetime.now(UTC)
    rows = [Job(id=uuid4(), actor=actor, state="queued", created_at=now - timedelta(hours=2)),
            Job(id=uuid4(), actor=actor, state="queued", created_at=now - timedelta(minutes=1)),
            Job(id=uuid4(), actor=actor, state="failed", created_at=now - timedelta(minutes=30), finished_at=now - timedelta(minutes=5))]
    await Job.insert(*rows)
    yield actor
    await Job.delete().where(Job.actor == actor)


def sample(text: str, name: str, **labels: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            if all(f'{k}="{v}"' in line for k, v in labels.items()):
                return float(line.rsplit(" ", 1)[1])
    return None


async def test_every_rule_reads_metrics_the_app_exports(client, settings, jobs_of_a_test_actor):
    actor = jobs_of_a_test_actor
    assert (await client.get("/", headers={"accept": "text/html"})).status_code == 200  # request metrics appear
    response = await client.get("/metrics")
    assert response.status_code == 200
    exported = exported_names(response.text)
    for rule in rules():
        unknown = metric_names(rule["expr"]) - exported - PROMETHEUS_MADE
        assert not unknown, f"{rule['alert']} reads {sorted(unknown)}, which /metrics does not export"

    text, queue = response.text, settings.queue_name
    assert sample(text, "mendan_job_queue_depth", queue=queue, actor=actor) == 2
    assert sample(text, "mendan_jobs_failed_last_hour", queue=queue, actor=actor) == 1
    assert sample(text, "mendan_job_oldest_queued_age_seconds", queue=queue) >= 2 * 3600
    usage = shutil.disk_usage(settings.data_dir)
    assert sample(text, "mendan_data_dir_size_bytes") == usage.total
    assert 0 < sample(text, "mendan_data_dir_free_bytes") <= usage.total


async def test_a_queue_that_empties_drops_its_actor(client, settings, jobs_of_a_test_actor):
    actor = jobs_of_a_test_actor
    assert sample((await client.get("/metrics")).text, "mendan_job_queue_depth", actor=actor) == 2
    await Job.update({Job.state: "done"}).where((Job.actor == actor) & (Job.state == "queued"))
    assert sample((await client.get("/metrics")).text, "mendan_job_queue_depth", actor=actor) is None
