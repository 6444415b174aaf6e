"""Background jobs: one Dramatiq broker per process, actors from plugins, a job table.

Embedded default: a `StubBroker` with a `Worker` running in this process. Jobs
queued or running when the process stopped are found in the job table at start-up
and sent again, because the in-memory broker forgot them. With `BROKER_URL`
(redis:// or amqp://) separate `mendan worker` processes do the work.

Every actor is named `{plugin_key}.{task}` (the core's own are `core.{task}`),
takes `tenant_id` and JSON-able keyword arguments, and is tracked in the
`Job` table by `JobTableMiddleware`.

The Job table is also the outbox (transactional outbox): `enqueue` writes the row first and
sends the message only once the row is durable, after the enclosing `write_transaction()`
committed (core.db.constraints.on_commit), at once outside one. A message that could not be
sent (the broker is down) leaves the row unsent (`sent_at` empty) and the caller unharmed;
`relay_unsent` (run by the sweeper, core.sweeper) sends it later. A job may so be sent twice:
the worker runs it once, since every delivery first claims the job's row (core.job_heartbeat.claim)
and one that finds the job done is dropped, one that finds it held by a live worker waits.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Any, Callable
from uuid import UUID, uuid4

import dramatiq
import structlog
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import Middleware, Retries, SkipMessage

from core.db.json_columns import json_value
from core.config import Settings
from core.job_heartbeat import CLAIMED, HELD, SPENT, Claim, JobHeartbeat, claim, worker_id
from core.web.i18n import N_

# `core.db.tables` (piccolo) is imported inside the functions that use `Job`: every plugin imports
# this module, and every `mendan` command loads the plugins.
from core.plugins import close_dispatch_scope, open_dispatch_scope

log = structlog.get_logger("mendan.tasks")

# Batch work (a long recording's analysis, a model build) runs far past Dramatiq's default ten minutes.
TIME_LIMIT_MS = 6 * 3600 * 1000
RELAY_AFTER_S = 30  # an unsent job younger than this may still be sent by the request that made it
current_job_id: ContextVar[str | None] = ContextVar("current_job_id", default=None)
job_result: ContextVar[Any] = ContextVar("job_result", default=None)  # what the running actor returned
_dispatch_token: ContextVar[Any] = ContextVar("dispatch_token", default=None)


FinalFailureHandler = Callable[[dict[str, Any]], Any]
_final_failure_handlers: dict[str, list[FinalFailureHandler]] = {}


def on_final_failure(actor_name: str, handler: FinalFailureHandler) -> None:
    """Call `handler(kwargs)` (may be async) when a job of `actor_name` has failed for good:
    refused, out of retries, or skipped. The core's analysis counts its finished steps so."""
    handlers = _final_failure_handlers.setdefault(actor_name, [])
    if handler not in handlers:
        handlers.append(handler)


def _failed_for_good(message: Any) -> None:
    for handler in _final_failure_handlers.get(message.actor_name, ()):
        try:
            result = handler(dict(message.kwargs))
            if inspect.isawaitable(result):
                asyncio.run(_await(result))
        except Exception as exc:  # a handler's failure must not hide the job's own
            log.exception("final_failure_handler_failed", actor=message.actor_name, error=repr(exc))


class JobRefused(Exception):
    """A job that cannot succeed however often it runs (bad input, too little data):
    it fails at once, without retries, and its message is shown to the user in words
    (core.job_texts.failure_text): an English msgid marked with `N_`, optionally followed by
    ": " and details (ids, values) that are shown to support only."""


def _now() -> datetime:
    return datetime.now(timezone.utc)


