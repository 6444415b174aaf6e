"""The encrypted blob store (core/storage.py), on the local folder and on S3 (core/s3_storage.py,
against moto's S3 server): round trips, ranges, tampering, keys, memory, multipart uploads."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import subprocess
import sys
import tracemalloc
from dataclasses import replace
from pathlib import Path

import pytest

from core.config import Settings
from core.storage import (
    HEADER,
    SEGMENT,
    TAG,
    BlobCorrupt,
    BlobError,
    BlobNotFound,
    BlobStore,
    TenantKey,
    load_master_key,
)
from core.s3_storage import S3BlobStore
from tests.conftest import make_settings
from tests.s3_server import new_bucket, s3_client, s3_endpoint, s3_store  # noqa: F401 (fixture)

MB = 1024 * 1024


@pytest.fixture(params=["local", "s3"])
def fresh_store(request, tmp_path: Path):
    """Makes stores of one backend; the same folder or bucket each time, a new master key unless given."""
    bucket = new_bucket(request.getfixturevalue("s3_endpoint")) if request.param == "s3" else None

    def make(master_key: bytes | None = None) -> BlobStore:
        key = master_key or secrets.token_bytes(32)
        if bucket:
            return s3_store(request.getfixturevalue("s3_endpoint"), key, bucket=bucket)
        return BlobStore(tmp_path / "blobs", key)

    return make


def sealed_bytes(store: BlobStore, tk: TenantKey, key: str) -> bytes:
    """What the backend keeps for a blob (a file's bytes, an object's body)."""
    return b"".join(store.read_sealed(tk.tenant_id, key))


def replace_sealed(store: BlobStore, tenant_id, key: str, raw: bytes) -> None:
    """Overwrite what the backend keeps, as an attacker with access to the folder or bucket would."""
    store.write_sealed(tenant_id, key, [raw])


def tenant_key(store: BlobStore, tenant_id: str | None = None) -> TenantKey:
    """A tenant's key as the store would unwrap it from the tenant row."""

    class Row:
        id = tenant_id or secrets.token_hex(8)
        wrapped_data_key = None

    Row.wrapped_data_key = store.new_wrapped_key(Row.id)
    return store.tenant_key(Row)


def write(store: BlobStore, tk: TenantKey, key: str, data: bytes, chunk: int = 10_000) -> None:
    with store.writer(tk, key) as out:
        for i in range(0, len(data), chunk):
            out.write(data[i : i + chunk])


