"""Answering a request with a decrypted blob: streamed, with HTTP Range for playback.

Browsers seek in audio and video with single-range requests (`bytes=a-b`,
`bytes=a-`, `bytes=-n`); the store decrypts only the segments a range touches.
Decryption runs in a worker thread one segment at a time, so a long download
never holds the event loop for more than a segment's work.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from urllib.parse import quote

import structlog
from litestar import Request, Response
from litestar.exceptions import NotFoundException
from litestar.response import Stream

from core.storage import BlobNotFound, BlobStore, TenantKey

log = structlog.get_logger("mendan.blobs")

_RANGE_RE = re.compile(r"bytes=(\d*)-(\d*)")


class RangeNotSatisfiable(Exception):
    pass


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The half-open byte range [start, end) a `Range` header asks for, or None for the whole blob.

    Headers this does not understand (other units, several ranges, bad syntax) are
    ignored, as RFC 9110 allows; a well-formed range outside the blob raises
    `RangeNotSatisfiable`.
    """
    if not header:
        return None
    match = _RANGE_RE.fullmatch(header.strip().replace(" ", ""))
    if match is None:
        return None
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable
        return max(0, size - suffix), size
    start = int(first)
    if last != "" and int(last) < start:
        return None
    if start >= size:
        raise RangeNotSatisfiable
    end = size if last == "" else min(int(last) + 1, size)
    return start, end


def _next_block(blocks: Iterator[bytes]) -> bytes | None:
    return next(blocks, None)


async def _stream(first: bytes | None, blocks: Iterator[bytes], key: str) -> AsyncIterator[bytes]:
    block = first
    try:
        while block is not None:
            yield block
            block = await asyncio.to_thread(_next_block, blocks)
    except Exception:
        # Headers are already sent: the short body tells the client, the log tells us.
        log.exception("blob_stream_failed", key=key)
        raise


def content_disposition(filename: str, inline: bool = False) -> str:
    """A Content-Disposition header value (RFC 6266) for `filename`, any Unicode (Japanese names
    included): `attachment` (saved) or `inline` (shown), with an ASCII `filename` for old clients
    and the exact name as `filename*=UTF-8''…` (RFC 5987 percent-encoding) for the rest."""
    kind = "inline" if inline else "attachment"
    # Control characters (a CR/LF in an uploaded file's name) would end the header line.
    filename = "".join("_" if ord(c) < 32 or ord(c) == 127 else c for c in filename)
    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


async def blob_response(
    request: Request,
    store: BlobStore,
    tk: TenantKey,
    key: str,
    *,
    media_type: str,
    filename: str | None = None,
    inline: bool = True,
) -> Response:
    """200 with the whole blob, 206 with the range asked for, or 416; 404 when there is no such blob."""
    try:
        size = await asyncio.to_thread(store.size, tk, key)
    except BlobNotFound as exc:
        raise NotFoundException() from exc
    headers = {"Accept-Ranges": "bytes", "Cache-Control": "private, no-store"}
    if filename:
        headers["Content-Disposition"] = content_disposition(filename, inline)
    try:
        wanted = parse_range(request.headers.get("range"), size)
    except RangeNotSatisfiable:
        return Response(
            content=b"", status_code=416, media_type=media_type,
            headers={**headers, "Content-Range": f"bytes */{size}"},
        )
    start, end = wanted if wanted is not None else (0, size)
    blocks = store.read(tk, key, start, end)
    # The first segment is decrypted before answering, so a blob that does not open
    # (wrong key, damaged header) is a 500 rather than a 200 with a broken body.
    first = await asyncio.to_thread(_next_block, blocks)
    headers["Content-Length"] = str(end - start)
    # Stream lets the handler's default media type win over its own, an explicit header does not.
    headers["Content-Type"] = media_type
    status = 200
    if wanted is not None:
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    return Stream(_stream(first, blocks, key), status_code=status, media_type=media_type, headers=headers)