class JobTableMiddleware(Middleware):
    """Keeps the `Job` row of each message: running, progress, done or failed, with timing.

    A delivery runs only after it claims the row (core/job_heartbeat.py); one that finds the job
    finished is dropped, one that finds it held by a live worker looks again when that lease ends."""

    def __init__(self, settings: Settings, heartbeat: JobHeartbeat) -> None:
        self.settings = settings
        self.heartbeat = heartbeat

    def before_process_message(self, broker, message):
        job_id = message.options.get("job_id")
        structlog.contextvars.clear_contextvars()
        # The tenant's enabled plugins are read once per job; the worker thread runs one message at a time.
        _dispatch_token.set(open_dispatch_scope())
        if not job_id:
            return
        current_job_id.set(job_id)
        structlog.contextvars.bind_contextvars(
            job_id=job_id, actor=message.actor_name, tenant_id=message.kwargs.get("tenant_id")
        )
        worker = worker_id()
        if not self.heartbeat.reserve(job_id, worker):
            # Another thread of this process has this job's delivery: it may not have claimed the
            # row yet, and a claim here would let both run. This one looks again a heartbeat later.
            self._pass_over(broker, message, Claim(HELD, retry_in_ms=int(self.settings.job_heartbeat_s * 1000)))
        taken = claim(job_id, worker=worker, settings=self.settings)
        if taken.outcome != CLAIMED:
            self.heartbeat.release(job_id)
            self._pass_over(broker, message, taken)
        self.heartbeat.hold(job_id, worker)
        message.options["started_monotonic"] = time.monotonic()
        log.info("job_started", attempt=taken.attempts, worker=worker)

    def _pass_over(self, broker, message, taken) -> None:
        """Drop this delivery without running it (SkipMessage); `after_skip_message` knows why."""
        if taken.outcome == HELD:
            broker.enqueue(message, delay=taken.retry_in_ms)
            log.info("job_held_by_live_worker", retry_in_ms=taken.retry_in_ms)
        elif taken.outcome == SPENT:
            log.warning("job_failed", error="worker lost during every attempt", attempts=taken.attempts)
            _failed_for_good(message)
        else:
            log.info("job_delivered_again_after_finishing")
        message.options["passed_over"] = True
        raise SkipMessage(taken.outcome)

    def after_process_message(self, broker, message, *, result=None, exception=None):
        from core.db.tables import Job

        self._close_dispatch_scope()
        job_id = message.options.get("job_id")
        if not job_id:
            return
        seconds = round(time.monotonic() - message.options.pop("started_monotonic", time.monotonic()), 3)
        result = job_result.get()
        job_result.set(None)
        if exception is None:
            values = {Job.state: "done", Job.progress: 100, Job.finished_at: _now()}
            if isinstance(result, str):
                values[Job.result_ref] = result
            Job.update(values).where(Job.id == job_id).run_sync()
            self.heartbeat.release(job_id)
            log.info("job_done", seconds=seconds)
        else:
            # The Retries middleware runs before this one and marks the message failed once it gives up.
            final = message.failed
            query = Job.update(
                {
                    Job.state: "failed" if final else "queued",
                    Job.error: f"{type(exception).__name__}: {exception}",
                    Job.finished_at: _now() if final else None,
                }
            ).where(Job.id == job_id)
            if not final:
                # The retry is already on the broker: once it has claimed the row, its own state wins.
                query = query.where((Job.worker_id == worker_id()) & (Job.state == "running"))
            query.run_sync()
            log.warning("job_failed" if final else "job_retrying", seconds=seconds, error=repr(exception))
            if final:
                _failed_for_good(message)
        current_job_id.set(None)
        structlog.contextvars.clear_contextvars()

    def _close_dispatch_scope(self) -> None:
        token = _dispatch_token.get()
        if token is not None:
            close_dispatch_scope(token)
            _dispatch_token.set(None)

    def after_skip_message(self, broker, message):
        from core.db.tables import Job

        self._close_dispatch_scope()
        if message.options.pop("passed_over", False):
            current_job_id.set(None)
            structlog.contextvars.clear_contextvars()
            return
        job_id = message.options.get("job_id")
        if job_id:
            self.heartbeat.release(job_id)
            Job.update({Job.state: "failed", Job.error: N_("skipped"), Job.finished_at: _now()}).where(
                Job.id == job_id
            ).run_sync()
        _failed_for_good(message)


def report_progress(percent: int, message: str = "") -> None:
    """Called by an actor while it works; shown live on the job page. `message` is an English
    msgid (marked with `N_`), or `core.job_texts.job_text(msgid, **values)` where it has values;
    the page translates it (core.job_texts.message_text)."""
    from core.db.tables import Job

    job_id = current_job_id.get()
    if job_id is None:
        return
    Job.update({Job.progress: max(0, min(100, int(percent))), Job.message: message}).where(
        Job.id == job_id
    ).run_sync()


