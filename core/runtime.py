"""The running process's services, for code that runs outside a request (actors, CLI).

`mendan.app.create_app` and the worker module (`mendan.worker`) set it once; an actor
reads `runtime()` for the settings, plugin host, blob store and task queue of the
process it runs in, exactly as handlers read `request.app.state`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.config import Settings
    from core.plugins import PluginHost
    from core.storage import BlobStore
    from core.tasks import TaskQueue


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    host: PluginHost
    storage: BlobStore
    tasks: TaskQueue


_current: Runtime | None = None


def set_runtime(value: Runtime) -> Runtime:
    global _current
    _current = value
    return value


def runtime() -> Runtime:
    if _current is None:
        raise RuntimeError("no mendan runtime in this process: build the app or the worker first")
    return _current
