"""Planned maintenance windows and emergency stops, set by operators and audited.

A maintenance window closes the interactive services of every tenant; an
emergency stop closes all of one tenant's services, or of the whole service
when no tenant is given. Running jobs continue in both cases. The core's
tenant row mirrors a tenant stop in its `status`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core import audit
from core.db.tables import Tenant
from core.hours import now
from tenants.tables import EmergencyStop, MaintenanceWindow


class WindowProblem(ValueError):
    pass


async def plan_maintenance(starts_at: datetime, ends_at: datetime, message: str, *, by: Any, ip: str = "") -> MaintenanceWindow:
    if ends_at <= starts_at:
        raise WindowProblem("A maintenance window must end after it starts.")
    window = MaintenanceWindow(starts_at=starts_at, ends_at=ends_at, message=message, created_by=getattr(by, "id", by))
    await window.save()
    await audit.record("tenants.maintenance_planned", actor=by, target=str(window.id),
                       detail={"starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat()}, ip=ip)
    return window


async def cancel_maintenance(window_id: int, *, by: Any, ip: str = "") -> bool:
    """Remove a planned window; False (and nothing recorded) when there is no such window."""
    if not await MaintenanceWindow.exists().where(MaintenanceWindow.id == window_id):
        return False
    await MaintenanceWindow.delete().where(MaintenanceWindow.id == window_id)
    await audit.record("tenants.maintenance_cancelled", actor=by, target=str(window_id), ip=ip)
    return True


async def stop_service(tenant_id: Any | None, message: str, *, by: Any, ip: str = "") -> EmergencyStop:
    """Stop one tenant, or the whole service when `tenant_id` is None."""
    stop = EmergencyStop(tenant=tenant_id, message=message, started_by=getattr(by, "id", by))
    await stop.save()
    if tenant_id is not None:
        await Tenant.update({Tenant.status: "stopped"}).where(Tenant.id == tenant_id)
    await audit.record("tenants.service_stopped", tenant_id=tenant_id, actor=by,
                       target="tenant" if tenant_id else "service", detail={"message": message}, ip=ip)
    return stop


async def resume_service(tenant_id: Any | None, *, by: Any, ip: str = "") -> None:
    """End the running stops of the tenant (or the whole service's when None)."""
    which = EmergencyStop.tenant.is_null() if tenant_id is None else EmergencyStop.tenant == tenant_id
    await EmergencyStop.update({EmergencyStop.ended_at: now()}).where(which & EmergencyStop.ended_at.is_null())
    if tenant_id is not None:
        await Tenant.update({Tenant.status: "active"}).where(Tenant.id == tenant_id)
    await audit.record("tenants.service_resumed", tenant_id=tenant_id, actor=by,
                       target="tenant" if tenant_id else "service", ip=ip)


async def service_wide_stop() -> EmergencyStop | None:
    return await EmergencyStop.objects().where(
        EmergencyStop.tenant.is_null() & EmergencyStop.ended_at.is_null()
    ).first()


async def upcoming_windows(at: datetime) -> list[MaintenanceWindow]:
    return await MaintenanceWindow.objects().where(MaintenanceWindow.ends_at > at).order_by(MaintenanceWindow.starts_at)
