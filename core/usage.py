"""Usage metering, the door plugins use to the billing ledger (they import only the core).

A plugin records each billable act once, keyed by the act itself (an interview id, a
model version): recording the same act again stores nothing, so retries never bill twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any


async def record_usage(tenant: Any, meter: str, quantity: int, *, act: str,
                       occurred_at: datetime | None = None) -> bool:
    """Record `quantity` units of the plugin's `meter` for one act; False when already recorded."""
    from billing.ledger import record_usage as record

    return await record(tenant, meter, quantity, act=act, occurred_at=occurred_at)
