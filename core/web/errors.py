"""Error answers: pages in the user's language for browsers, RFC 9457 problem JSON for API clients.

A browser that is not signed in is sent to the sign-in page of the tenant in
the URL (or the operators' one), and comes back afterwards.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from urllib.parse import quote

from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, NotFoundException, ValidationException
from litestar.response import Redirect
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

import structlog

from core.db.constraints import ConflictError
from core.rest.problems import ApiError, api_error_answer, is_api_path
from core.web.i18n import N_, gettext as _, translations
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


# Litestar's own message for a parameter it could not read ("Validation failed for GET /t/..."),
# as opposed to a handler's ValidationException, whose message is already meant for people.
_LITESTAR_VALIDATION = re.compile(r"^Validation failed for [A-Z]+ ")


# Litestar's own refusals, said for people (its English detail is a developer's).
_LITESTAR_DETAILS = {
    "CSRF token verification failed": N_("This form has expired (it was open for long, or you signed in again "
                                         "meanwhile), so nothing was saved. Reload the page and send it again."),
}


def _invalid_values(exc: ValidationException) -> str:
    """Litestar's refusal of a parameter in words: which fields (their names, as sent) were not valid."""
    fields = sorted({str(e.get("key")) for e in exc.extra if isinstance(e, dict) and e.get("key")}) \
        if isinstance(exc.extra, list) else []
    if not fields:
        return _("A value in the address or the form is not valid.")
    return _("A value in the address or the form is not valid: %(fields)s.") % {"fields": ", ".join(fields)}


def _translated(message: str) -> bool:
    """Whether the catalogue says `message` in Japanese (the catalogue that holds every msgid)."""
    return translations("ja").gettext(message) != message


def _reason_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def http_error(request: Request, exc: HTTPException):
    if is_api_path(request.url.path):
        return api_error_answer(request, exc)
    headers = _headers(exc)
    said = _LITESTAR_DETAILS.get(exc.detail, exc.detail)
    if not wants_html(request):
        extra = {"errors": exc.extra} if isinstance(getattr(exc, "extra", None), (list, dict)) and exc.extra else {}
        return problem(exc.status_code, _(said) if said else "", headers=headers, **extra)
    if isinstance(exc, NotAuthorizedException):
        return Redirect(login_url(request.url.path))
    if isinstance(exc, NotInContract):
        return plain_page(request, "not_in_contract.html", status_code=404, service_name=exc.service_name)
    # Translated here, not in the template: Jinja's `_()` marks its result safe and %-formats it,
    # and a detail may quote the request (a validation error quotes the URL). A detail that is only
    # the status's English reason phrase ("Not Found"), untranslated, is left out: the heading says it.
    detail = _(said) if said else ""
    if said == _reason_phrase(exc.status_code) and not _translated(said):
        detail = ""
    if isinstance(exc, ValidationException) and _LITESTAR_VALIDATION.match(exc.detail or ""):
        detail = _invalid_values(exc)
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
