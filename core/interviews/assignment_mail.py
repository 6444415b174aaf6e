"""The mail to each expert assigned to an interview: which interview to evaluate, when it takes
place, and the links to it and to their queue. In the expert's language (Japanese: business
style, the name with 様 and the company in the subject). `notifications.notify` queues it at
scheduling."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from core.config import Settings
from core.db.tables import Tenant, User
from core.interviews.tables import Interview
from core.mail import build_message
from core.web import i18n
from core.web.i18n import gettext as _


def assignment_mail(settings: Settings, tenant: Tenant, interview: Interview, expert: User, sender: str,
                    date: Callable[[datetime, str], str]) -> str:
    """The RFC 5322 text of `expert`'s mail saying they evaluate `interview`, in their language;
    `date` formats a moment in a language (notifications.when: Japan time)."""
    token = i18n.current_language.set(expert.language if expert.language in i18n.LANGUAGES else "ja")
    try:
        base = f"{settings.base_url}/t/{tenant.slug}"
        kind = _("Live interview") if interview.kind == "live" else _("Self-interview")
        lines = [_("Dear %(name)s,") % {"name": expert.display_name or expert.email}, "",
                 _("You have been asked to evaluate an interview as an expert. Thank you for your help."), "",
                 _("Interview: %(title)s") % {"title": interview.title or _("Interview")},
                 _("Date: %(date)s") % {"date": date(interview.starts_at, expert.language)},
                 _("Kind: %(kind)s") % {"kind": kind}, "",
                 _("Once the interview has taken place, please enter your evaluation on its page:"),
                 f"{base}/interviews/{interview.id}", "",
                 _("To keep evaluations independent, the other evaluations and the AI's scores are shown only "
                   "after you have saved your own."), "",
                 _("Interviews waiting for your evaluation:"), f"{base}/interviews/to-evaluate", "", tenant.name]
        subject = _("[%(company)s] Request to evaluate an interview") % {"company": tenant.name}
        return build_message(sender=sender, to=expert.email, subject=subject, text="\n".join(lines)).as_string()
    finally:
        i18n.current_language.reset(token)
