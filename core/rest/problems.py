"""Errors under /api/v1: RFC 9457 problem details with a stable machine `code` and a `detail`
in the request's language (Accept-Language; Japanese by default)."""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example

from core.web.i18n import N_, gettext as _
from core.web.problem import PROBLEM_JSON, problem

API_PREFIX = "/api/"

# The code and message of each status when the raiser gave none; a client branches on `code`.
DEFAULTS: dict[int, tuple[str, str]] = {
    400: ("bad_request", N_("The request could not be understood.")),
    401: ("authentication_required", N_("Send a valid API token: Authorization: Bearer mdn_...")),
    403: ("forbidden", N_("Your role or your token's scope does not allow this.")),
    404: ("not_found", N_("Not found.")),
    405: ("method_not_allowed", N_("This method is not allowed here.")),
    409: ("conflict", N_("The request conflicts with the current state; try again.")),
    410: ("gone", N_("This is gone: it expired or was given up.")),
    412: ("precondition_failed", N_("The resource changed since you read it (If-Match does not match its ETag).")),
    413: ("payload_too_large", N_("The request body is too large.")),
    415: ("unsupported_media_type", N_("This content type is not accepted here.")),
    422: ("validation_failed", N_("Some values are not valid; see errors.")),
    428: ("precondition_required", N_("Send If-Match with the ETag you read, so no one else's change is lost.")),
    429: ("rate_limited", N_("Too many requests with this token; wait as long as Retry-After says.")),
    500: ("internal_error", N_("Something went wrong on our side; nothing was changed by this request.")),
    503: ("service_unavailable", N_("The service is not available now.")),
}


class FieldError(msgspec.Struct):
    """One invalid value: where it was (`field`, `source`: body, query, path, header, row; `line`
    of an uploaded CSV file, 1 = the header) and why."""

    field: str
    detail: str
    source: str = "body"
    line: int | None = None


class Problem(msgspec.Struct, omit_defaults=True):
    """An RFC 9457 problem details object, as every /api/v1 error answers."""

    type: str
    title: str
    status: int
    code: str
    detail: str
    errors: list[FieldError] = []


class ApiError(HTTPException):
    """Raise in an API handler to answer a problem: `code` (stable, snake_case), `detail` (a
    translated message), `errors` (per field) and `headers`."""

    def __init__(self, status: int, code: str | None = None, detail: str | None = None,
                 errors: list[FieldError] | None = None, headers: dict[str, str] | None = None) -> None:
        default_code, default_detail = DEFAULTS.get(status, ("error", ""))
        super().__init__(status_code=status, detail=detail or _(default_detail), headers=headers)
        self.code = code or default_code
        self.errors = errors or []


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIX)


def api_problem(status: int, code: str, detail: str, errors: list[FieldError] | None = None,
                headers: dict[str, str] | None = None, **extra: Any) -> Response:
    """The problem answer itself (`application/problem+json`)."""
    if errors:
        extra["errors"] = [{k: v for k, v in msgspec.structs.asdict(e).items() if v is not None} for e in errors]
    return problem(status, detail, headers=headers, code=code, **extra)


def _readable(message: str) -> str:
    """msgspec's English message for the text rule's constraints (`core.text_input`), in the
    reader's language; other messages as they are."""
    if "matching regex" in message and "x00-" in message:
        return _("Remove the control character (such as a line break or NUL).")
    if "matching regex" in message and "[a-z0-9_]" in message:
        return _("An evaluation item's key is lowercase letters, digits and _.")
    if longest := re.search(r"Expected `str` of length <= (\d+)", message):
        return _("At most %(max)s characters are allowed.") % {"max": longest.group(1)}
    return message


def _validation_errors(exc: ValidationException) -> list[FieldError]:
    found = [e for e in (exc.extra if isinstance(exc.extra, list) else []) if isinstance(e, dict)]
    # Litestar's fallback collection also reports path parameters the handler does not take, as
    # their KeyError ("'tenant'"): not the client's error. Its sources are `ParamType` members.
    return [FieldError(field=str(e.get("key", "")), detail=_readable(str(e.get("message", ""))),
                       source=str(getattr(e.get("source"), "value", e.get("source") or "body")))
            for e in found if e.get("message") != f"'{e.get('key')}'"]


def api_error_answer(request: Request, exc: Exception) -> Response:
    """Any exception raised under /api/v1 as a problem; Litestar's own errors get our codes."""
    if isinstance(exc, ApiError):
        headers = dict(exc.headers or {})
        if exc.status_code == 401:
            headers.setdefault("WWW-Authenticate", 'Bearer realm="mendan"')
        return api_problem(exc.status_code, exc.code, exc.detail, exc.errors, headers)
    if isinstance(exc, ValidationException):
        code, detail = DEFAULTS[422]
        return api_problem(422, code, _(detail), _validation_errors(exc))
    if isinstance(exc, HTTPException):
        status = exc.status_code
        headers = dict(exc.headers or {})
        if isinstance(exc, NotAuthorizedException):
            headers.setdefault("WWW-Authenticate", 'Bearer realm="mendan"')
        code, detail = DEFAULTS.get(status, ("error", exc.detail or ""))
        if getattr(exc, "service_name", None):  # core.web.errors.NotInContract: the plugin is off
            code, detail = "not_in_contract", exc.detail
        if status == 503 and getattr(exc, "closure", None) is not None:
            code = "service_closed"
        return api_problem(status, code, _(detail), headers=headers)
    code, detail = DEFAULTS[500]
    return api_problem(500, code, _(detail))


def _example(status: int) -> dict[str, Any]:
    code, detail = DEFAULTS[status]
    body: dict[str, Any] = {"type": "about:blank", "title": "", "status": status, "code": code, "detail": detail}
    if status == 422:
        body["errors"] = [{"field": "limit", "detail": "Expected `int` <= 100", "source": "query"}]
    return body


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for a handler's problem answers; 400, 401, 404, 429 and 500 always (400 also
    replaces Litestar's own entry, which names `application/json` and another shape)."""
    wanted = sorted({400, 401, 404, 429, 500, *statuses})
    return {
        status: ResponseSpec(data_container=Problem, media_type=PROBLEM_JSON, generate_examples=False,
                             description=f"{DEFAULTS[status][0]}: {DEFAULTS[status][1]}",
                             examples=[Example(summary=DEFAULTS[status][0], value=_example(status))])
        for status in wanted
    }
