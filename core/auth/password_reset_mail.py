"""The `core.send_password_reset` job: looks the address up and mails a reset link when it
belongs to an active user. The sign-in page's form only enqueues this job, whatever the
address, so its answer and its timing are the same for known and unknown addresses."""

from __future__ import annotations

from core import audit, mail
from core.auth.tokens import create_password_reset
from core.db.tables import Tenant, User
from core.runtime import runtime
from core.web.i18n import current_language
from core.web.i18n import gettext as _


async def send_password_reset(tenant_id: None, for_tenant: str | None, email: str, language: str, ip: str = "") -> str:
    """Mail a one-hour reset link to `email` if it is an active user of `for_tenant` (None: an
    operator), in `language`; returns what was done ("sent" or "no such user"). The job itself
    has no tenant (`tenant_id` is None), so no tenant's jobs list shows the typed address."""
    email = email.strip().lower()
    if for_tenant is None:
        query = User.objects().where((User.email == email) & User.tenant.is_null() & (User.role == "operator"))
        tenant = None
    else:
        query = User.objects().where((User.email == email) & (User.tenant == for_tenant))
        tenant = await Tenant.objects().where(Tenant.id == for_tenant).first()
    user = await query.first()
    if user is None or not user.active:
        return "no such user"
    rt = runtime()
    token = await create_password_reset(user)
    base = f"/t/{tenant.slug}/password-reset" if tenant else "/password-reset"
    restore = current_language.set(language)
    try:
        msg = mail.build_message(
            sender=rt.settings.mail_from, to=user.email, subject=_("Reset your mendan password"),
            text=_("Open this link within one hour to choose a new password:") + f"\n\n{rt.settings.base_url}{base}/{token}\n",
        )
    finally:
        current_language.reset(restore)
    await mail.queue_mail(rt.tasks, tenant_id=user.tenant, message=msg, kind="password_reset")
    await audit.record("auth.password_reset_requested", tenant_id=user.tenant, actor=user, ip=ip)
    return "sent"
