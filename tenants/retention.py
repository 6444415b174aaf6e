"""Retention (spec 4.2): a tenant's data is deleted once its contract end plus the
grace (one month by default) has passed, or at once when an operator asks.

A purge first asks every installed plugin to delete what it keeps outside
tenant-scoped tables (`mendan_purge_tenant`); then the rows of every table with
a `tenant` column in the core, the domains and the plugins, then the tenant's
blobs, then the tenant row. A `DeletionReport` with counts only is kept.

Scheduling: `mendan serve` on the embedded default checks once a day at 03:00
Japan time (`daily_purge`); production runs `mendan purge-expired` from cron (or
a Kubernetes CronJob) once a day. Both are idempotent.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

import structlog
from piccolo.table import Table, sort_table_classes

from core import audit
from core.db.migrate import app_registry
from core.db.tables import PasswordReset, Tenant, User
from core.hours import TOKYO, now
from core.plugins import PluginHooksFailed
from core.runtime import runtime
from core.tenancy import TenantScope
from tenants.contracts import purge_due
from tenants.tables import Contract, DeletionReport

log = structlog.get_logger("mendan.retention")

DAILY_AT_HOUR = 3  # Japan time, outside the weekday course's hours


class PurgeIncomplete(RuntimeError):
    """A plugin could not delete its data; nothing of the core was deleted, so the next run retries."""


def tenant_tables() -> list[type[Table]]:
    """Every table with a `tenant` column in the core, the domains and the running plugins,
    children before parents."""
    apps = app_registry(runtime().host.piccolo_apps()).app_configs.values()
    tables = {
        table for app in apps for table in app.table_classes
        if "tenant" in {c._meta.name for c in table._meta.columns}
    }
    return list(reversed(sort_table_classes(sorted(tables, key=lambda t: t._meta.tablename))))


async def _purge_plugins(tenant_id: Any) -> dict[str, int]:
    """Every installed plugin deletes what it keeps outside tenant-scoped tables (the host calls
    `mendan_purge_tenant` on all of them, enabled or not)."""
    try:
        answers = await runtime().host.call_for_tenant("mendan_purge_tenant", tenant_id=tenant_id, require_all=True)
    except PluginHooksFailed as exc:
        log.error("plugin_purge_failed", plugins=exc.failed)
        raise PurgeIncomplete(f"plugins failed to purge: {', '.join(exc.failed)}") from exc
    return {f"{key}.{what}": int(count) for key, result in answers for what, count in result.items()}


async def _purge_rows(tenant_id: Any) -> dict[str, int]:
    scope = TenantScope(tenant_id)
    counts: dict[str, int] = {}
    user_ids = [r["id"] for r in await scope.select(User, User.id)]
    if user_ids:
        counts[PasswordReset._meta.tablename] = await PasswordReset.count().where(PasswordReset.user.is_in(user_ids))
        await PasswordReset.delete().where(PasswordReset.user.is_in(user_ids))
    for table in tenant_tables():
        count = await scope.count(table)
        if count:
            counts[table._meta.tablename] = count
            await scope.delete(table)
    return counts


async def purge_tenant(tenant_id: Any, *, reason: str, by: Any = None, ip: str = "") -> DeletionReport:
    """Delete everything of the tenant and keep a report of how much went."""
    tenant = await Tenant.objects().where(Tenant.id == tenant_id).first()
    if tenant is None:
        raise LookupError(f"no tenant {tenant_id}")
    log.info("tenant_purge_started", tenant_id=str(tenant_id), reason=reason)
    counts = await _purge_plugins(tenant_id)
    counts |= await _purge_rows(tenant_id)
    counts["blobs"] = runtime().storage.delete_tenant(tenant_id)
    await Tenant.delete().where(Tenant.id == tenant_id)
    report = DeletionReport(
        tenant_id=tenant.id, tenant_slug=tenant.slug, reason=reason,
        requested_by=getattr(by, "id", by), counts=counts,
    )
    await report.save()
    await audit.record("tenants.tenant_purged", actor=by, target=tenant.slug,
                       detail={"reason": reason, "report": report.id, "counts": counts}, ip=ip)
    log.info("tenant_purged", tenant_id=str(tenant_id), report=report.id)
    return report


async def expired_tenants(today: date) -> list[Any]:
    """Tenants whose every contract has ended and whose grace is over by `today`."""
    dues: dict[Any, list[date | None]] = defaultdict(list)
    for contract in await Contract.objects():
        dues[contract.tenant].append(purge_due(contract))
    return [t for t, days in dues.items() if all(d is not None and d <= today for d in days)]


async def purge_expired(today: date | None = None) -> list[DeletionReport]:
    today = today or now().astimezone(TOKYO).date()
    reports = []
    for tenant_id in await expired_tenants(today):
        try:
            reports.append(await purge_tenant(tenant_id, reason="expired"))
        except PurgeIncomplete as exc:
            log.error("tenant_purge_incomplete", tenant_id=str(tenant_id), error=str(exc))
    return reports


async def purge_expired_job(tenant_id: None = None) -> str:
    """Actor `tenants.purge_expired`: the daily check, as a job."""
    reports = await purge_expired()
    return ",".join(str(r.id) for r in reports)


async def purge_tenant_job(tenant_id: None, purge: str, requested_by: str | None = None) -> str:
    """Actor `tenants.purge_tenant`: an operator's immediate deletion. The job is not the
    tenant's (`tenant_id` is None) so that it survives the deletion of the tenant's rows."""
    report = await purge_tenant(purge, reason="request", by=requested_by)
    return str(report.id)


TENANT_ACTORS = {"tenants.purge_expired": purge_expired_job, "tenants.purge_tenant": purge_tenant_job}


def _seconds_until_next_run(at: datetime) -> float:
    local = at.astimezone(TOKYO)
    run = local.replace(hour=DAILY_AT_HOUR, minute=0, second=0, microsecond=0)
    if run <= local:
        run += timedelta(days=1)
    return (run - local).total_seconds()


async def daily_purge() -> None:
    """The embedded schedule: enqueue the daily check at 03:00 Japan time, forever."""
    while True:
        await asyncio.sleep(_seconds_until_next_run(now()))
        await runtime().tasks.enqueue("tenants.purge_expired", tenant_id=None)


async def start_daily_purge(app: Any) -> None:
    """On the embedded default the web process keeps the schedule; with a broker, cron does."""
    if app.state.tasks.embedded:
        app.state.daily_purge = asyncio.get_running_loop().create_task(daily_purge())


async def stop_daily_purge(app: Any) -> None:
    task = app.state.get("daily_purge")
    if task is not None:
        task.cancel()
