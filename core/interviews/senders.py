"""The tenant's sender address and DKIM key (spec 4.2.2 (5)).

The private key is kept encrypted in the blob store under the tenant's data key;
the table keeps the address, the selector and the public key for the DNS page.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlparse

from core import dkim
from core.db.tables import Tenant
from core.interviews.people import EMAIL_RE
from core.interviews.tables import MailSender
from core.tenancy import TenantScope
from core.web.i18n import gettext as _


@dataclass(frozen=True)
class Signer:
    address: str
    domain: str
    selector: str
    private_pem: bytes

    def sign(self, message: bytes) -> bytes:
        return dkim.sign(message, domain=self.domain, selector=self.selector, private_pem=self.private_pem)


def _key_blob(selector: str) -> str:
    return f"mail/dkim-{selector}.pem"


async def set_sender(scope: TenantScope, storage: Any, tenant: Tenant, address: str) -> MailSender:
    """Use `address` as the tenant's sender with a new DKIM key (a new selector, so old mail still verifies)."""
    address = address.strip().lower()
    if not EMAIL_RE.fullmatch(address):
        raise ValueError(_("Not a valid e-mail address."))
    private, public = dkim.new_key()
    selector = f"mendan{datetime.now(timezone.utc):%Y%m}{secrets.token_hex(2)}"
    tk = storage.tenant_key(tenant)
    with storage.writer(tk, _key_blob(selector)) as out:
        out.write(private)
    await scope.delete(MailSender)
    return await scope.add(MailSender(address=address, selector=selector, public_key=public))


async def sender_of(scope: TenantScope) -> MailSender | None:
    return await scope.objects(MailSender).first()


async def signer_for(tenant_id: Any, storage: Any) -> Signer | None:
    scope = TenantScope(tenant_id)
    row = await sender_of(scope)
    tenant = await Tenant.objects().where(Tenant.id == tenant_id).first()
    if row is None or tenant is None:
        return None
    private = b"".join(storage.read(storage.tenant_key(tenant), _key_blob(row.selector)))
    return Signer(row.address, dkim.domain_of(row.address), row.selector, private)


def dns_records(row: MailSender, smtp_url: str | None) -> list[dkim.DnsRecord]:
    domain = dkim.domain_of(row.address)
    relay = urlparse(smtp_url).hostname if smtp_url else None
    return [dkim.dkim_record(domain, row.selector, row.public_key), dkim.spf_record(domain, relay)]
