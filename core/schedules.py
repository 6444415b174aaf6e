"""The embedded scheduler for plugins' periodic jobs (the monthly fairness monitoring, ...).

On the embedded default the web process keeps the schedule, as it does for the daily
retention purge; with a broker, production runs each plugin's CLI command from cron, so the
scheduler does not start. A job only enqueues an actor; the actor does the work, and must
be idempotent (a restart may run it again).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import structlog

log = structlog.get_logger("mendan.schedules")


@dataclass(frozen=True)
class ScheduledJob:
    """`actor` (full name, `{plugin_key}.{task}`) is enqueued with tenant_id=None at each
    `next_run(now)`, which returns the next aware datetime strictly after `now`."""

    actor: str
    next_run: Callable[[datetime], datetime]


async def _run_forever(job: ScheduledJob, tasks: Any) -> None:
    while True:
        now = datetime.now(timezone.utc)
        await asyncio.sleep(max(1.0, (job.next_run(now) - now).total_seconds()))
        await tasks.enqueue(job.actor, tenant_id=None)
        log.info("scheduled_job_enqueued", actor=job.actor)


async def start_scheduled_jobs(app: Any) -> None:
    """Start one timer per plugin job (embedded default only)."""
    if not app.state.tasks.embedded:
        return
    jobs = [job for _key, jobs in app.state.plugin_host.call_each("mendan_scheduled_jobs") for job in jobs]
    loop = asyncio.get_running_loop()
    app.state.scheduled_jobs = [loop.create_task(_run_forever(job, app.state.tasks)) for job in jobs]


async def stop_scheduled_jobs(app: Any) -> None:
    for task in app.state.get("scheduled_jobs") or []:
        task.cancel()
