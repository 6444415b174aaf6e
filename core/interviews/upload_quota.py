"""The tenant's storage quota for recordings: what it keeps and reserves against its limit.

In use: the bytes of its kept recordings (complete, or superseded by a retake: still stored).
Reserved: what its open uploads will need, the announced size, or the bytes received so far
while the length is deferred (a live recording). The limit is the tenant row's
`storage_quota_bytes` where an operator set one, else `settings.tenant_storage_quota_bytes`
(MENDAN_TENANT_STORAGE_QUOTA_BYTES). A new upload, or a chunk of a deferred one, that would
go past it is refused before any byte is stored (tus: 413); nothing stored is touched.

Two uploads started at the same moment may both pass a check the two of them together exceed:
the quota bounds a tenant's storage, it is not a ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from piccolo.query.functions.aggregate import Sum

from core.db.tables import Tenant
from core.interviews.tables import Recording
from core.interviews.uploads import DEFERRED, UploadProblem
from core.tenancy import TenantScope
from core.web.i18n import gettext as _

KEPT_STATES = ("complete", "superseded")


@dataclass(frozen=True)
class StorageUse:
    """A tenant's recordings against its limit, in bytes."""

    stored: int
    reserved: int
    quota: int

    @property
    def used(self) -> int:
        return self.stored + self.reserved

    @property
    def left(self) -> int:
        return max(0, self.quota - self.used)

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.used / self.quota)) if self.quota else 100


def gigabytes(n: int) -> str:
    """Bytes as GB with one decimal, for messages."""
    return f"{n / 1024**3:.1f}"


async def storage_use(scope: TenantScope, settings: Any) -> StorageUse:
    """The tenant's stored and reserved recording bytes and its limit."""
    stored = await scope.select(Recording, Sum(Recording.size, alias="bytes")).where(
        Recording.state.is_in(list(KEPT_STATES))).first()
    open_rows = await scope.select(Recording, Recording.size, Recording.upload_offset).where(
        Recording.state.is_in(["uploading", "received"]))
    reserved = sum(r["upload_offset"] if r["size"] == DEFERRED else r["size"] for r in open_rows)
    tenant = await Tenant.select(Tenant.storage_quota_bytes).where(Tenant.id == scope.tenant_id).first()
    own = tenant["storage_quota_bytes"] if tenant else None
    quota = own if own is not None else settings.tenant_storage_quota_bytes
    return StorageUse(stored=int((stored or {}).get("bytes") or 0), reserved=reserved, quota=quota)


async def ensure_room(scope: TenantScope, settings: Any, more: int) -> None:
    """Raises UploadProblem 413 (code `quota_exceeded`) when `more` bytes (at least one: a deferred
    upload's creation asks for room to start) would take the tenant past its limit; the message
    says how much is in use."""
    use = await storage_use(scope, settings)
    if use.used + max(more, 1) > use.quota:
        raise UploadProblem(413, _("Your organisation's storage for recordings is full: %(used)s GB of %(quota)s GB "
                                   "in use, and this upload needs more. Ask your administrator to delete old "
                                   "recordings or to have the limit raised.") % {
            "used": gigabytes(use.used), "quota": gigabytes(use.quota)}, "quota_exceeded")
