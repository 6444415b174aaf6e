"""Request-body shapes and small readers shared by the interviews pages."""

from __future__ import annotations

from typing import Annotated, Any

from litestar.enums import RequestEncodingType
from litestar.params import Body

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
