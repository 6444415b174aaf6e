"""Contracts: course, term, retention grace, status; every change kept with who,
when and what (old and new value of each field), and audited."""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from typing import Any

from core import audit
from core.tenancy import TenantScope
from tenants.tables import COURSES, CONTRACT_STATES, Contract, ContractChange

EDITABLE = ("course", "starts_on", "ends_on", "retention_grace_days", "status")


class ContractProblem(ValueError):
    """A contract value that can not be accepted; the message is shown to the operator."""


def check_contract(values: dict[str, Any]) -> dict[str, Any]:
    """`values` (create_contract's keyword arguments, any subset) when they may be saved, else
    ContractProblem; a new tenant's are checked so before anything is written."""
    if values.get("course", "weekday") not in COURSES:
        raise ContractProblem("Unknown course.")
    if values.get("status", "active") not in CONTRACT_STATES:
        raise ContractProblem("Unknown contract status.")
    grace = values.get("retention_grace_days")
    if grace is not None and grace < 0:
        raise ContractProblem("The grace period can not be negative.")
    starts, ends = values.get("starts_on"), values.get("ends_on")
    if starts and ends and ends < starts:
        raise ContractProblem("The contract can not end before it starts.")
    return values


async def create_contract(tenant_id: Any, *, by: Any, ip: str = "", **values: Any) -> Contract:
    contract = await TenantScope(tenant_id).add(Contract(**check_contract(values)))
    await TenantScope(tenant_id).add(
        ContractChange(contract=contract.id, by=getattr(by, "id", by),
                       changes={k: [None, _plain(getattr(contract, k))] for k in EDITABLE})
    )
    await audit.record("tenants.contract_created", tenant_id=tenant_id, actor=by, target=str(contract.id),
                       detail={k: _plain(getattr(contract, k)) for k in EDITABLE}, ip=ip)
    return contract


async def change_contract(tenant_id: Any, contract_id: Any, *, by: Any, ip: str = "", **values: Any) -> dict:
    """Apply the changed fields; returns {field: [old, new]} (empty when nothing changed)."""
    scope = TenantScope(tenant_id)
    contract = await scope.get(Contract, contract_id)
    merged = {k: getattr(contract, k) for k in EDITABLE} | {k: v for k, v in values.items() if k in EDITABLE}
    check_contract(merged)
    changes = {
        k: [_plain(getattr(contract, k)), _plain(v)]
        for k, v in merged.items() if getattr(contract, k) != v
    }
    if not changes:
        return {}
    await scope.update(Contract, {getattr(Contract, k): merged[k] for k in changes}).where(Contract.id == contract.id)
    await scope.add(ContractChange(contract=contract.id, by=getattr(by, "id", by), changes=changes))
    await audit.record("tenants.contract_changed", tenant_id=tenant_id, actor=by, target=str(contract.id),
                       detail=changes, ip=ip)
    return changes


def purge_due(contract: Contract) -> date | None:
    """The day the tenant's data is deleted: the end plus the grace (one calendar month by default)."""
    if contract.ends_on is None:
        return None
    if contract.retention_grace_days is not None:
        return contract.ends_on + timedelta(days=contract.retention_grace_days)
    return _add_month(contract.ends_on)


def _add_month(day: date) -> date:
    """The same day next month, or that month's last day (31 January -> 28 or 29 February)."""
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value
