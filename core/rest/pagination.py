"""Cursor pagination and list filters for /api/v1 lists, and the bounded page number of the pages' lists.

Lists are ordered by (created_at, id), oldest first, so a walk neither skips nor repeats rows
when rows are added meanwhile. A page is `{"items": [...], "next_cursor": str | null}`; the
cursor is opaque to clients (base64url of the last row's created_at and id)."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime, timezone
from typing import Annotated, Any, Sequence
from uuid import UUID

from litestar.params import Parameter, QueryParameter

from core.rest.problems import ApiError, FieldError
from core.web.i18n import gettext as _

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_PAGE = 1_000_000  # a page number beyond it would only ever be empty (and overflows an OFFSET)

# Query parameters, to annotate a list handler's arguments with (bounds are checked and
# documented by Litestar; a value out of range is a 422 problem).
Limit = Annotated[int, Parameter(ge=1, le=MAX_LIMIT,
                                 description="Items per page, 1 to 100.")]
# `?page_number=` of a web page's list: out of range is a 400 page, never a database overflow.
PageNumber = Annotated[int, Parameter(ge=1, le=MAX_PAGE, description="Page of the list, 1 to 1,000,000.")]
CursorParam = Annotated[str | None, Parameter(max_length=200,
                                              description="`next_cursor` of the previous page.")]
# `state` is a name Litestar keeps for the app state: a handler takes `state_filter: StateParam = None`.
StateParam = Annotated[str | None, QueryParameter(name="state", max_length=32,
                                                  description="Only rows in this state.")]
CreatedAfter = Annotated[str | None, Parameter(max_length=40,
                                               description="ISO 8601 time; only rows created at or after it.")]
CreatedBefore = Annotated[str | None, Parameter(max_length=40,
                                                description="ISO 8601 time; only rows created before it.")]


def encode_cursor(created_at: datetime, row_id: Any) -> str:
    raw = json.dumps([created_at.astimezone(timezone.utc).isoformat(), str(row_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    """(created_at, id) of the last row seen; a cursor not made here is a 422 problem."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, row_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return datetime.fromisoformat(created), UUID(row_id)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise ApiError(422, errors=[FieldError("cursor", _("This cursor is not valid; start again without one."),
                                               "query")]) from None


def parse_time(value: str | None, field: str) -> datetime | None:
    """An ISO 8601 query value as an aware datetime (UTC when it names no zone); 422 if malformed."""
    if value is None or value == "":
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ApiError(422, errors=[FieldError(field, _("Give an ISO 8601 time, e.g. 2026-04-01T09:00:00+09:00."),
                                               "query")]) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def created_between(query: Any, table: Any, created_after: str | None, created_before: str | None) -> Any:
    """`query` narrowed to rows whose `created_at` is in [created_after, created_before)."""
    after = parse_time(created_after, "created_after")
    before = parse_time(created_before, "created_before")
    if after is not None:
        query = query.where(table.created_at >= after)
    if before is not None:
        query = query.where(table.created_at < before)
    return query


def in_states(query: Any, column: Any, state: str | None, allowed: Sequence[str]) -> Any:
    """`query` narrowed to one state (or role, kind, ...) of `allowed`; another value is a 422."""
    if state is None or state == "":
        return query
    if state not in allowed:
        raise ApiError(422, errors=[FieldError(column._meta.name, _("Choose one of: %(choices)s")
                                               % {"choices": ", ".join(allowed)}, "query")])
    return query.where(column == state)


async def paginate(query: Any, table: Any, *, limit: int, cursor: str | None) -> tuple[list[Any], str | None]:
    """The page after `cursor` of a piccolo `objects()` query, in (created_at, id) order, and
    the cursor of the next page (None on the last page)."""
    if cursor:
        created, row_id = decode_cursor(cursor)
        query = query.where((table.created_at > created) | ((table.created_at == created) & (table.id > row_id)))
    rows = await query.order_by(table.created_at, table.id).limit(limit + 1)
    if len(rows) <= limit:
        return list(rows), None
    last = rows[limit - 1]
    return list(rows[:limit]), encode_cursor(last.created_at, last.id)
