"""The audit trail: who did what, to what, when, from where."""

from __future__ import annotations

from typing import Any

import structlog

from core.db.tables import AuditEntry

log = structlog.get_logger("mendan.audit")


async def record(
    action: str,
    *,
    tenant_id: Any = None,
    actor: Any = None,
    target: str = "",
    detail: dict[str, Any] | None = None,
    ip: str = "",
) -> None:
    await AuditEntry.insert(
        AuditEntry(
            tenant=tenant_id,
            actor=getattr(actor, "id", actor),
            action=action,
            target=target,
            detail=detail or {},
            ip=ip,
        )
    )
    log.info("audit", action=action, target=target)


def client_ip(request: Any) -> str:
    return request.client.host if request.client else ""
