"""In production `/metrics`, `/readyz` and `/schema` are for the platform's own eyes.

They answer 404 (as if absent, telling nothing) unless the caller's address is in
`Settings.internal_networks` (where Prometheus and the load balancer's checks come from) or,
for `/schema`, the caller is a signed-in operator. In development they stay open. The address
is the one uvicorn settled on: X-Forwarded-For counts only from `Settings.trusted_proxies`.
"""

from __future__ import annotations

import ipaddress

from core.config import Settings

INTERNAL_PATHS = ("/metrics", "/readyz", "/schema")


def is_internal_path(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in INTERNAL_PATHS)


class InternalEndpointsMiddleware:
    """ASGI middleware; placed after authentication, which tells it who an operator is."""

    def __init__(self, app, settings: Settings) -> None:
        self.app = app
        self.production = settings.is_production
        self.networks = [ipaddress.ip_network(n, strict=False) for n in settings.internal_networks]

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and self.production and is_internal_path(scope.get("path", "")) \
                and not self._allowed(scope):
            await send({"type": "http.response.start", "status": 404,
                        "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
            await send({"type": "http.response.body", "body": b"Not Found"})
            return
        await self.app(scope, receive, send)

    def _allowed(self, scope) -> bool:
        client = scope.get("client")
        try:
            if client and any(ipaddress.ip_address(client[0]) in net for net in self.networks):
                return True
        except ValueError:
            pass
        user = scope.get("user")
        return scope["path"].startswith("/schema") and getattr(user, "role", None) == "operator"
