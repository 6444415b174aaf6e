"""Litestar's server-side sessions, with a new session id issued at sign-in.

Litestar keeps the id from the request's cookie for as long as the browser sends
it, so an id planted in a browser before sign-in would stay valid after it
(session fixation). `start_session` marks the request; the backend then drops the
old id from the store and sets the cookie to a fresh one.

A visitor without a session cookie whose session stayed empty gets no cookie and no stored row:
otherwise every anonymous request (a crawler, a health probe) would leave a 14-day row behind.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.types import Message

_RENEW = "mendan.session_renew"
_NEW_ID = "mendan.session_new_id"


def start_session(connection: ASGIConnection, data: dict[str, Any]) -> None:
    """Replace the session with `data` under a new session id."""
    connection.scope[_RENEW] = True  # type: ignore[literal-required]
    connection.set_session(data)


class RenewingSessionBackend(ServerSideSessionBackend):
    def get_session_id(self, connection: ASGIConnection) -> str:
        return connection.scope.get(_NEW_ID) or super().get_session_id(connection)  # type: ignore[return-value]

    async def store_in_message(self, scope_session: Any, message: Message, connection: ASGIConnection) -> None:
        scope = connection.scope
        if message["type"] == "http.response.start" and scope_session == {} and not scope.get(_RENEW) \
                and self.config.key not in connection.cookies:
            return
        if scope.pop(_RENEW, False):  # type: ignore[misc]
            old_id = connection.cookies.get(self.config.key)
            if old_id and old_id != "null":
                await self.delete(old_id, store=self.config.get_store_from_app(scope["app"]))
            scope[_NEW_ID] = self.generate_session_id()  # type: ignore[literal-required]
        await super().store_in_message(scope_session, message, connection)


class RenewingSessionConfig(ServerSideSessionConfig):
    _backend_class = RenewingSessionBackend
