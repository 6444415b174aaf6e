"""The mail to each expert assigned to an interview: which interview to evaluate, when it takes
place, and the links to it and to their queue. In the expert's language, from the tenant's
template `expert_assignment` (core.mail_templates). `notifications.notify` queues it at
scheduling."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from core.config import Settings
from core.db.tables import Tenant, User
from core.interviews.tables import Interview
from core.mail import build_message
from core.mail_templates import contact_of, render_for
from core.tenancy import TenantScope
from core.web import i18n
from core.web.i18n import gettext as _


async def assignment_mail(scope: TenantScope, settings: Settings, tenant: Tenant, interview: Interview,
                          expert: User, sender: str, date: Callable[[datetime, str], str],
                          format_label: Callable[[Interview], str]) -> str:
    """The RFC 5322 text of `expert`'s mail saying they evaluate `interview`, in their language;
    `date` formats a moment in a language (notifications.when: Japan time), `format_label` names
    the interview's format in the current language."""
    language = expert.language if expert.language in i18n.LANGUAGES else "ja"
    token = i18n.current_language.set(language)
    try:
        base = f"{settings.base_url}/t/{tenant.slug}"
        values = {"name": expert.display_name or expert.email, "company": tenant.name,
                  "title": interview.title or _("Interview"), "date": date(interview.starts_at, language),
                  "format": format_label(interview), "link": f"{base}/interviews/{interview.id}",
                  "queue_link": f"{base}/interviews/to-evaluate", "contact": await contact_of(scope, sender)}
        rendered = await render_for(scope, "expert_assignment", language, values)
        return build_message(sender=sender, to=expert.email, subject=rendered.subject,
                             text=rendered.body).as_string()
    finally:
        i18n.current_language.reset(token)
