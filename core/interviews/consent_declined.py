"""An interviewee who does not agree to recording (spec 4.2): nothing about consent is stored,
the interview's staff (its interviewer and the tenant's admins) get a mail, and the interview
page shows it until the interviewee agrees after all. The audit entry `consent.declined` is the
only trace: it says that they declined, never that they agreed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core import audit
from core.config import Settings
from core.db.tables import AuditEntry, Tenant, User
from core.consent import has_consented
from core.interviews.notifications import when
from core.interviews.schedule import in_tokyo
from core.interviews.senders import sender_of
from core.interviews.tables import Interview
from core.mail import build_message
from core.tenancy import TenantScope
from core.web import i18n
from core.web.i18n import gettext as _

ACTION = "consent.declined"


def declined_mail(settings: Settings, tenant: Tenant, interview: Interview, staff: User, interviewee: User,
                  sender: str) -> str:
    """The RFC 5322 text telling `staff`, in their language, that `interviewee` declined consent."""
    token = i18n.current_language.set(staff.language if staff.language in i18n.LANGUAGES else "ja")
    try:
        name = interviewee.display_name or interviewee.email
        lines = [_("Dear %(name)s,") % {"name": staff.display_name or staff.email}, "",
                 _("%(name)s did not agree to the recording of the interview. Nothing can be recorded; "
                   "please contact them to arrange another way or to cancel the interview.") % {"name": name}, "",
                 _("Interview: %(title)s") % {"title": interview.title or _("Interview")},
                 _("Date: %(date)s") % {"date": when(interview.starts_at, staff.language)}, "",
                 f"{settings.base_url}/t/{tenant.slug}/interviews/{interview.id}", "", tenant.name]
        subject = _("[%(company)s] An interviewee did not agree to recording") % {"company": tenant.name}
        return build_message(sender=sender, to=staff.email, subject=subject, text="\n".join(lines)).as_string()
    finally:
        i18n.current_language.reset(token)


async def decline(scope: TenantScope, settings: Settings, tasks: Any, tenant: Tenant, interview: Interview,
                  interviewee: User, ip: str = "") -> list[Any]:
    """Tell the interviewer and the active admins by mail (the `core.send_mail` job) and keep the
    audit entry the interview page reads; returns the job ids. Declining again (a second click)
    tells no one twice: [] while the earlier answer still stands."""
    if await declined_at(scope, interview) is not None:
        return []
    sender_row = await sender_of(scope)
    sender = sender_row.address if sender_row else settings.mail_from
    told = User.role == "admin"
    if interview.interviewer:
        told = told | (User.id == interview.interviewer)
    staff = await scope.objects(User).where((User.active == True) & told)  # noqa: E712
    jobs = [await tasks.enqueue("core.send_mail", tenant_id=tenant.id,
                                message=declined_mail(settings, tenant, interview, person, interviewee, sender))
            for person in staff]
    await audit.record(ACTION, tenant_id=scope.tenant_id, actor=interviewee, target=str(interview.id), ip=ip)
    return jobs


async def declined_at(scope: TenantScope, interview: Interview) -> datetime | None:
    """When (Japan time) the interviewee last declined consent for `interview`, or None; None as
    well once they have agreed after all."""
    row = await AuditEntry.objects().where(
        (AuditEntry.tenant == scope.tenant_id) & (AuditEntry.action == ACTION)
        & (AuditEntry.target == str(interview.id))).order_by(AuditEntry.at, ascending=False).first()
    if row is None or await has_consented(scope.tenant_id, interview.interviewee, "recording"):
        return None
    return in_tokyo(row.at)
