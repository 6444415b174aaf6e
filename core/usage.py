"""Usage metering, the door plugins use to the billing ledger (they import only the core).

A plugin records each billable act once, keyed by the act itself (an interview id, a
model version): recording the same act again stores nothing, so retries never bill twice.
The ledger behind the door is the billing domain's; the assembly (`mendan.assembly`)
registers it with `set_usage_sink`, so the core never imports billing.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from typing import Any, Protocol


class UsageSink(Protocol):
    """Stores one act's usage: `(tenant, meter, quantity, *, act, occurred_at) -> stored`."""

    def __call__(self, tenant: Any, meter: str, quantity: int, *, act: str,
                 occurred_at: datetime | None) -> Awaitable[bool]: ...


_sink: UsageSink | None = None


def set_usage_sink(sink: UsageSink) -> None:
    """Where `record_usage` stores; the assembly sets billing's ledger once per process."""
    global _sink
    _sink = sink


async def record_usage(tenant: Any, meter: str, quantity: int, *, act: str,
                       occurred_at: datetime | None = None) -> bool:
    """Record `quantity` units of the plugin's `meter` for one act; False when already recorded.

    `tenant` is a Tenant row, a TenantScope or a tenant id. The ledger refuses an unknown meter
    or a quantity below 1 (`billing.catalogue.UnknownMeter`, `ValueError`). RuntimeError when no
    ledger was registered (a process not built by `mendan.assembly`).
    """
    if _sink is None:
        raise RuntimeError("no usage ledger registered: build the process with mendan.assembly.assemble")
    return await _sink(tenant, meter, quantity, act=act, occurred_at=occurred_at)
