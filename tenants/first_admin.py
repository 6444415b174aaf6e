"""A tenant's admins as the operator keeps them: the first admin of a new tenant (from /ops/ and
`mendan createtenant`, tenants/new_tenant.py), further admins invited from the tenant's ops page,
and the invitation sent again to an admin who has not set a password yet.

An invited admin is registered without a password and mailed the staff invitation
(core.interviews.staff_invitation: a link that sets the first password, valid seven days, once).
Every invitation is audited; the audit entry names the user's id, not the address (personal data).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from core import audit
from core.csv_input import normalise_email
from core.db.tables import PasswordReset, Tenant, User
from core.interviews.people import EMAIL_RE, PersonProblem, create_person
from core.interviews.staff_invitation import invite_staff, needs_invitation
from core.tenancy import TenantScope
from core.text_input import TextProblem, clean_text
from core.web.i18n import LANGUAGES, gettext as _


@dataclass(frozen=True)
class AdminToInvite:
    """An admin as the operator typed them, checked: `email` normalised (core.csv_input),
    `name` the display name (the e-mail when none was typed), `language` ja | en (of the
    invitation and of the admin's pages)."""

    email: str
    name: str
    language: str


@dataclass(frozen=True)
class Invitation:
    """An invitation queued: the admin, the `core.send_mail` job's id and when the link stops
    working (UTC)."""

    user: User
    job_id: UUID
    expires_at: datetime


def check_admin(email: Any, name: Any = "", language: Any = "ja") -> AdminToInvite:
    """The admin to invite, or PersonProblem (message in the reader's language, `field` one of
    admin_email, admin_name, admin_language). Writes nothing."""
    address = normalise_email(str(email or ""))
    if not address:
        raise PersonProblem(_("Enter the admin's e-mail address."), "admin_email")
    if not EMAIL_RE.fullmatch(address) or len(address) > 254:
        raise PersonProblem(_("The admin's e-mail address is not valid: %(email)s") % {"email": address},
                            "admin_email")
    try:
        display_name = clean_text(name, label=_("Admin's name"))
    except TextProblem as exc:
        raise PersonProblem(str(exc), "admin_name") from exc
    language = str(language or "ja")
    if language not in LANGUAGES:
        raise PersonProblem(_("Unknown language; use ja or en."), "admin_language")
    return AdminToInvite(email=address, name=display_name or address, language=language)


async def invite_admin(tenant: Tenant, admin: AdminToInvite, *, settings: Any, tasks: Any, by: Any, ip: str = "",
                       first: bool = False) -> Invitation:
    """Register `admin` in `tenant` without a password and queue their invitation; audited as
    `tenants.admin_invited` (`first`: the tenant's first admin, made with the tenant). Inside a
    `write_transaction` the mail is sent once it committed. PersonProblem when the address is
    already one of the tenant's users."""
    scope = TenantScope(tenant.id)
    user = await create_person(scope, email=admin.email, display_name=admin.name, role="admin",
                               language=admin.language)
    invitation = await _invite(scope, tenant, user, settings=settings, tasks=tasks)
    await audit.record("tenants.admin_invited", tenant_id=tenant.id, actor=by, target=str(user.id),
                       detail={"first": first, "language": admin.language}, ip=ip)
    return invitation


async def resend_invitation(tenant: Tenant, user_id: UUID, *, settings: Any, tasks: Any, by: Any,
                            ip: str = "") -> Invitation:
    """A new invitation for the tenant's admin `user_id`, audited as `tenants.admin_invitation_resent`.
    LookupError when no such admin is the tenant's; PersonProblem when they already have a password
    (they reset it themselves from the sign-in page) or are deactivated."""
    scope = TenantScope(tenant.id)
    user = await scope.objects(User).where((User.id == user_id) & (User.role == "admin")).first()
    if user is None:
        raise LookupError(user_id)
    if not needs_invitation(user):
        raise PersonProblem(_("%(email)s needs no invitation: they have set a password or are deactivated.")
                            % {"email": user.email}, "admin")
    invitation = await _invite(scope, tenant, user, settings=settings, tasks=tasks)
    await audit.record("tenants.admin_invitation_resent", tenant_id=tenant.id, actor=by, target=str(user.id), ip=ip)
    return invitation


async def tenant_admins(tenant_id: Any) -> list[User]:
    """The tenant's admins, oldest first; `needs_invitation(user)` tells who has no password yet."""
    return await TenantScope(tenant_id).objects(User).where(User.role == "admin").order_by(User.created_at)


async def _invite(scope: TenantScope, tenant: Tenant, user: User, *, settings: Any, tasks: Any) -> Invitation:
    job_id = await invite_staff(scope, settings, tasks, tenant, user)
    link = await PasswordReset.objects().where(PasswordReset.user == user.id).order_by(
        PasswordReset.id, ascending=False).first()
    return Invitation(user=user, job_id=job_id, expires_at=link.expires_at)
