"""One check of every request's text before any handler runs, so no form or endpoint can forget it.

Query values, form fields (URL-encoded and multipart), uploaded files' names and every string
(key or value) of a JSON body are refused when they carry NUL or another control character
(PostgreSQL cannot store NUL; a CR ends a header line), and each has an upper length. Line
breaks and tabs stay allowed in form fields and JSON (a comment may have paragraphs); a field
that must be one line refuses them itself (`core.text_input.clean_text`, or the `SingleLine`
type of a REST model). Browsers get a page, API clients a 422 problem naming the field.

A form whose handler checks every text field itself and shows the form again with everything that
was typed (a transcript's corrections) declares so with the route option `OWN_TEXT_CHECKS`; its
fields are then left to it (file names are still checked here).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from typing import Any, NoReturn

import msgspec
from litestar import Request
from litestar.datastructures import UploadFile
from litestar.exceptions import HTTPException

from core.rest.problems import ApiError, FieldError, is_api_path
from core.web.i18n import gettext as _

QUERY_LENGTH = 2000  # a search term, a filter, a cursor: far below what a URL can carry
FORM_LENGTH = 50_000  # the longest text area (a model card, a transcript segment) with room to spare
FILE_NAME_LENGTH = 255  # what file systems keep
LINE_BREAKS = "\t\r\n"
OWN_TEXT_CHECKS = "own_text_checks"  # route `opt` key: the handler refuses control characters itself, keeping the form


def control_character(text: str, *, allowed: str = "") -> str | None:
    """The first control character (Unicode category Cc) of `text` not in `allowed`, or None."""
    return next((c for c in text if unicodedata.category(c) == "Cc" and c not in allowed), None)


class TextRefused(HTTPException):
    """A request's text was refused: 400 with a translated detail naming the field."""

    status_code = 400


def _refuse(request: Request, field: str, source: str, detail: str) -> NoReturn:
    if is_api_path(request.url.path):
        raise ApiError(422, detail=detail, errors=[FieldError(field, detail, source)])
    raise TextRefused(detail=detail)


def _check(request: Request, field: str, value: str, source: str, *, allowed: str, max_length: int) -> None:
    if control_character(value, allowed=allowed) is not None or control_character(field, allowed="") is not None:
        _refuse(request, field, source, _("%(field)s contains a control character (such as NUL); remove it.")
                % {"field": field.encode("unicode_escape").decode()})
    if len(value) > max_length:
        _refuse(request, field, source, _("%(field)s is %(length)s characters long; at most %(max)s are allowed.")
                % {"field": field, "length": len(value), "max": max_length})


def _json_strings(value: Any, where: str = "") -> Iterator[tuple[str, str]]:
    """(path, text) of every key and string value in a decoded JSON document; paths name members
    as the API's field errors do (`title`, `items[0].name`, `scores.clarity`)."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            path = f"{where}.{key}" if where else str(key)
            yield path, str(key)
            yield from _json_strings(item, path)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _json_strings(item, f"{where}[{index}]")


async def refuse_control_characters(request: Request) -> None:
    """Litestar `before_request` hook: raises (400 page, or 422 problem under /api/) when a query
    value, form field, uploaded file's name or JSON string breaks the rule above; else None."""
    for name, value in request.query_params.multi_items():
        _check(request, name, str(value), "query", allowed="", max_length=QUERY_LENGTH)
    if request.method in ("GET", "HEAD", "OPTIONS", "DELETE"):
        return
    content_type = request.content_type[0]
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        own_checks = request.route_handler.opt.get(OWN_TEXT_CHECKS, False)
        for name, value in (await request.form()).multi_items():
            if isinstance(value, UploadFile):
                _check(request, name, value.filename or "", "body", allowed="", max_length=FILE_NAME_LENGTH)
            elif not own_checks:
                _check(request, name, str(value), "body", allowed=LINE_BREAKS, max_length=FORM_LENGTH)
    elif content_type == "application/json" or content_type.endswith("+json"):
        try:
            document = msgspec.json.decode(await request.body())
        except msgspec.DecodeError:
            return  # not JSON: the handler's own decoding answers that
        for where, text in _json_strings(document):
            _check(request, where, text, "body", allowed=LINE_BREAKS, max_length=FORM_LENGTH)
