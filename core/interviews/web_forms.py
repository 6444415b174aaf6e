"""Request-body shapes and small readers shared by the interviews pages."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect

from core.web.problem import problem, wants_html

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
Upload = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)]
PAGE_SIZE = 25


def text(data: dict[str, Any], name: str) -> str:
    value = data.get(name, "")
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value).strip()


def many(data: dict[str, Any], name: str) -> list[str]:
    value = data.get(name, [])
    values = value if isinstance(value, list) else [value]
    return [str(v) for v in values if str(v).strip()]


def page_window(page_number: int) -> tuple[int, int]:
    """(limit, offset) of a page; one extra row tells whether a next page exists."""
    page_number = max(1, page_number)
    return PAGE_SIZE + 1, (page_number - 1) * PAGE_SIZE


def back_with_error(request: Request, url: str, message: str, status: int = 400) -> Response:
    """A form's error: the browser goes back to `url`, which shows `message` (`?error=`); an API
    client gets problem JSON with the status."""
    if wants_html(request):
        return Redirect(f"{url}?error={quote(message)}")
    return problem(status, message)
