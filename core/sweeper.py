"""The sweeper: finishes what a crash or an outage left half-done, every `INTERVAL_S` seconds.

Each sweep sends the jobs still in the outbox (`TaskQueue.relay_unsent`, core.tasks) and runs
the steps the domains registered with `add_sweep_step` (the assembly registers the interviews
domain's: recordings left between completion states, core.interviews.completion). It runs in
the web process on the embedded default and in every `mendan worker` process with a broker
(`SweeperMiddleware`). Every step is idempotent and claims its work with conditional updates,
so sweepers in several processes at once do each thing once.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from dramatiq.middleware import Middleware

log = structlog.get_logger("mendan.sweeper")

INTERVAL_S = 15.0

SweepStep = Callable[[], Awaitable[int]]
_steps: list[SweepStep] = []


def add_sweep_step(step: SweepStep) -> None:
    """Run `step()` (async, returns how many things it finished) at every sweep. Idempotent."""
    if step not in _steps:
        _steps.append(step)


async def sweep_once(tasks: Any) -> int:
    """One sweep: the outbox's unsent jobs, then every step; returns how many things moved on.
    A failing step is logged and does not stop the others."""
    done = 0
    for step in [tasks.relay_unsent, *_steps]:
        try:
            done += await step()
        except Exception as exc:  # the next sweep tries again
            log.exception("sweep_step_failed", step=getattr(step, "__qualname__", repr(step)), error=repr(exc))
    return done


async def sweep_forever(tasks: Any) -> None:
    """Sweep every `INTERVAL_S` seconds until the task is cancelled (the first after one interval:
    at start-up the embedded worker already sends the unfinished jobs again)."""
    while True:
        await asyncio.sleep(INTERVAL_S)
        await sweep_once(tasks)


async def start_sweeper(app: Any) -> None:
    """On the embedded default the web process sweeps (a task on its loop); with a broker the
    workers do (`SweeperMiddleware`)."""
    if app.state.tasks.embedded:
        app.state.sweeper = asyncio.get_running_loop().create_task(sweep_forever(app.state.tasks))


async def stop_sweeper(app: Any) -> None:
    task = app.state.get("sweeper")
    if task is not None:
        task.cancel()


class SweeperMiddleware(Middleware):
    """Sweeps in a thread of its own (with its own event loop) in each worker process, from boot
    to shutdown. `tasks` is the process's TaskQueue."""

    def __init__(self, tasks: Any) -> None:
        self.tasks = tasks
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def after_worker_boot(self, broker: Any, worker: Any) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="mendan-sweeper", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.run(self._loop())

    async def _loop(self) -> None:
        while not self._stop.is_set():
            await sweep_once(self.tasks)
            await asyncio.to_thread(self._stop.wait, INTERVAL_S)

    def before_worker_shutdown(self, broker: Any, worker: Any) -> None:
        self._stop.set()
