"""Tenancy: resolving `/t/{tenant}/` to a tenant, and tenant-scoped data access.

Rows that belong to a tenant are reached through `TenantScope`, which cannot be
made without a tenant id, so a query can not forget its tenant filter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

import structlog
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, NotFoundException
from piccolo.table import Table

from core.db.tables import Tenant

T = TypeVar("T", bound=Table)


class TenantRequired(RuntimeError):
    """Raised when tenant-scoped data access is attempted without a tenant."""


@dataclass(frozen=True)
class TenantScope:
    tenant_id: UUID

    def __post_init__(self) -> None:
        if not self.tenant_id:
            raise TenantRequired("tenant-scoped data access needs a tenant id")

    def _check(self, table: type[Table]) -> None:
        if "tenant" not in {c._meta.name for c in table._meta.columns}:
            raise TypeError(f"{table.__name__} has no tenant column")

    def objects(self, table: type[T]):
        self._check(table)
        return table.objects().where(table.tenant == self.tenant_id)

    def select(self, table: type[T], *columns: Any):
        self._check(table)
        return table.select(*columns).where(table.tenant == self.tenant_id)

    def count(self, table: type[T]):
        self._check(table)
        return table.count().where(table.tenant == self.tenant_id)

    def update(self, table: type[T], values: dict):
        self._check(table)
        return table.update(values).where(table.tenant == self.tenant_id)

    def delete(self, table: type[T]):
        self._check(table)
        return table.delete().where(table.tenant == self.tenant_id)

    async def get(self, table: type[T], row_id: Any) -> T:
        """The row with this id in this tenant; another tenant's id is a 404, as is a malformed one."""
        try:
            row = await self.objects(table).where(table._meta.primary_key == row_id).first()
        except (ValueError, TypeError):
            row = None
        if row is None:
            raise NotFoundException()
        return row

    def transaction(self):
        """An atomic block (`async with scope.transaction():`) on the engine of the running process:
        a `write_transaction`, so jobs enqueued inside are sent once it committed."""
        from core.db.constraints import write_transaction

        return write_transaction()

    async def add(self, row: T) -> T:
        self._check(type(row))
        row.tenant = self.tenant_id
        await row.save()
        return row


async def tenant_by_slug(slug: str) -> Tenant:
    tenant = await Tenant.objects().where(Tenant.slug == slug).first()
    if tenant is None:
        raise NotFoundException()
    return tenant


async def resolve_tenant(connection: ASGIConnection) -> Tenant:
    """The tenant of a `/t/{tenant}/` request, checked against the signed-in user.

    Unknown tenants and tenants the user does not belong to both answer 404, so
    a URL never tells another tenant's users that something exists.
    """
    cached = connection.state.get("tenant")
    if cached is not None:
        return cached
    tenant = await tenant_by_slug(connection.path_params["tenant"])
    user = connection.scope.get("user")
    if user is None:
        raise NotAuthorizedException("sign in to continue")
    if user.tenant != tenant.id:
        raise NotFoundException()
    connection.state["tenant"] = tenant
    connection.state["scope"] = TenantScope(tenant.id)
    structlog.contextvars.bind_contextvars(tenant_id=str(tenant.id))
    return tenant


async def tenant_guard(connection: ASGIConnection, _handler: Any) -> None:
    await resolve_tenant(connection)


async def provide_tenant(request: Request) -> Tenant:
    return await resolve_tenant(request)


async def provide_scope(request: Request) -> TenantScope:
    await resolve_tenant(request)
    return request.state["scope"]


async def create_tenant(storage: Any, *, slug: str, name: str, region: str = "JP") -> Tenant:
    """A new tenant with its own data key, wrapped by the master key."""
    tenant = Tenant(slug=slug, name=name, region=region)
    tenant.wrapped_data_key = storage.new_wrapped_key(tenant.id)
    await tenant.save()
    return tenant
