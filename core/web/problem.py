"""Answers for API clients: RFC 9457 problem details, and who counts as a browser."""

from __future__ import annotations

from http import HTTPStatus

from litestar import Request, Response

from core.auth.middleware import bearer_token

PROBLEM_JSON = "application/problem+json"


def wants_html(request: Request) -> bool:
    """A browser asks for HTML and signs in by cookie; an API client (Bearer token, JSON) does not."""
    return "text/html" in request.headers.get("accept", "") and bearer_token(request.headers) is None


def problem(status: int, detail: str, headers: dict[str, str] | None = None, **extra) -> Response:
    """An RFC 9457 problem answer (`application/problem+json`) for API clients.

    Body: `type` ("about:blank"), `title` (the status phrase), `status`, `detail` (the message in
    the request's language) and any `extra` members (e.g. `errors` per field, `reopens_at`).
    """
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers or {})
