"""Every actor this installation runs: the core's, its domains' and the installed plugins'.

One list for the web app (whose embedded worker runs them) and for `mendan worker`, so a
separate worker can never miss an actor the web app enqueues.
"""

from __future__ import annotations

from typing import Any, Callable

from billing.actors import BILLING_ACTORS
from core.interviews.analysis import ANALYSIS_ACTORS
from core.interviews.import_run import IMPORT_ACTORS
from mendan.core_actors import CORE_ACTORS
from core.plugins import PluginHost
from core.webhooks.delivery import WEBHOOK_ACTORS
from tenants.retention import TENANT_ACTORS


def actor_table(host: PluginHost) -> dict[str, Callable[..., Any]]:
    return {**CORE_ACTORS, **ANALYSIS_ACTORS, **IMPORT_ACTORS, **TENANT_ACTORS, **BILLING_ACTORS, **WEBHOOK_ACTORS,
            **host.actors()}
