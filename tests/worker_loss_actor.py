"""Loaded by the `mendan worker` that tests/test_worker_loss.py starts (an extra module on
dramatiq's command line, after `mendan.worker`): a slow job with countable side effects.

`worker_loss.slow(folder)` appends a line to `folder/starts`, waits until `folder/open` exists,
then appends a line to `folder/finishes`. The test counts the lines."""

from __future__ import annotations

import os
import time
from pathlib import Path

import dramatiq

from mendan.worker import queue, settings

ACTOR = "worker_loss.slow"


def slow(tenant_id: str | None, folder: str) -> None:
    place = Path(folder)
    with (place / "starts").open("a") as starts:
        starts.write(f"{os.getpid()}\n")
    while not (place / "open").exists():
        time.sleep(0.05)
    with (place / "finishes").open("a") as finishes:
        finishes.write(f"{os.getpid()}\n")


queue.actors[ACTOR] = dramatiq.actor(slow, actor_name=ACTOR, broker=queue.broker, queue_name=settings.queue_name,
                                     max_retries=settings.job_max_retries)
