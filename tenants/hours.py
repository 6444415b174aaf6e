"""The tenants domain's answer to the core's `ServiceCalendar`: a tenant's course from
its contract, the maintenance windows not yet over, and any emergency stop."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.hours import ServiceState, Window
from tenants.stops import upcoming_windows
from tenants.tables import Contract, EmergencyStop


async def current_contract(tenant_id: Any) -> Contract | None:
    """The tenant's newest contract (by start), ended or not: its course still sets the hours."""
    return await Contract.objects().where(Contract.tenant == tenant_id).order_by(
        Contract.starts_on, Contract.id, ascending=False
    ).first()


def course_in_effect(contract: Contract | None) -> str:
    """The course whose hours apply: the newest contract's, and around the clock ("always") for a
    tenant without a contract (a demo, a test)."""
    return contract.course if contract else "always"


async def active_stop(tenant_id: Any) -> EmergencyStop | None:
    """A running emergency stop of the whole service, else of this tenant."""
    stops = await EmergencyStop.objects().where(
        EmergencyStop.ended_at.is_null()
        & (EmergencyStop.tenant.is_null() | (EmergencyStop.tenant == tenant_id))
    ).order_by(EmergencyStop.started_at)
    return next((s for s in stops if s.tenant is None), stops[0] if stops else None)


class ContractCalendar:
    """A tenant's hours from its newest contract (`course_in_effect`), maintenance and stops."""

    async def service_state(self, tenant: Any, at: datetime) -> ServiceState:
        contract = await current_contract(tenant.id)
        stop = await active_stop(tenant.id)
        return ServiceState(
            course=course_in_effect(contract),
            maintenance=tuple(Window(w.starts_at, w.ends_at, w.message) for w in await upcoming_windows(at)),
            stop_message=stop.message if stop else None,
        )
