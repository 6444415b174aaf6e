"""Options per contract: switching a plugin on or off for a tenant, and its history.

`set_option` writes the core's `PluginSetting` through the plugin host (so the
change is effective on the next request), keeps an `OptionToggle` row and an
audit entry. `option_intervals` turns that history into the periods each
option was on, which billing uses to pro-rate monthly option fees by day.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from core import audit
from core.runtime import runtime
from core.tenancy import TenantScope
from tenants.tables import OptionToggle


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


async def set_option(
    tenant_id: Any, plugin_key: str, active: bool, *, by: Any, at: datetime | None = None, ip: str = ""
) -> None:
    """Switch `plugin_key` on or off for the tenant; `by` is the user (or its id) who did it."""
    await runtime().host.set_enabled(tenant_id, plugin_key, active)
    await TenantScope(tenant_id).add(
        OptionToggle(plugin_key=plugin_key, active=active, at=at or utcnow(), by=getattr(by, "id", by))
    )
    await audit.record(
        "tenants.option_switched", tenant_id=tenant_id, actor=by, target=plugin_key,
        detail={"active": active}, ip=ip,
    )


async def option_intervals(
    tenant_id: Any, start: datetime, end: datetime
) -> dict[str, list[tuple[datetime, datetime]]]:
    """For each plugin ever switched for the tenant, the periods within [start, end) it was on.

    A plugin's state before its first recorded switch is off: options start off,
    and every switch goes through `set_option`.
    """
    rows = await TenantScope(tenant_id).select(
        OptionToggle, OptionToggle.plugin_key, OptionToggle.active, OptionToggle.at
    ).where(OptionToggle.at < end).order_by(OptionToggle.at, OptionToggle.id)
    switches: dict[str, list[tuple[datetime, bool]]] = {}
    for row in rows:
        switches.setdefault(row["plugin_key"], []).append((row["at"], row["active"]))
    return {key: _periods(history, start, end) for key, history in switches.items()}


def _periods(history: list[tuple[datetime, bool]], start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    periods: list[tuple[datetime, datetime]] = []
    on_since: datetime | None = None
    for at, active in history:
        if active and on_since is None:
            on_since = at
        elif not active and on_since is not None:
            _clip(periods, on_since, at, start, end)
            on_since = None
    if on_since is not None:
        _clip(periods, on_since, end, start, end)
    return periods


def _clip(periods: list, begin: datetime, finish: datetime, start: datetime, end: datetime) -> None:
    begin, finish = max(begin, start), min(finish, end)
    if begin < finish:
        periods.append((begin, finish))

