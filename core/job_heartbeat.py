"""Worker heartbeats per job: which worker runs a job, and whether that worker still lives.

Before a worker runs a message it claims the job's row with one conditional UPDATE, so two
deliveries of one job never run at once and a job that finished never runs again. While the job
runs, one thread per worker process stamps the rows of its jobs every `job_heartbeat_s` and moves
their lease `worker_lost_after_s` ahead. A running job past its lease has lost its worker (killed,
out of memory, machine gone): pages and the API show "worker lost", and the broker's redelivery
(Redis after the same timeout, see core/tasks.py; RabbitMQ when the dead connection closes) claims
it again and runs it from the start. Clocks of web and worker hosts are assumed in step (NTP).
"""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import structlog
from dramatiq.middleware import Middleware

from core.config import Settings
from core.web.i18n import N_

log = structlog.get_logger("mendan.job_heartbeat")

# Claim outcomes: run it; it finished (or its row is gone), drop the delivery; another live worker
# holds it, look again when its lease ends; its worker was lost on every attempt, it failed for good.
CLAIMED, FINISHED, HELD, SPENT = "claimed", "finished", "held", "spent"
LOST = "lost"  # the state shown for a running job whose worker's lease ran out
WORKER_LOST = N_("the worker was lost during all %(n)s attempts")  # a job's error when every attempt lost its worker


def _now() -> datetime:
    return datetime.now(timezone.utc)


def process_prefix() -> str:
    """"host:pid:" of this process; a worker id adds the thread."""
    return f"{socket.gethostname()}:{os.getpid()}:"


def worker_id() -> str:
    """The running thread's worker id, "host:pid:thread" (at most 200 characters)."""
    return f"{process_prefix()}{threading.get_ident()}"[-200:]


def shown_state(job: Any, now: datetime | None = None) -> str:
    """The state to show for a `Job` row: its stored state (queued, running, done, failed), except
    "lost" for a running job whose lease has run out. Rows from before heartbeats have no lease."""
    lease = getattr(job, "lease_until", None)
    if job.state == "running" and lease is not None and lease < (now or _now()):
        return LOST
    return job.state


@dataclass(frozen=True)
class Claim:
    """What `claim` found: `outcome` one of CLAIMED, FINISHED, HELD, SPENT; `retry_in_ms` (HELD)
    when the holder's lease ends; `attempts` the row's attempts afterwards."""

    outcome: str
    retry_in_ms: int = 0
    attempts: int = 0


def claim(job_id: str, *, worker: str, settings: Settings) -> Claim:
    """Take the job's row for `worker`: state running, attempts + 1, a fresh lease. The caller
    holds the job's reservation in this process (`JobHeartbeat.reserve`), so no other attempt of
    it runs here.

    Claimable: a queued job, or a running one whose lease ran out (its worker was lost), or one
    whose last attempt ran in this very process, which has then ended (a retry that arrived before
    that attempt's row was written). A lost worker's job is claimed at most `job_max_retries` + 1
    times in all; past that it is marked failed here (SPENT)."""
    from core.db.tables import Job

    now = _now()
    free = (Job.state == "running") & (Job.lease_until.is_null() | (Job.lease_until < now)
                                       | Job.worker_id.like(process_prefix() + "%"))
    claimed = Job.update({
        Job.state: "running", Job.started_at: now, Job.attempts: Job.attempts + 1, Job.error: "",
        Job.worker_id: worker, Job.heartbeat_at: now,
        Job.lease_until: now + timedelta(seconds=settings.worker_lost_after_s),
    }).where((Job.id == job_id) & ((Job.state == "queued") | free) & (Job.attempts <= settings.job_max_retries)
             ).returning(Job.attempts).run_sync()
    if claimed:
        return Claim(CLAIMED, attempts=claimed[0]["attempts"])
    row = Job.select(Job.state, Job.lease_until, Job.attempts).where(Job.id == job_id).first().run_sync()
    if row is None or row["state"] in ("done", "failed"):
        return Claim(FINISHED)
    lease = row["lease_until"]
    if row["state"] == "running" and lease is not None and lease >= now:
        wait = (lease - now).total_seconds() + settings.job_heartbeat_s
        return Claim(HELD, retry_in_ms=int(wait * 1000), attempts=row["attempts"])
    Job.update({
        Job.state: "failed", Job.finished_at: now,
        Job.error: WORKER_LOST % {"n": row["attempts"]},
    }).where((Job.id == job_id) & (Job.state == row["state"])).run_sync()
    return Claim(SPENT, attempts=row["attempts"])


class JobHeartbeat(Middleware):
    """Stamps the rows of the jobs this worker process runs, from one thread.

    Placed after `Retries`, so its `after_process_message` (run before Retries') lets go of a
    failed attempt before its retry is sent. A successful attempt is let go by the job table's
    middleware once the row says done."""

    def __init__(self, settings: Settings) -> None:
        if settings.worker_lost_after_s < 2 * settings.job_heartbeat_s:
            raise ValueError("MENDAN_WORKER_LOST_AFTER_S must be at least twice MENDAN_JOB_HEARTBEAT_S")
        self.settings = settings
        self._held: dict[str, str] = {}  # job id -> worker id
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def reserve(self, job_id: str, worker: str) -> bool:
        """Hold the job for `worker` unless another thread of this process holds it already; True
        when this call took it. Taken before the row is claimed, and a delivery that does not get it
        claims nothing: two deliveries of one job in two threads of one process never both run."""
        with self._lock:
            if job_id in self._held:
                return False
            self._held[job_id] = worker
            return True

    def hold(self, job_id: str, worker: str) -> None:
        with self._lock:
            self._held[job_id] = worker

    def release(self, job_id: str) -> None:
        with self._lock:
            self._held.pop(job_id, None)

    def after_worker_boot(self, broker, worker):
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="mendan-job-heartbeat", daemon=True)
        self._thread.start()

    def before_worker_shutdown(self, broker, worker):
        self._stop.set()

    def after_process_message(self, broker, message, *, result=None, exception=None):
        if exception is not None:
            self.release(message.options.get("job_id"))

    def _run(self) -> None:
        while not self._stop.wait(self.settings.job_heartbeat_s):
            try:
                self.beat()
            except Exception as exc:  # a missed beat is retried next time; the lease allows several
                log.warning("job_heartbeat_failed", error=repr(exc))

    def beat(self) -> int:
        """Stamp every job this process holds; returns how many rows were stamped."""
        from core.db.tables import Job

        with self._lock:
            held = dict(self._held)
        if not held:
            return 0
        now = _now()
        stamped = Job.update({
            Job.heartbeat_at: now, Job.lease_until: now + timedelta(seconds=self.settings.worker_lost_after_s),
        }).where(Job.id.is_in(list(held)) & Job.worker_id.is_in(list(set(held.values()))) & (Job.state == "running")
                 ).returning(Job.id).run_sync()
        return len(stamped)