def make_broker(settings: Settings) -> dramatiq.Broker:
    kind = settings.broker_kind
    if kind == "redis":
        from dramatiq.brokers.redis import MAINTENANCE_SCALE, RedisBroker

        # Redis hands a dead worker's unacknowledged messages back once its broker heartbeat (every
        # poll, about once a second) is `heartbeat_timeout` old, but only during "maintenance", by
        # default one command in a thousand (minutes). Maintenance on every command costs two sorted-
        # set range reads while no worker is dead, and bounds redelivery by the timeout plus a poll.
        broker = RedisBroker(url=settings.broker_url, heartbeat_timeout=int(settings.worker_lost_after_s * 1000),
                             maintenance_chance=MAINTENANCE_SCALE)
    elif kind == "rabbitmq":
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        broker = RabbitmqBroker(url=settings.broker_url)
    else:
        broker = StubBroker()
    # Placed before Retries: `after_*` hooks run in reverse order, so Retries has marked a message
    # that gave up as failed by the time ours runs. The heartbeat goes after it (see JobHeartbeat).
    heartbeat = JobHeartbeat(settings)
    broker.add_middleware(JobTableMiddleware(settings, heartbeat), before=Retries)
    broker.add_middleware(heartbeat, after=Retries)
    return broker


def _sync_runner(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Actors may be written as coroutines; the worker thread runs them to completion."""

    def run(**kwargs: Any) -> None:
        result = fn(**kwargs)
        if inspect.isawaitable(result):
            result = asyncio.run(_await(result))
        # Kept for the job row rather than returned: Dramatiq would warn about every return
        # value without its Results middleware, which this service has no use for.
        job_result.set(result)

    run.__name__ = getattr(fn, "__name__", "actor")
    run.__doc__ = fn.__doc__
    return run


async def _await(awaitable: Any) -> Any:
    return await awaitable


def _jsonable(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The arguments as the actor will receive them; refused before a job row is written when
    they cannot travel as JSON. Ids may be given as UUIDs and arrive as strings."""

    def encode(value: Any) -> str:
        if isinstance(value, UUID):
            return str(value)
        raise TypeError(f"job arguments must be JSON values, not {type(value).__name__}")

    return json.loads(json.dumps(kwargs, default=encode))


class TaskQueue:
    """The broker with its declared actors, and the way to start work."""

    def __init__(self, settings: Settings, actors: dict[str, Callable[..., Any]]) -> None:
        self.settings = settings
        self.broker = make_broker(settings)
        dramatiq.set_broker(self.broker)
        self.actors: dict[str, dramatiq.Actor] = {}
        for name, fn in actors.items():
            self.actors[name] = dramatiq.actor(
                _sync_runner(fn), actor_name=name, broker=self.broker, queue_name=settings.queue_name,
                max_retries=settings.job_max_retries, throws=(JobRefused,),
                min_backoff=settings.job_min_backoff_ms, max_backoff=30_000, time_limit=TIME_LIMIT_MS,
            )
        self._worker: dramatiq.Worker | None = None

    @property
    def embedded(self) -> bool:
        return self.settings.broker_kind == "embedded"

    async def enqueue(self, actor_name: str, *, tenant_id: UUID | str | None, **kwargs: Any) -> UUID:
        """Record a job and send its message once the record is durable (see the module);
        returns the job id for the job page. A broker that cannot be reached is no error here:
        the job waits in the outbox for `relay_unsent`."""
        from core.db.constraints import in_transaction, on_commit
        from core.db.tables import Job

        if actor_name not in self.actors:
            raise KeyError(f"no actor {actor_name!r}")
        kwargs = _jsonable(kwargs)
        job_id = uuid4()
        await Job.insert(Job(id=job_id, tenant=tenant_id, actor=actor_name, args=kwargs))

        async def deliver() -> None:
            await self._deliver(actor_name, job_id, tenant_id, kwargs)

        if not on_commit(deliver) and not in_transaction(Job._meta.db):
            await deliver()
        # Inside a transaction that runs no `on_commit` (a plain one), the relay sends it.
        return job_id

    async def _deliver(self, actor_name: str, job_id: UUID, tenant_id: Any, kwargs: dict[str, Any],
                       retries: int = 0) -> bool:
        """Send a recorded job's message and mark the row sent; False (logged, row unsent) when
        the broker cannot be reached."""
        from core.db.tables import Job

        try:
            self._send(actor_name, job_id, tenant_id, kwargs, retries=retries)
        except Exception as exc:  # any broker or network failure: the outbox keeps the job
            log.warning("job_send_deferred", job_id=str(job_id), actor=actor_name, error=repr(exc))
            return False
        await Job.update({Job.sent_at: _now()}).where((Job.id == job_id) & Job.sent_at.is_null())
        return True

    def _send(self, actor_name: str, job_id: UUID, tenant_id: Any, kwargs: dict[str, Any], retries: int = 0) -> None:
        actor = self.actors[actor_name]
        actor.send_with_options(
            kwargs={"tenant_id": str(tenant_id) if tenant_id else None, **kwargs}, job_id=str(job_id),
            retries=retries,
        )

    async def relay_unsent(self, older_than_s: float = RELAY_AFTER_S, limit: int = 500) -> int:
        """Send the queued jobs whose message was never sent (a broker outage, a crash between
        commit and send), oldest first, at most `limit`; returns how many went out. Safe in
        several processes at once: a job sent twice runs once (see the module)."""
        from core.db.tables import Job

        since = datetime.fromtimestamp(time.time() - older_than_s, timezone.utc)
        rows = await Job.select(Job.id, Job.actor, Job.tenant, Job.args, Job.attempts).where(
            Job.sent_at.is_null() & (Job.state == "queued") & (Job.created_at <= since)
        ).order_by(Job.created_at).limit(limit)
        sent = 0
        for row in rows:
            if row["actor"] not in self.actors:
                continue
            if not await self._deliver(row["actor"], row["id"], row["tenant"], json_value(row["args"]) or {},
                                       retries=row["attempts"]):
                break  # the broker is still away: the next sweep tries again
            sent += 1
        if sent:
            log.info("jobs_relayed", count=sent)
        return sent

    async def requeue_unfinished(self) -> int:
        """Send again the jobs an embedded process left queued or running when it stopped.

        An attempt cut off by the stop counts as a failed one, so a job that brings the
        process down every time ends `failed` instead of running at every start.
        """
        from core.db.tables import Job

        rows = await Job.objects().where(Job.state.is_in(["queued", "running"]))
        count = 0
        for job in rows:
            error = ""
            if job.actor not in self.actors:
                error = N_("actor no longer installed")
            elif job.attempts > self.settings.job_max_retries:
                error = N_("the process stopped during all %(n)s attempts") % {"n": job.attempts}
            if error:
                await Job.update({Job.state: "failed", Job.error: error, Job.finished_at: _now()}).where(
                    Job.id == job.id
                )
                for handler in _final_failure_handlers.get(job.actor, ()):
                    result = handler(dict(json_value(job.args) or {}))
                    if inspect.isawaitable(result):
                        await result
                continue
            await Job.update({Job.state: "queued"}).where(Job.id == job.id)
            args = json_value(job.args)
            await self._deliver(job.actor, job.id, job.tenant, args or {}, retries=job.attempts)
            count += 1
        if count:
            log.info("jobs_requeued", count=count)
        return count

    def ping(self) -> None:
        """Raises when the broker cannot be reached (used by /readyz)."""
        kind = self.settings.broker_kind
        if kind == "redis":
            self.broker.client.ping()
        elif kind == "rabbitmq":
            self.broker.connection.process_data_events(time_limit=0)
        elif self._worker is None:
            raise RuntimeError("the in-process worker is not running")

    def start_embedded_worker(self, threads: int = 2) -> None:
        self._worker = dramatiq.Worker(self.broker, worker_threads=threads, worker_timeout=100)
        self._worker.start()

    def stop(self) -> None:
        if self._worker is not None:
            self._worker.stop(timeout=5_000)
            self._worker = None
        self.broker.close()
