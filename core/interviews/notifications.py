"""Interview mail: set up, moved, cancelled and the reminder the day before.

Each person gets the mail in their own language, from the tenant's template (core.mail_templates),
with the date in Japan time, their personal link and an iCalendar attachment. Mail is queued as the
`core.send_mail` job, which retries and signs with the tenant's DKIM key.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from babel.dates import format_datetime

from core.config import Settings
from core.db.tables import Tenant, User
from core.interviews import ical
from core.interviews.assignment_mail import assignment_mail
from core.interviews.people import issue_join_link
from core.interviews.schedule import TOKYO, experts_of
from core.interviews.senders import sender_of
from core.interviews.tables import Interview
from core.mail import build_message, queue_mail
from core.mail_templates import contact_of, render_for
from core.tenancy import TenantScope
from core.web import i18n
from core.web.i18n import gettext as _

EVENTS = ("scheduled", "rescheduled", "cancelled", "reminder")


def when(moment: datetime, language: str) -> str:
    return format_datetime(moment, "yyyy-MM-dd (EEE) HH:mm", tzinfo=TOKYO, locale=language) + " " + _("(Japan time)")


def join_link_lifetime(interview: Interview) -> timedelta:
    """How long an interviewee's personal link for `interview` stays valid from now: until a day
    after its end, at least an hour."""
    ends = interview.starts_at + timedelta(minutes=interview.duration_minutes, days=1)
    return max(ends - datetime.now(timezone.utc), timedelta(hours=1))


async def personal_link(scope: TenantScope, settings: Settings, tenant: Tenant, interview: Interview,
                        person: User) -> str:
    """The address `person` takes part in `interview` by, as mailed: for the interviewee a new
    personal join link (valid for `join_link_lifetime`), for staff the interview's page."""
    base = f"{settings.base_url}/t/{tenant.slug}"
    if person.role == "interviewee":
        token = await issue_join_link(scope, person, join_link_lifetime(interview))
        return f"{base}/join/{token}?interview={interview.id}"
    return f"{base}/interviews/{interview.id}"


def format_label(interview: Interview) -> str:
    """The interview's format in the current language: the live kind is an online video interview."""
    return _("Live interview") if interview.kind == "live" else _("Self-interview")


async def interview_mail(scope: TenantScope, settings: Settings, tenant: Tenant, interview: Interview,
                         person: User, event: str, sender: str) -> str:
    """The RFC 5322 text of one person's mail, in that person's language, from the tenant's
    template of `interview_<event>` (core.mail_templates)."""
    language = person.language if person.language in i18n.LANGUAGES else "ja"
    token = i18n.current_language.set(language)
    try:
        cancelled = event == "cancelled"
        link = "" if cancelled else await personal_link(scope, settings, tenant, interview, person)
        closes = interview.starts_at + timedelta(minutes=interview.duration_minutes)
        values = {"name": person.display_name or person.email, "company": tenant.name, "title": interview.title,
                  "date": when(interview.starts_at, language), "closes": when(closes, language),
                  "minutes": interview.duration_minutes, "format": format_label(interview),
                  "self_interview": interview.kind == "self", "candidate": person.role == "interviewee",
                  "link": link, "contact": await contact_of(scope, sender)}
        rendered = await render_for(scope, f"interview_{event}", language, values)
        msg = build_message(sender=sender, to=person.email, subject=rendered.subject, text=rendered.body)
        event_text = ical.interview_event(
            uid=f"{interview.id}@mendan", sequence=interview.sequence, starts_at=interview.starts_at,
            minutes=interview.duration_minutes, summary=interview.title or _("Interview"),
            description=link or rendered.subject, url=link or settings.base_url, organizer=sender,
            attendee=person.email, cancelled=cancelled)
        method = "CANCEL" if cancelled else "REQUEST"
        # Bytes in base64 keep the calendar's CRLF line ends (a text part would be re-wrapped to
        # LF). Outlook reads the inline alternative; other clients offer the attachment.
        msg.add_alternative(event_text, maintype="text", subtype="calendar", cte="base64",
                            params={"method": method, "charset": "utf-8"})
        msg.add_attachment(event_text, maintype="text", subtype="calendar", filename="interview.ics",
                           params={"method": method, "charset": "utf-8"})
        return msg.as_string()
    finally:
        i18n.current_language.reset(token)


async def notify(scope: TenantScope, settings: Settings, tasks: Any, tenant: Tenant, interview: Interview,
                 event: str) -> list[Any]:
    """Queue the mail of `event` to the interviewee and the interviewer, and at "scheduled" the
    assignment mail to each active expert (core.interviews.assignment_mail); returns the job ids."""
    sender_row = await sender_of(scope)
    sender = sender_row.address if sender_row else settings.mail_from
    people = [p for p in (interview.interviewee, interview.interviewer) if p]
    jobs = []
    for person in await scope.objects(User).where(User.id.is_in(people)):
        if not person.active:
            continue
        message = await interview_mail(scope, settings, tenant, interview, person, event, sender)
        jobs.append(await queue_mail(tasks, tenant_id=tenant.id, message=message, kind=f"interview_{event}"))
    if event == "scheduled" and experts_of(interview):
        for expert in await scope.objects(User).where(User.id.is_in(experts_of(interview))):
            if expert.active:
                message = await assignment_mail(scope, settings, tenant, interview, expert, sender, when,
                                                format_label)
                jobs.append(await queue_mail(tasks, tenant_id=tenant.id, message=message, kind="expert_assignment"))
    return jobs
