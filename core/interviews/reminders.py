"""The reminder the day before: a sweep that mails every interview starting tomorrow (Japan time).

The web process runs the sweep every quarter hour (`reminder_clock`); claiming an interview is an
atomic update, so several processes never send the same reminder twice.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Any

import structlog

from core.db.tables import Tenant
from core.interviews.notifications import notify
from core.interviews.schedule import TOKYO
from core.interviews.tables import Interview
from core.tenancy import TenantScope

log = structlog.get_logger("mendan.reminders")
SWEEP_SECONDS = 900


def tomorrow_in_tokyo(now: datetime) -> tuple[datetime, datetime]:
    """Start and end (UTC) of the next calendar day in Japan."""
    today = now.astimezone(TOKYO).date()
    start = datetime.combine(today + timedelta(days=1), datetime.min.time(), TOKYO)
    return start.astimezone(timezone.utc), (start + timedelta(days=1)).astimezone(timezone.utc)


async def send_due_reminders(settings: Any, tasks: Any, now: datetime | None = None) -> int:
    start, end = tomorrow_in_tokyo(now or datetime.now(timezone.utc))
    due = await Interview.objects().where(
        (Interview.state == "scheduled") & (Interview.reminder_sent_at.is_null())
        & (Interview.starts_at >= start) & (Interview.starts_at < end))
    sent = 0
    for interview in due:
        claimed = await Interview.update({Interview.reminder_sent_at: datetime.now(timezone.utc)}).where(
            (Interview.id == interview.id) & (Interview.reminder_sent_at.is_null())).returning(Interview.id)
        if not claimed:
            continue
        tenant = await Tenant.objects().where(Tenant.id == interview.tenant).first()
        await notify(TenantScope(tenant.id), settings, tasks, tenant, interview, "reminder")
        sent += 1
    if sent:
        log.info("reminders_sent", count=sent)
    return sent


async def reminder_clock(settings: Any, tasks: Any) -> None:
    while True:
        await asyncio.sleep(SWEEP_SECONDS)
        try:
            await send_due_reminders(settings, tasks)
        except Exception as exc:  # the next sweep tries again
            log.exception("reminder_sweep_failed", error=repr(exc))
