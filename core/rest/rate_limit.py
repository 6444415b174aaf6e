"""A rate limit per API token (the `limits` library), told on every /api/v1 answer with the
IETF headers (draft-ietf-httpapi-ratelimit-headers): `RateLimit-Policy: "token";q=600;w=60` and
`RateLimit: "token";r=599;t=42`; over the limit a 429 problem with `Retry-After`.

Counters live in memory, or in Redis when the broker is Redis, so all processes share them."""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass

import limits
from limits.storage import storage_from_string
from limits.aio.strategies import FixedWindowRateLimiter

from core.auth.middleware import bearer_token
from core.config import Settings
from core.rest.problems import DEFAULTS, is_api_path
from core.web.i18n import gettext as _

POLICY = "token"
SCOPE_KEY = "mendan.rate_limit"


@dataclass(frozen=True)
class RateState:
    limit: int
    window_s: int
    remaining: int
    reset_s: int

    def headers(self) -> list[tuple[bytes, bytes]]:
        return [(b"ratelimit-policy", f'"{POLICY}";q={self.limit};w={self.window_s}'.encode()),
                (b"ratelimit", f'"{POLICY}";r={self.remaining};t={self.reset_s}'.encode())]


class ApiRateLimiter:
    """Counts /api/v1 requests per token (per client address without a live one)."""

    def __init__(self, rate: str, storage_uri: str = "memory://") -> None:
        self.item = limits.parse(rate)
        options = {"implementation": "redispy"} if storage_uri.startswith(("redis://", "rediss://")) else {}
        self.storage = storage_from_string(f"async+{storage_uri}", **options)
        self.strategy = FixedWindowRateLimiter(self.storage)

    @classmethod
    def from_settings(cls, settings: Settings) -> ApiRateLimiter:
        broker = settings.broker_url or ""
        return cls(settings.api_rate_limit, broker if broker.startswith(("redis://", "rediss://")) else "memory://")

    async def hit(self, scope) -> tuple[bool, RateState]:
        """Count this request; (allowed, the state to tell the client)."""
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        token = bearer_token(headers)
        client = (scope.get("client") or ("", 0))[0]
        # Refused tokens count by address, so trying many made-up tokens is limited too.
        refused = "api_token" in scope and scope["api_token"] is None
        who = "t:" + hashlib.sha256(token.encode()).hexdigest() if token and not refused else f"a:{client}"
        allowed = await self.strategy.hit(self.item, "mendan-api", who)
        stats = await self.strategy.get_window_stats(self.item, "mendan-api", who)
        reset = max(0, math.ceil(stats.reset_time - time.time()))
        state = RateState(self.item.amount, self.item.get_expiry(), max(0, stats.remaining), reset)
        scope[SCOPE_KEY] = state
        return allowed, state


def _problem_bytes() -> bytes:
    code, detail = DEFAULTS[429]
    return json.dumps({"type": "about:blank", "title": "Too Many Requests", "status": 429, "code": code,
                       "detail": _(detail)}, ensure_ascii=False).encode()


class ApiRateLimitMiddleware:
    """ASGI middleware: 429 before the handler when the token's window is used up."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or not is_api_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        allowed, state = await scope["app"].state.api_rate_limiter.hit(scope)
        if not allowed:
            await send({"type": "http.response.start", "status": 429,
                        "headers": [(b"content-type", b"application/problem+json"),
                                    (b"retry-after", str(max(1, state.reset_s)).encode())]})
            await send({"type": "http.response.body", "body": _problem_bytes()})
            return
        await self.app(scope, receive, send)


async def add_rate_limit_headers(message, scope) -> None:
    """Litestar `before_send`: every /api/v1 answer tells the rate state; answers that reached
    no handler (an unknown path) are counted here."""
    if message["type"] != "http.response.start" or scope.get("type") != "http" or not is_api_path(scope["path"]):
        return
    state = scope.get(SCOPE_KEY)
    if state is None:
        _allowed, state = await scope["app"].state.api_rate_limiter.hit(scope)
    names = {name for name, _value in state.headers()}
    message["headers"] = [h for h in message.get("headers", []) if h[0].lower() not in names] + state.headers()
