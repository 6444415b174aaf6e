"""`ETag` on single resources and `If-Match` on changes (RFC 9110 13.1.1): a client that read
a resource changes it only if no one else changed it meanwhile."""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec
from litestar import Request, Response

from core.rest.problems import ApiError


def etag_of(data: Any) -> str:
    """A strong ETag (quoted) of a representation: the hash of its JSON encoding."""
    return '"' + hashlib.sha256(msgspec.json.encode(data)).hexdigest()[:32] + '"'


def tagged(request: Request, data: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    """`data` answered with its ETag; a GET whose If-None-Match names it gets a 304."""
    etag = etag_of(data)
    if request.method == "GET" and etag in _listed(request.headers.get("if-none-match"), weak=True):
        return Response(None, status_code=304, headers={"ETag": etag})
    return Response(data, status_code=status_code, headers={**(headers or {}), "ETag": etag})


def _listed(header: str | None, weak: bool = False) -> list[str]:
    """The tags in an If-Match (strong comparison) or If-None-Match (weak) header."""
    tags = [part.strip() for part in (header or "").split(",") if part.strip()]
    return [tag.removeprefix("W/") for tag in tags] if weak else tags


def require_if_match(request: Request, current: Any) -> None:
    """Before a PATCH, PUT or DELETE: 428 without If-Match, 412 when it names neither the current
    representation's ETag (`current`, the data as GET answers it) nor `*`."""
    header = request.headers.get("if-match")
    if not header:
        raise ApiError(428)
    listed = _listed(header)
    if "*" not in listed and etag_of(current) not in listed:
        raise ApiError(412)
