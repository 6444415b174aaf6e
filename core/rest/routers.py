"""Mounting API endpoints under `/api/v1/t/{tenant}/`, behind the token and tenant guards."""

from __future__ import annotations

from typing import Any, Sequence

from litestar import Router

from core.rest.auth import api_token_guard
from core.tenancy import tenant_guard

API_V1 = "/api/v1"


def tenant_api_path(path: str = "") -> str:
    """`/api/v1/t/{tenant:str}` followed by `path` (which starts with "/" or is empty)."""
    return f"{API_V1}/t/{{tenant:str}}{path}"


def tenant_api_router(route_handlers: Sequence[Any], *, tags: Sequence[str], path: str = "",
                      guards: Sequence[Any] = ()) -> Router:
    """A Router for endpoints of one tenant: a token is required (401), a foreign or unknown
    tenant answers 404 exactly as under `/t/{tenant}/`, then `guards` (roles, plugin contract)
    run. Handlers add `requires_scope(...)` and a role guard themselves."""
    return Router(path=tenant_api_path(path), route_handlers=list(route_handlers),
                  guards=[api_token_guard, tenant_guard, *guards], tags=list(tags))
