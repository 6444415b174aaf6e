"""Security headers on every answer (Litestar's `before_send`, so 404s and error pages too).

- `Content-Security-Policy`: scripts only from our own files (no inline script, no eval), no
  plugins, no framing (`frame-ancestors 'none'`), forms post only to us. Inline `style`
  attributes stay allowed: they cannot run code. Media and images may come from `blob:` and `data:` URLs
  (the live room and the self-interview play what the browser just recorded).
- `X-Content-Type-Options: nosniff`, `Referrer-Policy: same-origin` (personal join links carry a
  token in their path; it must never leave in a Referer), `Permissions-Policy` (camera and
  microphone for our own pages only).
- `Strict-Transport-Security` in production.
- `Cache-Control: no-store` on everything but static files, unless the handler chose its own:
  pages show personal data, and Back after sign-out must not show them again from the cache.
"""

from __future__ import annotations

from core.config import Settings

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob: data:",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
HSTS = "max-age=31536000; includeSubDomains"


def _headers(production: bool) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
        (b"permissions-policy", b"camera=(self), microphone=(self), geolocation=()"),
    ]
    if production:
        headers.append((b"strict-transport-security", HSTS.encode()))
    return headers


def security_headers(settings: Settings):
    """The `before_send` handler that adds the headers above to each response start."""
    extra = _headers(settings.is_production)

    async def before_send(message, scope) -> None:
        if message["type"] != "http.response.start":
            return
        headers = list(message.get("headers") or [])
        present = {bytes(name).lower() for name, _value in headers}
        headers.extend(h for h in extra if h[0] not in present)
        if not scope.get("path", "").startswith("/static/") and b"cache-control" not in present:
            headers.append((b"cache-control", b"no-store"))
        message["headers"] = headers

    return before_send
