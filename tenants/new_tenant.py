"""Creating a tenant, the one way the operator console (/ops/tenants/new) and `mendan createtenant`
share: every value is checked before anything is written; then the tenant (with its data key),
its profile, its contract and its first admin are written in one transaction, each audited, and
the admin's invitation mail (tenants/first_admin.py) is queued once that committed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from core import audit
from core.db.constraints import write_transaction
from core.csv_input import normalise_email
from core.db.tables import Tenant
from core.interviews.people import EMAIL_RE, PersonProblem
from core.tenancy import TenantScope, create_tenant
from core.text_input import TextProblem, clean_text
from core.web.i18n import gettext as _
from tenants.contracts import ContractProblem, check_contract, create_contract
from tenants.first_admin import AdminToInvite, Invitation, check_admin, invite_admin
from tenants.tables import Contract, TenantProfile

SLUG_RE = re.compile(r"[a-z0-9][a-z0-9-]{1,62}")
REGION_RE = re.compile(r"[A-Z]{2,8}")


class TenantProblem(ValueError):
    """A value a new tenant can not have; the message is in the reader's language, `field` names
    the value (slug, name, region, contact_name, admin_email, admin_name, admin_language,
    contract)."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Profile:
    """A tenant's name, region and contact as the operator keeps them (checked by `check_profile`)."""

    name: str
    region: str
    contact_name: str
    contact_email: str


def check_profile(*, name: Any, region: Any, contact_name: Any = "", contact_email: Any = "") -> Profile:
    """The profile to keep, or TenantProblem for the first value that can not be taken (`field`
    name, region, contact_name or contact_email). The region defaults to JP; the contact's e-mail
    is optional and normalised as people's are (NFKC, no spaces, lower case)."""
    try:
        name = clean_text(name, label=_("Name"))
    except TextProblem as exc:
        raise TenantProblem(str(exc), "name") from exc
    if not name:
        raise TenantProblem(_("The tenant needs a name."), "name")
    region = str(region or "").strip().upper() or "JP"
    if not REGION_RE.fullmatch(region):
        raise TenantProblem(_("The region is a country code of 2-8 letters, such as JP."), "region")
    try:
        contact = clean_text(contact_name, label=_("Contact person"))
    except TextProblem as exc:
        raise TenantProblem(str(exc), "contact_name") from exc
    address = normalise_email(str(contact_email or ""))
    if address and (not EMAIL_RE.fullmatch(address) or len(address) > 254):
        raise TenantProblem(_("The contact e-mail address is not valid: %(email)s") % {"email": address},
                            "contact_email")
    return Profile(name=name, region=region, contact_name=contact, contact_email=address)


@dataclass(frozen=True)
class NewTenant:
    """A tenant to create, checked. `contract`: create_contract's keyword arguments (course,
    starts_on, ends_on, retention_grace_days, status)."""

    slug: str
    name: str
    region: str
    contact_name: str
    contact_email: str
    contract: dict[str, Any]
    admin: AdminToInvite


@dataclass(frozen=True)
class CreatedTenant:
    tenant: Tenant
    contract: Contract
    invitation: Invitation


async def check_new_tenant(*, slug: Any, name: Any, contract: dict[str, Any], admin_email: Any,
                           admin_name: Any = "", admin_language: Any = "ja", region: Any = "JP",
                           contact_name: Any = "", contact_email: Any = "") -> NewTenant:
    """The tenant to create, or TenantProblem for the first value that can not be taken, in the
    order of the form. Reads whether the slug is taken; writes nothing."""
    slug = str(slug or "").strip().lower()
    if not SLUG_RE.fullmatch(slug):
        raise TenantProblem(_("The slug takes 2-63 lower-case letters, digits and hyphens."), "slug")
    if await Tenant.exists().where(Tenant.slug == slug):
        raise TenantProblem(_("That slug is taken."), "slug")
    profile = check_profile(name=name, region=region, contact_name=contact_name, contact_email=contact_email)
    try:
        admin = check_admin(admin_email, admin_name, admin_language)
    except PersonProblem as exc:
        raise TenantProblem(str(exc), exc.field) from exc
    try:
        check_contract(contract)
    except ContractProblem as exc:
        raise TenantProblem(_(str(exc)), "contract") from exc
    return NewTenant(slug=slug, name=profile.name, region=profile.region, contact_name=profile.contact_name,
                     contact_email=profile.contact_email, contract=dict(contract), admin=admin)


async def create_new_tenant(new: NewTenant, *, storage: Any, settings: Any, tasks: Any, by: Any,
                            ip: str = "") -> CreatedTenant:
    """Write `new` (from check_new_tenant) in one transaction: the tenant and its profile
    (audited `tenants.tenant_created`), its contract (`tenants.contract_created`) and its first
    admin with the invitation (`tenants.admin_invited`). `by`: the operator (None from the
    command line); `storage`: the blob store that wraps the tenant's data key."""
    async with write_transaction():
        tenant = await create_tenant(storage, slug=new.slug, name=new.name, region=new.region)
        await TenantScope(tenant.id).add(TenantProfile(contact_name=new.contact_name,
                                                       contact_email=new.contact_email))
        await audit.record("tenants.tenant_created", tenant_id=tenant.id, actor=by, target=new.slug,
                           detail={"region": new.region}, ip=ip)
        contract = await create_contract(tenant.id, by=by, ip=ip, **new.contract)
        invitation = await invite_admin(tenant, new.admin, settings=settings, tasks=tasks, by=by, ip=ip, first=True)
    return CreatedTenant(tenant=tenant, contract=contract, invitation=invitation)
