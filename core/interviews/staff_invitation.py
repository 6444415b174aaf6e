"""The invitation mailed to a staff member registered without a password: a link that sets their
first password. The link is a password-reset token (core.auth.tokens) that lives for
INVITATION_LIFETIME instead of an hour: used once, void once used or expired, and voided like
any reset link when the person's credentials are revoked."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from core.auth.guards import STAFF_ROLES
from core.auth.tokens import create_password_reset, void_password_resets
from core.config import Settings
from core.db.tables import Tenant, User
from core.interviews.people import role_label
from core.interviews.senders import sender_of
from core.mail import build_message, queue_mail
from core.mail_templates import contact_of, render_for
from core.tenancy import TenantScope
from core.web import i18n

INVITATION_LIFETIME = timedelta(days=7)


def needs_invitation(user: User) -> bool:
    """True for an active staff member who has no password yet."""
    return user.active and user.role in STAFF_ROLES and not user.password_hash


async def invite_staff(scope: TenantScope, settings: Settings, tasks: Any, tenant: Tenant, user: User) -> Any:
    """Queue `user`'s invitation (template `staff_invitation`, in their language) with a new
    link valid for INVITATION_LIFETIME; returns the mail job's id. Earlier links stop working:
    an invitation sent again usually means the first mail was lost or reached the wrong person."""
    row = await sender_of(scope)
    sender = row.address if row else settings.mail_from
    await void_password_resets(user.id)
    token = await create_password_reset(user, lifetime=INVITATION_LIFETIME)
    language = user.language if user.language in i18n.LANGUAGES else "ja"
    restore = i18n.current_language.set(language)
    try:
        values = {"name": user.display_name or user.email, "company": tenant.name, "role": role_label(user.role),
                  "link": f"{settings.base_url}/t/{tenant.slug}/password-reset/{token}",
                  "valid_days": INVITATION_LIFETIME.days, "contact": await contact_of(scope, sender)}
        rendered = await render_for(scope, "staff_invitation", language, values)
    finally:
        i18n.current_language.reset(restore)
    message = build_message(sender=sender, to=user.email, subject=rendered.subject, text=rendered.body)
    return await queue_mail(tasks, tenant_id=tenant.id, message=message, kind="staff_invitation")
