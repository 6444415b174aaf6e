"""Error answers: pages in the user's language for browsers, RFC 9457 problem JSON for API clients.

A browser that is not signed in is sent to the sign-in page of the tenant in
the URL (or the operators' one), and comes back afterwards.
"""

from __future__ import annotations

from urllib.parse import quote

from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, NotFoundException
from litestar.response import Redirect
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

import structlog

from core.db.constraints import ConflictError
from core.rest.problems import ApiError, api_error_answer, is_api_path
from core.web.i18n import gettext as _
from core.web.problem import PROBLEM_JSON, problem, wants_html  # noqa: F401 (the public names live here too)
from core.web.rendering import plain_page

log = structlog.get_logger("mendan.web")


class NotInContract(NotFoundException):
    """A plugin's URL on a tenant whose contract lacks the plugin: a 404 that says why."""

    def __init__(self, service_name: str) -> None:
        super().__init__(_("This service is not part of your contract."))
        self.service_name = service_name


def login_url(path: str) -> str:
    parts = path.strip("/").split("/")
    base = f"/t/{parts[1]}/login" if len(parts) >= 2 and parts[0] == "t" else "/login"
    return f"{base}?next={quote(path)}"


def _headers(exc: HTTPException) -> dict[str, str]:
    headers = dict(exc.headers or {})
    # Litestar's rate limiter says when the window resets; clients read Retry-After.
    reset = next((v for k, v in headers.items() if k.lower() == "ratelimit-reset"), None)
    if exc.status_code == 429 and reset is not None and not any(k.lower() == "retry-after" for k in headers):
        headers["Retry-After"] = str(reset)
    return headers


def http_error(request: Request, exc: HTTPException):
    if is_api_path(request.url.path):
        return api_error_answer(request, exc)
    headers = _headers(exc)
    if not wants_html(request):
        extra = {"errors": exc.extra} if isinstance(getattr(exc, "extra", None), (list, dict)) and exc.extra else {}
        return problem(exc.status_code, _(exc.detail) if exc.detail else "", headers=headers, **extra)
    if isinstance(exc, NotAuthorizedException):
        return Redirect(login_url(request.url.path))
    if isinstance(exc, NotInContract):
        return plain_page(request, "not_in_contract.html", status_code=404, service_name=exc.service_name)
    # Translated here, not in the template: Jinja's `_()` marks its result safe and %-formats it,
    # and a detail may quote the request (a validation error quotes the URL).
    detail = _(exc.detail) if exc.detail else ""
    response = plain_page(request, "error.html", status_code=exc.status_code, status=exc.status_code, detail=detail)
    response.headers.update(headers)
    return response


def conflict(request: Request, exc: ConflictError):
    """Concurrent writers kept taking the same unique key: 409, try again."""
    detail = _("Someone else saved at the same moment; nothing was lost. Please send the form again.")
    if is_api_path(request.url.path):
        return api_error_answer(request, ApiError(409, detail=detail))
    if not wants_html(request):
        return problem(409, detail)
    return plain_page(request, "error.html", status_code=409, status=409, detail=detail)


def server_error(request: Request, exc: Exception):
    log.exception("unhandled_error", path=request.url.path, error=repr(exc))
    if is_api_path(request.url.path):
        return api_error_answer(request, exc)
    if not wants_html(request):
        return problem(HTTP_500_INTERNAL_SERVER_ERROR, "internal server error")
    return plain_page(request, "error.html", status_code=500, status=500, detail="")


EXCEPTION_HANDLERS = {HTTPException: http_error, ConflictError: conflict, Exception: server_error}