def read_all(store: BlobStore, tk: TenantKey, key: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join(store.read(tk, key, start, end))


@pytest.mark.parametrize("size", [0, 1, SEGMENT - 1, SEGMENT, SEGMENT + 1, 2 * SEGMENT, 5 * MB + 17])
def test_round_trip(fresh_store, size):
    store = fresh_store()
    tk = tenant_key(store)
    data = os.urandom(size)
    write(store, tk, "a/b.bin", data)
    assert store.size(tk, "a/b.bin") == size
    assert read_all(store, tk, "a/b.bin") == data
    # What is stored is not the plaintext. A byte or a few would be found in any file by
    # chance (the header alone spells "MDNB"), so only runs of 16 or more bytes say anything.
    raw = sealed_bytes(store, tk, "a/b.bin")
    assert size < 16 or data[:64] not in raw


def test_ranges_across_segment_boundaries(fresh_store, tmp_path):
    store = fresh_store()
    tk = tenant_key(store)
    data = os.urandom(4 * SEGMENT + 333)
    write(store, tk, "rec", data, chunk=7777)
    cases = [
        (0, 1), (SEGMENT - 1, SEGMENT + 1), (SEGMENT, 2 * SEGMENT), (SEGMENT - 10, 3 * SEGMENT + 10),
        (4 * SEGMENT, len(data)), (len(data) - 1, len(data)), (123, 123), (5, None), (0, len(data) + 999),
    ]
    for start, end in cases:
        assert read_all(store, tk, "rec", start, end) == data[start:end], (start, end)
    with pytest.raises(BlobError):
        read_all(store, tk, "rec", len(data) + 1)
    with pytest.raises(BlobError):
        read_all(store, tk, "rec", -1, 10)


def test_write_file_and_delete(fresh_store, tmp_path):
    store = fresh_store()
    tk = tenant_key(store)
    source = tmp_path / "source.bin"
    source.write_bytes(os.urandom(3 * SEGMENT + 5))
    assert store.write_file(tk, "f", source) == source.stat().st_size
    assert read_all(store, tk, "f") == source.read_bytes()
    assert store.exists(tk, "f") and store.count(tk.tenant_id) == 1
    store.delete(tk, "f")
    assert not store.exists(tk, "f")
    with pytest.raises(BlobNotFound):
        store.read(tk, "f")


def test_a_failed_write_leaves_nothing(fresh_store, tmp_path):
    store = fresh_store()
    tk = tenant_key(store)
    with pytest.raises(RuntimeError):
        with store.writer(tk, "half") as out:
            out.write(os.urandom(3 * SEGMENT))
            raise RuntimeError("upload broke off")
    assert not store.exists(tk, "half")
    assert list(store.stored()) == []
    if isinstance(store, S3BlobStore):  # no parts left behind in the bucket either
        assert store.client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", []) == []
    else:
        assert list((store.root / str(tk.tenant_id)).iterdir()) == []


def test_delete_tenant(fresh_store, tmp_path):
    store = fresh_store()
    a, b = tenant_key(store), tenant_key(store)
    write(store, a, "x/1", b"one")
    write(store, a, "x/2", b"two")
    write(store, b, "x/1", b"other")
    assert store.delete_tenant(a.tenant_id) == 2
    assert store.count(a.tenant_id) == 0
    assert read_all(store, b, "x/1") == b"other"


@pytest.fixture
def sealed(fresh_store):
    """A three-and-a-bit segment blob and its stored bytes."""
    store = fresh_store()
    tk = tenant_key(store)
    data = os.urandom(3 * SEGMENT + 100)
    write(store, tk, "rec", data)
    return store, tk, sealed_bytes(store, tk, "rec"), data


@pytest.mark.parametrize("offset", [0, 5, HEADER.size, HEADER.size + SEGMENT + TAG + 7, -1])
def test_one_flipped_byte_fails(sealed, offset):
    store, tk, stored, _ = sealed
    raw = bytearray(stored)
    raw[offset] ^= 0x01
    replace_sealed(store, tk.tenant_id, "rec", bytes(raw))
    with pytest.raises(BlobCorrupt):
        read_all(store, tk, "rec")


@pytest.mark.parametrize(
    "keep",
    [
        HEADER.size + 3 * (SEGMENT + TAG),  # the whole last segment dropped: a clean segment boundary
        HEADER.size + 3 * (SEGMENT + TAG) + 50,  # part of the last segment
        HEADER.size + 3 * (SEGMENT + TAG) + 5,  # less than a tag left over
        HEADER.size + SEGMENT + TAG,
        HEADER.size,
        10,
    ],
)
def test_truncated_file_fails(sealed, keep):
    store, tk, stored, _ = sealed
    replace_sealed(store, tk.tenant_id, "rec", stored[:keep])
    with pytest.raises(BlobCorrupt):
        read_all(store, tk, "rec")


def test_swapped_segments_fail(sealed):
    store, tk, raw, data = sealed
    seg = SEGMENT + TAG
    first, second = raw[HEADER.size : HEADER.size + seg], raw[HEADER.size + seg : HEADER.size + 2 * seg]
    replace_sealed(store, tk.tenant_id, "rec", raw[: HEADER.size] + second + first + raw[HEADER.size + 2 * seg :])
    with pytest.raises(BlobCorrupt):
        read_all(store, tk, "rec")
    # A range that touches only an untouched segment still reads.
    assert read_all(store, tk, "rec", 2 * SEGMENT, 2 * SEGMENT + 10) == data[2 * SEGMENT : 2 * SEGMENT + 10]


def test_wrong_master_key_cannot_open_a_tenant_key(fresh_store, tmp_path):
    store = fresh_store()

    class Row:
        id = "tenant-a"
        wrapped_data_key = store.new_wrapped_key("tenant-a")

    other = fresh_store()  # same folder or bucket, another master key
    with pytest.raises(BlobError, match="master key"):
        other.tenant_key(Row)

    class Moved:  # A's wrapped key pasted onto another tenant's row
        id = "tenant-b"
        wrapped_data_key = Row.wrapped_data_key

    with pytest.raises(BlobError):
        store.tenant_key(Moved)


def test_tenant_b_cannot_open_tenant_a_blobs(fresh_store, tmp_path):
    store = fresh_store()
    a, b = tenant_key(store, "tenant-a"), tenant_key(store, "tenant-b")
    write(store, a, "secret", b"A's interview")
    # B's own folder has no such blob ...
    with pytest.raises(BlobNotFound):
        store.read(b, "secret")
    # ... and A's stored bytes copied into B's place do not open with B's key.
    replace_sealed(store, "tenant-b", "secret", sealed_bytes(store, a, "secret"))
    with pytest.raises(BlobCorrupt):
        read_all(store, b, "secret")
    with pytest.raises(BlobCorrupt):
        read_all(store, TenantKey("tenant-a", b.data_key), "secret")


@pytest.mark.parametrize(
    "key", ["", "../escape", "a/../../b", "/abs", "a//b", ".hidden", "a/.", "a b", "a\\b", "a/", "ü"]
)
def test_invalid_keys_are_refused(fresh_store, key):
    store = fresh_store()
    tk = tenant_key(store)
    with pytest.raises(BlobError, match="invalid blob key"):
        store.writer(tk, key)
    with pytest.raises(BlobError, match="invalid blob key"):
        store.read(tk, key)


def test_memory_stays_flat_for_a_large_blob(tmp_path):
    store = BlobStore(tmp_path / "blobs", secrets.token_bytes(32))
    tk = tenant_key(store)
    chunk = os.urandom(MB)
    total = 50
    tracemalloc.start()
    try:
        digest = hashlib.sha256()
        with store.writer(tk, "big") as out:
            for i in range(total):
                block = i.to_bytes(4, "big") + chunk[4:]
                digest.update(block)
                out.write(block)
                del block
        _, write_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        check = hashlib.sha256()
        size = 0
        for block in store.read(tk, "big"):
            check.update(block)
            size += len(block)
        _, read_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert size == total * MB
    assert check.digest() == digest.digest()
    # 50 MB went through; Python never held more than a few MB of it at once.
    assert write_peak < 4 * MB, write_peak
    assert read_peak < 2 * MB, read_peak


def test_embedded_master_key_is_generated_once_and_reused(tmp_path):
    settings = make_settings(tmp_path)
    key_file = tmp_path / "master.key"
    assert not key_file.exists()
    first = load_master_key(settings)
    assert len(first) == 32 and key_file.exists()
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert load_master_key(settings) == first
    # A store built again from the same folder opens what the first one wrote.
    one = BlobStore.from_settings(settings)
    tk = tenant_key(one, "t1")
    write(one, tk, "k", b"kept")
    again = BlobStore.from_settings(settings)
    assert read_all(again, TenantKey("t1", tk.data_key), "k") == b"kept"
    assert again.master_key == first


def test_master_key_from_the_environment(tmp_path, monkeypatch):
    key = secrets.token_bytes(32)
    monkeypatch.setenv("MENDAN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MENDAN_MASTER_KEY", base64.urlsafe_b64encode(key).decode().rstrip("="))
    settings = Settings.from_env()
    assert load_master_key(settings) == key
    assert not (tmp_path / "master.key").exists()


def test_bad_or_missing_master_key_in_production(tmp_path):
    short = make_settings(tmp_path, master_key=base64.urlsafe_b64encode(b"too short").decode())
    with pytest.raises(ValueError, match="32 bytes"):
        load_master_key(short)
    production = replace(make_settings(tmp_path), environment="production")
    with pytest.raises(RuntimeError, match="MENDAN_MASTER_KEY"):
        load_master_key(production)
    assert not (tmp_path / "master.key").exists()


def test_s3_blob_larger_than_a_part_goes_up_in_parts_and_reads_in_ranges(s3_endpoint):
    store = s3_store(s3_endpoint, secrets.token_bytes(32), part_size=5 * MB)
    tk = tenant_key(store)
    data = os.urandom(11 * MB + 123)
    write(store, tk, "rec/big.webm", data, chunk=MB)
    head = s3_client(s3_endpoint).head_object(Bucket=store.bucket, Key=f"blobs/{tk.tenant_id}/rec/big.webm")
    # A multipart object's ETag ends in "-<number of parts>": 11 MB in 5 MiB parts is three.
    assert head["ETag"].strip('"').endswith("-3"), head["ETag"]
    assert store.size(tk, "rec/big.webm") == len(data)
    assert read_all(store, tk, "rec/big.webm") == data
    assert read_all(store, tk, "rec/big.webm", 5 * MB - 7, 5 * MB + 70_000) == data[5 * MB - 7 : 5 * MB + 70_000]
    store.delete(tk, "rec/big.webm")
    with pytest.raises(BlobNotFound):
        store.read(tk, "rec/big.webm")


def test_s3_backend_is_chosen_by_environment(s3_endpoint, tmp_path, monkeypatch):
    bucket = new_bucket(s3_endpoint)
    for name, value in {"MENDAN_DATA_DIR": str(tmp_path), "MENDAN_BLOB_BACKEND": "s3", "MENDAN_S3_BUCKET": bucket,
                        "MENDAN_S3_ENDPOINT_URL": s3_endpoint, "MENDAN_S3_REGION": "us-east-1",
                        "MENDAN_S3_PREFIX": "prod/", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}.items():
        monkeypatch.setenv(name, value)
    store = BlobStore.from_settings(Settings.from_env())
    assert isinstance(store, S3BlobStore) and store.location == f"s3://{bucket}/prod/"
    store.check()
    tk = tenant_key(store, "t1")
    write(store, tk, "k", b"in the bucket")
    keys = [o["Key"] for o in s3_client(s3_endpoint).list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["prod/t1/k"]
    assert not (tmp_path / "blobs").exists()


S3_MEMORY_CLIENT = """
import hashlib, json, os, secrets, sys, tracemalloc
from tests.s3_server import s3_store

store = s3_store(sys.argv[1], secrets.token_bytes(32), part_size=5 * 1024 * 1024)
class Row:
    id = "t"
    wrapped_data_key = store.new_wrapped_key("t")
tk = store.tenant_key(Row)
with store.writer(tk, "warm") as out:  # boto3's first call loads its service model: not the blob's cost
    out.write(b"x")
b"".join(store.read(tk, "warm"))
block, total = os.urandom(1024 * 1024), int(sys.argv[2])
tracemalloc.start()
digest = hashlib.sha256()
with store.writer(tk, "big") as out:
    for i in range(total):
        piece = i.to_bytes(4, "big") + block[4:]
        digest.update(piece)
        out.write(piece)
_, write_peak = tracemalloc.get_traced_memory()
tracemalloc.reset_peak()
check, size = hashlib.sha256(), 0
for piece in store.read(tk, "big"):
    check.update(piece)
    size += len(piece)
_, read_peak = tracemalloc.get_traced_memory()
print(json.dumps({"same": check.digest() == digest.digest(), "size": size, "write_peak": write_peak,
                  "read_peak": read_peak}))
"""


def test_s3_memory_stays_flat_for_a_large_blob(s3_endpoint):
    # The client runs in a process of its own: moto's server, in this one, holds every object in memory.
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
    ran = subprocess.run([sys.executable, "-c", S3_MEMORY_CLIENT, s3_endpoint, "40"], capture_output=True, text=True,
                         env=env, cwd=Path(__file__).resolve().parent.parent, timeout=600)
    assert ran.returncode == 0, ran.stderr
    result = json.loads(ran.stdout.strip().splitlines()[-1])
    assert result["same"] and result["size"] == 40 * MB
    # 40 MB went up in 5 MiB parts: about two parts' worth in memory at most (the buffer and the part sent).
    assert result["write_peak"] < 3 * 5 * MB, result
    assert result["read_peak"] < 2 * MB, result
