"""Idempotency keys: a form sent twice (a double click, a reload, a retry after a dropped
connection) does its work once.

Every POST form carries a hidden `_idempotency_key` (added by `static/forms.js` when the page
loads, a fresh random value per form); API clients may send an `Idempotency-Key` header. The
middleware claims the key (scoped to the signed-in user, or the client's CSRF cookie, and the
path) with a unique insert before the handler runs:

- a first request runs; a redirect or success is remembered (status and Location), an error
  releases the key so the corrected form can be sent again;
- the same key again, once the first finished with a redirect, gets that redirect (303) without
  running the handler; while the first is still running, or when it finished without a redirect
  to repeat, a 409 (a page or problem JSON).
Under /api/ the same key again gets the first answer itself: its status, JSON body, content type
and Location, marked `Idempotent-Replayed: true`. An answer marked `Cache-Control: no-store` (one that
shows a secret) is not kept: a repeat gets a 409 problem, code `idempotency_key_in_use`, as does a repeat
while the first runs; the same key with another body: 422, `idempotency_key_reused`. Keys are kept for a day.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone
from http.cookies import SimpleCookie
from typing import Any

import structlog
from litestar import Request

from core.db.constraints import is_unique_violation
from core.db.tables import IdempotencyKey
from core.web.i18n import gettext as _

log = structlog.get_logger("mendan.idempotency")

FIELD = "_idempotency_key"
HEADER = "idempotency-key"
KEEP = timedelta(days=1)
FORM = "application/x-www-form-urlencoded"
API_PREFIX = "/api/"
MAX_REPLAYED_BODY = 1024 * 1024  # an API answer larger than this is not kept (a repeat gets 409)


def _scoped(owner: str, path: str, key: str) -> str:
    return hashlib.sha256(f"{owner}\x00{path}\x00{key}".encode()).hexdigest()


async def _claim(scoped: str, fingerprint: str = "") -> IdempotencyKey | None:
    """None when this request now owns the key; else the earlier request's row."""
    await IdempotencyKey.delete().where(IdempotencyKey.created_at < datetime.now(timezone.utc) - KEEP)
    try:
        await IdempotencyKey.insert(IdempotencyKey(key=scoped, fingerprint=fingerprint))
        return None
    except Exception as exc:
        if not is_unique_violation(exc):
            raise
    return await IdempotencyKey.objects().where(IdempotencyKey.key == scoped).first()


def _answer_bytes(scope: dict, status: int, location: str | None) -> tuple[int, list, bytes]:
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
    browser = "text/html" in headers.get("accept", "") and not headers.get("authorization", "").startswith("Bearer ")
    if location:
        return 303, [(b"location", location.encode("latin-1"))], b""
    detail = _("This form was already sent; it was not sent again.")
    if browser:
        body = f"<!doctype html><meta charset=utf-8><title>409</title><p>{detail}</p>"
        return 409, [(b"content-type", b"text/html; charset=utf-8")], body.encode()
    problem = {"type": "about:blank", "title": "Conflict", "status": 409, "detail": detail}
    if scope["path"].startswith(API_PREFIX):
        problem.update(code="idempotency_key_in_use",
                       detail=_("A request with this Idempotency-Key is still running or its answer was not kept."))
    return 409, [(b"content-type", b"application/problem+json")], json.dumps(problem, ensure_ascii=False).encode()


def _reused() -> tuple[int, list, bytes]:
    problem = {"type": "about:blank", "title": "Unprocessable Entity", "status": 422, "code": "idempotency_key_reused",
               "detail": _("This Idempotency-Key was already used for a different request; use a fresh key.")}
    return 422, [(b"content-type", b"application/problem+json")], json.dumps(problem, ensure_ascii=False).encode()


def _replayed(earlier: IdempotencyKey) -> tuple[int, list, bytes]:
    """An API call's first answer, again."""
    headers = [(b"content-type", earlier.content_type.encode("latin-1")), (b"idempotent-replayed", b"true")]
    if earlier.location:
        headers.append((b"location", earlier.location.encode("latin-1")))
    return earlier.status, headers, earlier.body.encode()


class IdempotencyMiddleware:
    """ASGI middleware after authentication (it scopes keys to the signed-in user)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        request: Request[Any, Any, Any] = Request(scope, receive)
        key = request.headers.get(HEADER)
        if key is None and request.headers.get("content-type", "").startswith(FORM):
            # Litestar keeps the parsed body in the connection's scope, so the handler reads it again.
            key = (await request.form()).get(FIELD)
        if not key or len(str(key)) > 200:
            await self.app(scope, receive, send)
            return
        user = scope.get("user")
        cookies = SimpleCookie(request.headers.get("cookie", ""))
        owner = str(user.id) if user is not None else (cookies["csrftoken"].value if "csrftoken" in cookies else "")
        scoped = _scoped(owner, scope["path"], str(key))
        api = scope["path"].startswith(API_PREFIX)
        # An API key names one request: the same key with another body is the client's mistake.
        fingerprint = hashlib.sha256(await request.body()).hexdigest() if api else ""
        earlier = await _claim(scoped, fingerprint)
        if earlier is not None:
            log.info("idempotent_repeat", path=scope["path"], state=earlier.state)
            if api and earlier.fingerprint and earlier.fingerprint != fingerprint:
                status, headers, body = _reused()
            elif api and earlier.state == "done" and earlier.content_type:
                status, headers, body = _replayed(earlier)
            else:
                status, headers, body = _answer_bytes(scope, earlier.status,
                                                      earlier.location if earlier.state == "done" else None)
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        seen: dict[str, Any] = {"body": bytearray()}

        async def noting_send(message) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
                found = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in message.get("headers", [])}
                seen["location"] = found.get("location", "")
                seen["content_type"] = found.get("content-type", "")
                # An API answer that shows a secret is marked no-store: never kept (pages are all no-store).
                seen["no_store"] = api and "no-store" in found.get("cache-control", "")
            elif message["type"] == "http.response.body" and api and len(seen["body"]) <= MAX_REPLAYED_BODY:
                seen["body"] += message.get("body", b"")
            await send(message)

        try:
            await self.app(scope, receive, noting_send)
        finally:
            status = seen.get("status", 500)
            if status >= 400:
                await IdempotencyKey.delete().where(IdempotencyKey.key == scoped)
            else:
                kept = (api and len(seen["body"]) <= MAX_REPLAYED_BODY and "json" in seen.get("content_type", "")
                        and not seen.get("no_store"))
                await IdempotencyKey.update({
                    IdempotencyKey.state: "done", IdempotencyKey.status: status,
                    IdempotencyKey.location: "" if seen.get("no_store") else seen.get("location", "")[:2000],
                    IdempotencyKey.content_type: seen.get("content_type", "")[:100] if kept else "",
                    IdempotencyKey.body: seen["body"].decode("utf-8", "replace") if kept else "",
                }).where(IdempotencyKey.key == scoped)
