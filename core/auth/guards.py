"""Guards per role. Roles: operator (platform staff), admin, interviewer, expert, interviewee."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException

STAFF_ROLES = frozenset({"admin", "interviewer", "expert"})


def requires_login(connection: ASGIConnection, _handler: Any) -> None:
    if connection.scope.get("user") is None:
        raise NotAuthorizedException("sign in to continue")


def requires_role(*roles: str):
    allowed = frozenset(roles)

    def guard(connection: ASGIConnection, _handler: Any) -> None:
        user = connection.scope.get("user")
        if user is None:
            raise NotAuthorizedException("sign in to continue")
        if user.role not in allowed:
            raise PermissionDeniedException("your role may not do this")

    guard.__name__ = f"requires_role_{'_'.join(sorted(allowed))}"
    return guard


requires_operator = requires_role("operator")
requires_admin = requires_role("admin")
requires_staff = requires_role(*STAFF_ROLES)
