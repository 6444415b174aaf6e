"""A tenant's sent-mail log: every mail queued as a `core.send_mail` job, newest first, with its
recipient, subject, kind, times in Japan time and status (queued, sent, failed with the reason).

The log is read from the jobs themselves, so no mail is missing from it and nothing is stored
twice. It shows the headers only: the body stays in the job's arguments (needed to send a failed
mail again) and goes when the job does; the log keeps no copy of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.parser import HeaderParser
from typing import Any
from zoneinfo import ZoneInfo

from core.db.json_columns import json_value
from core.db.tables import Job
from core.mail_templates import KINDS
from core.tenancy import TenantScope
from core.web.i18n import gettext as _

TOKYO = ZoneInfo("Asia/Tokyo")
STATUS = {"queued": "queued", "running": "queued", "done": "sent", "failed": "failed"}
_OTHER_KINDS = {"password_reset": "Password reset"}


@dataclass(frozen=True)
class LoggedMail:
    id: Any
    to: str
    subject: str
    kind: str  # the kind's name in the current language
    status: str  # queued | sent | failed
    reason: str  # why it failed; "" otherwise
    queued_at: datetime  # Japan time
    finished_at: datetime | None  # Japan time; None while queued


def kind_label(kind: str) -> str:
    """The name of a mail kind in the current language ("Other" for mail queued without one)."""
    if kind in KINDS:
        return _(KINDS[kind].label)
    return _(_OTHER_KINDS.get(kind, "Other"))


def _entry(job: Job) -> LoggedMail:
    args = json_value(job.args) or {}
    headers = HeaderParser(policy=policy.default).parsestr(args.get("message", ""), headersonly=True)
    return LoggedMail(id=job.id, to=str(headers.get("To", "")), subject=str(headers.get("Subject", "")),
                      kind=kind_label(args.get("kind", "")), status=STATUS.get(job.state, "queued"),
                      reason=job.error if job.state == "failed" else "",
                      queued_at=job.created_at.astimezone(TOKYO),
                      finished_at=job.finished_at.astimezone(TOKYO) if job.finished_at else None)


async def logged_mail(scope: TenantScope, *, limit: int, offset: int) -> list[LoggedMail]:
    """`limit` entries of the tenant's log from `offset` (0: the newest)."""
    jobs = await scope.objects(Job).where(Job.actor == "core.send_mail").order_by(
        Job.created_at, ascending=False).limit(limit).offset(offset)
    return [_entry(job) for job in jobs]
