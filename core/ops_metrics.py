"""Operations gauges for Prometheus beside the request metrics: the job queue and the data disk.

Read from the job table and the file system at each scrape of /metrics (core/health.py), so
every web process answers for the whole deployment, workers included. The alert rules over
them are docs/prometheus/alerts.yml.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from piccolo.query.functions.aggregate import Count, Min
from prometheus_client import Gauge

from core.db.tables import Job

QUEUE_DEPTH = Gauge("mendan_job_queue_depth", "Jobs waiting to run, per queue and actor", ["queue", "actor"])
OLDEST_QUEUED = Gauge("mendan_job_oldest_queued_age_seconds",
                      "Age of the oldest job waiting to run, per queue (0 when none waits)", ["queue"])
RUNNING = Gauge("mendan_jobs_running", "Jobs running now, per queue", ["queue"])
FAILED_RECENTLY = Gauge("mendan_jobs_failed_last_hour", "Jobs that failed for good in the last hour, per queue and actor",
                        ["queue", "actor"])
DISK_FREE = Gauge("mendan_data_dir_free_bytes", "Free bytes on the file system of the data folder")
DISK_SIZE = Gauge("mendan_data_dir_size_bytes", "Size in bytes of the file system of the data folder")


async def refresh(queue: str, data_dir: Path) -> None:
    """Set every gauge from the job table and the data folder's file system (called per scrape)."""
    now = datetime.now(UTC)
    waiting = await Job.select(Job.actor, Count(Job.id, alias="n"), Min(Job.created_at, alias="oldest")).where(
        Job.state == "queued").group_by(Job.actor)
    failed = await Job.select(Job.actor, Count(Job.id, alias="n")).where(
        (Job.state == "failed") & (Job.finished_at >= now - timedelta(hours=1))).group_by(Job.actor)
    running = await Job.count().where(Job.state == "running")
    # Cleared first, so an actor whose queue emptied does not keep its last value.
    QUEUE_DEPTH.clear()
    FAILED_RECENTLY.clear()
    for row in waiting:
        QUEUE_DEPTH.labels(queue, row["actor"]).set(row["n"])
    for row in failed:
        FAILED_RECENTLY.labels(queue, row["actor"]).set(row["n"])
    oldest = min((_aware(r["oldest"]) for r in waiting if r["oldest"]), default=None)
    OLDEST_QUEUED.labels(queue).set((now - oldest).total_seconds() if oldest else 0)
    RUNNING.labels(queue).set(running)
    usage = shutil.disk_usage(data_dir if data_dir.exists() else data_dir.parent)
    DISK_FREE.set(usage.free)
    DISK_SIZE.set(usage.total)


def _aware(moment: datetime | str) -> datetime:
    # SQLite hands back an aggregate's timestamp as text.
    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return value if value.tzinfo else value.replace(tzinfo=UTC)
