"""Mail to the admins of the tenants a stop or a maintenance window affects (spec 7.1: the
service desk tells the customer by mail when the service is affected).

Each admin gets the mail in their own language (Japanese first), with times in Japan time,
queued as the `core.send_mail` job, which retries and shows failures on the tenant's mail page.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from babel.dates import format_datetime

from core.config import Settings
from core.db.tables import User
from core.hours import TOKYO
from core.mail import build_message
from core.web import i18n
from core.web.i18n import gettext as _

EVENTS = ("stopped", "resumed", "maintenance_planned", "maintenance_cancelled")


def _when(moment: datetime, language: str) -> str:
    return format_datetime(moment, "yyyy-MM-dd (EEE) HH:mm", tzinfo=TOKYO, locale=language)


def _subject(event: str, tenant: str, start: str, end: str) -> str:
    return {
        "stopped": _("[Important] Service stopped: %(tenant)s"),
        "resumed": _("Service resumed: %(tenant)s"),
        "maintenance_planned": _("Planned maintenance: %(start)s to %(end)s"),
        "maintenance_cancelled": _("Planned maintenance cancelled: %(start)s to %(end)s"),
    }[event] % {"tenant": tenant, "start": start, "end": end}


def _body(event: str, tenant: str, start: str, end: str, message: str) -> list[str]:
    values = {"tenant": tenant, "start": start, "end": end}
    if event == "stopped":
        lines = [_("As an emergency measure, we have stopped the service for %(tenant)s. Until it is resumed, "
                   "interviews, recordings and the other interactive functions cannot be used; jobs already "
                   "running continue.") % values]
        if message:
            lines += [_("Reason: %(message)s") % {"message": message}]
        return lines + ["", _("We will let you know as soon as the service is resumed. We sincerely apologise "
                              "for the inconvenience.")]
    if event == "resumed":
        return [_("The service for %(tenant)s has been resumed and can be used as usual.") % values]
    if event == "maintenance_planned":
        lines = [_("We will carry out planned maintenance as follows. During the maintenance, interviews, "
                   "recordings and the other interactive functions cannot be used."),
                 "", _("Period: %(start)s to %(end)s (Japan time)") % values]
        if message:
            lines += [_("Details: %(message)s") % {"message": message}]
        return lines + ["", _("We apologise for the inconvenience and thank you for your understanding.")]
    return [_("The planned maintenance from %(start)s to %(end)s (Japan time) has been cancelled. The service "
              "can be used as usual.") % values]


def admin_mail(settings: Settings, tenant: Any, admin: Any, event: str, *, message: str = "",
               starts_at: datetime | None = None, ends_at: datetime | None = None) -> str:
    """The RFC 5322 text of one admin's mail about `event` (one of EVENTS), in the admin's language."""
    language = admin.language if admin.language in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE
    token = i18n.current_language.set(language)
    try:
        start = _when(starts_at, language) if starts_at else ""
        end = _when(ends_at, language) if ends_at else ""
        lines = [_("Dear %(name)s,") % {"name": admin.display_name or admin.email}, "",
                 _("Thank you for using mendan."), "",
                 *_body(event, tenant.name, start, end, message), "", _("mendan service desk")]
        msg = build_message(sender=settings.mail_from, to=admin.email,
                            subject=_subject(event, tenant.name, start, end), text="\n".join(lines))
        return msg.as_string()
    finally:
        i18n.current_language.reset(token)


async def mail_admins(settings: Settings, tasks: Any, event: str, tenant_id: Any | None = None, *,
                      message: str = "", starts_at: datetime | None = None, ends_at: datetime | None = None) -> int:
    """Queue `event`'s mail to every active admin of `tenant_id`, or of every tenant when None
    (a service-wide stop, a maintenance window); returns how many mails were queued."""
    if event not in EVENTS:
        raise ValueError(f"unknown event {event!r}")
    which = User.tenant.is_not_null() if tenant_id is None else User.tenant == tenant_id
    # Each admin with their tenant row joined in: one query however many tenants there are.
    admins = await User.objects(User.tenant).where(which & (User.role == "admin") & (User.active == True))  # noqa: E712
    for admin in admins:
        text = admin_mail(settings, admin.tenant, admin, event, message=message, starts_at=starts_at, ends_at=ends_at)
        await tasks.enqueue("core.send_mail", tenant_id=admin.tenant.id, message=text)
    return len(admins)
