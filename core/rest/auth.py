"""Who may call /api/v1: an API token (`Authorization: Bearer mdn_...`), never a session
cookie, with a scope (read < write < admin) on top of the role rules (core.auth.guards)."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection

from core.auth.tokens import SCOPES, scope_allows
from core.rest.problems import ApiError


def api_token_guard(connection: ASGIConnection, _handler: Any) -> None:
    """401 unless the request was authenticated by a live API token."""
    if connection.scope.get("user") is None or connection.scope.get("auth") != "token":
        raise ApiError(401)


def requires_scope(needed: str):
    """A guard: the token's scope must include `needed` ("read", "write" or "admin"); 403 else.

    Combine it with a role guard (`requires_role`, `requires_admin`, ...): both must allow."""
    if needed not in SCOPES:
        raise ValueError(f"unknown scope {needed!r}; one of {SCOPES}")

    def guard(connection: ASGIConnection, _handler: Any) -> None:
        api_token_guard(connection, _handler)
        token = connection.scope.get("api_token")
        if token is None or not scope_allows(token.scope, needed):
            raise ApiError(403, "insufficient_scope")

    guard.__name__ = f"requires_scope_{needed}"
    return guard
