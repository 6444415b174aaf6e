"""Per-request context: a request id and the language, bound before any handler runs."""

from __future__ import annotations

import re
import time
import uuid
from http.cookies import SimpleCookie

import structlog

from core.plugins import dispatch_scope
from core.web import i18n

LANGUAGE_COOKIE = "lang"
log = structlog.get_logger("mendan.request")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def _request_id(given: str | None) -> str:
    """A proxy's X-Request-ID is kept so logs join up; anything odd is replaced, never logged."""
    return given if given and _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


class RequestContextMiddleware:
    """Runs after authentication, so the signed-in user's language can be used."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        cookies = SimpleCookie(headers.get("cookie", ""))
        user = scope.get("user")
        if scope["path"].startswith("/api/"):  # an API client says its language per request
            language = i18n.pick_language(None, None, headers.get("accept-language"))
        else:
            language = i18n.pick_language(
                cookies[LANGUAGE_COOKIE].value if LANGUAGE_COOKIE in cookies else None,
                getattr(user, "language", None),
                headers.get("accept-language"),
            )
        token = i18n.current_language.set(language)
        structlog.contextvars.bind_contextvars(request_id=_request_id(headers.get("x-request-id")))
        started, status = time.monotonic(), [None]

        async def send_noting_status(message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            with dispatch_scope():  # the tenant's enabled plugins are read once per request
                await self.app(scope, receive, send_noting_status)
        finally:
            # One line per request, carrying the ids bound above and by authentication.
            log.info("request", method=scope.get("method"), path=scope.get("path"), status=status[0],
                     ms=round((time.monotonic() - started) * 1000, 1))
            i18n.current_language.reset(token)
            structlog.contextvars.clear_contextvars()
