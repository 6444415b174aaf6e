"""Serving decrypted blobs over HTTP with Range requests (core/web/blobs.py)."""

from __future__ import annotations

import os

import pytest
from litestar import Litestar, Request, get
from litestar.params import FromPath
from litestar.testing import AsyncTestClient

from core.storage import SEGMENT, BlobStore
from core.web.blobs import RangeNotSatisfiable, blob_response, parse_range

BODY = os.urandom(3 * SEGMENT + 1234)


def blob_app(store: BlobStore, tenant) -> Litestar:
    """A test-only route: the blob `key` of `tenant`, as audio."""

    @get("/blob/{key:str}")
    async def serve(request: Request, key: FromPath[str]) -> object:
        return await blob_response(request, store, store.tenant_key(tenant), key, media_type="audio/webm",
                                   filename="録音 1.webm")

    return Litestar([serve])


@pytest.fixture
async def served(storage: BlobStore, make_tenant):
    tenant = await make_tenant()
    tk = storage.tenant_key(tenant)
    with storage.writer(tk, "rec") as out:
        out.write(BODY)
    with storage.writer(tk, "empty"):
        pass
    async with AsyncTestClient(blob_app(storage, tenant)) as client:
        yield client


async def test_whole_blob_without_range(served):
    response = await served.get("/blob/rec")
    assert response.status_code == 200
    assert response.content == BODY
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["content-length"] == str(len(BODY))
    assert response.headers["content-type"].startswith("audio/webm")
    assert "content-range" not in response.headers
    assert "filename*=UTF-8''%E9%8C%B2%E9%9F%B3%201.webm" in response.headers["content-disposition"]


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-0", 0, 1),
        ("bytes=10-99", 10, 100),
        (f"bytes={SEGMENT - 5}-{SEGMENT + 5}", SEGMENT - 5, SEGMENT + 6),  # across a segment boundary
        (f"bytes={SEGMENT}-", SEGMENT, len(BODY)),
        ("bytes=-100", len(BODY) - 100, len(BODY)),
        (f"bytes=-{len(BODY) + 50}", 0, len(BODY)),  # a suffix longer than the blob is the whole blob
        (f"bytes=5-{len(BODY) + 1000}", 5, len(BODY)),  # an end past the blob is clamped
    ],
)
async def test_single_ranges(served, header, start, end):
    response = await served.get("/blob/rec", headers={"Range": header})
    assert response.status_code == 206
    assert response.content == BODY[start:end]
    assert response.headers["content-range"] == f"bytes {start}-{end - 1}/{len(BODY)}"
    assert response.headers["content-length"] == str(end - start)
    assert response.headers["accept-ranges"] == "bytes"


@pytest.mark.parametrize("header", [f"bytes={len(BODY)}-", f"bytes={len(BODY) + 5}-{len(BODY) + 9}", "bytes=-0"])
async def test_unsatisfiable_range_is_416(served, header):
    response = await served.get("/blob/rec", headers={"Range": header})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{len(BODY)}"
    assert response.content == b""


@pytest.mark.parametrize("header", ["items=0-5", "bytes=0-5,10-20", "bytes=9-3", "bytes=abc"])
async def test_ranges_not_understood_give_the_whole_blob(served, header):
    response = await served.get("/blob/rec", headers={"Range": header})
    assert response.status_code == 200
    assert response.content == BODY


async def test_empty_blob(served):
    whole = await served.get("/blob/empty")
    assert whole.status_code == 200 and whole.content == b""
    assert (await served.get("/blob/empty", headers={"Range": "bytes=0-"})).status_code == 416
    assert (await served.get("/blob/empty", headers={"Range": "bytes=-5"})).status_code == 416


async def test_missing_blob_is_404(served):
    assert (await served.get("/blob/nothing-here")).status_code == 404


async def test_corrupt_blob_is_an_error_not_a_200(storage: BlobStore, make_tenant):
    tenant = await make_tenant()
    tk = storage.tenant_key(tenant)
    with storage.writer(tk, "rec") as out:
        out.write(BODY)
    path = storage.root / str(tenant.id) / "rec"
    raw = bytearray(path.read_bytes())
    raw[100] ^= 1
    path.write_bytes(bytes(raw))
    async with AsyncTestClient(blob_app(storage, tenant)) as client:
        response = await client.get("/blob/rec")
    assert response.status_code == 500


def test_parse_range_rules():
    assert parse_range(None, 10) is None
    assert parse_range("bytes=2-4", 10) == (2, 5)
    assert parse_range("bytes=-3", 10) == (7, 10)
    assert parse_range("bytes=8-", 10) == (8, 10)
    with pytest.raises(RangeNotSatisfiable):
        parse_range("bytes=10-", 10)
