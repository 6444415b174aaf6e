"""Per-request context: a request id and the language, bound before any handler runs."""

from __future__ import annotations

import uuid
from http.cookies import SimpleCookie

import structlog

from core.web import i18n

LANGUAGE_COOKIE = "lang"


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
        language = i18n.pick_language(
            cookies[LANGUAGE_COOKIE].value if LANGUAGE_COOKIE in cookies else None,
            getattr(user, "language", None),
            headers.get("accept-language"),
        )
        token = i18n.current_language.set(language)
        structlog.contextvars.bind_contextvars(request_id=headers.get("x-request-id") or uuid.uuid4().hex)
        try:
            await self.app(scope, receive, send)
        finally:
            i18n.current_language.reset(token)
            structlog.contextvars.clear_contextvars()
