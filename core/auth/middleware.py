"""Who is calling: an API token in `Authorization: Bearer`, else the server-side session."""

from __future__ import annotations

from typing import Any

import structlog
from litestar.connection import ASGIConnection
from litestar.middleware.authentication import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.middleware.csrf import CSRFMiddleware

from core.auth.tokens import token_and_user
from core.db.tables import User

SESSION_USER_KEY = "user_id"


def bearer_token(headers: Any) -> str | None:
    value = headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


class UserAuthenticationMiddleware(AbstractAuthenticationMiddleware):
    """Sets `request.user` to the active `User`, or None for anonymous requests.

    A request carrying a bearer token is judged by the token alone: it never
    falls back to the session, which is what lets such requests skip CSRF. The token's row is
    kept in `scope["api_token"]` (its `scope` is checked by `core.rest.auth.requires_scope`).
    """

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        token = bearer_token(connection.headers)
        if token is not None:
            found = await token_and_user(token)
            user = found[1] if found else None
            connection.scope["api_token"] = found[0] if found else None  # type: ignore[typeddict-unknown-key]
            auth = "token" if user else None
        else:
            user = await self._session_user(connection)
            auth = "session" if user else None
        if user is not None:
            structlog.contextvars.bind_contextvars(
                user_id=str(user.id), tenant_id=str(user.tenant) if user.tenant else None
            )
        return AuthenticationResult(user=user, auth=auth)

    async def _session_user(self, connection: ASGIConnection) -> User | None:
        session = connection.scope.get("session") or {}
        user_id = session.get(SESSION_USER_KEY)
        if not user_id:
            return None
        try:
            user = await User.objects().where(User.id == user_id).first()
        except ValueError:
            return None
        return user if user is not None and user.active else None


class TokenAwareCSRFMiddleware(CSRFMiddleware):
    """Litestar's CSRF protection, skipped for API-token requests: a browser on another
    site cannot attach an Authorization header, and such requests never use the session."""

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
            # /api/ accepts tokens only (core.rest.auth), so a cookie can never act there.
            if bearer_token(headers) is not None or scope["path"].startswith("/api/"):
                await self.app(scope, receive, send)
                return
        await super().__call__(scope, receive, send)
