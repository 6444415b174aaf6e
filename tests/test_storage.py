"""The encrypted blob store (core/storage.py): round trips, ranges, tampering, keys, memory."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
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
from tests.conftest import make_settings

MB = 1024 * 1024


def fresh_store(tmp_path: Path, master_key: bytes | None = None) -> BlobStore:
    return BlobStore(tmp_path / "blobs", master_key or secrets.token_bytes(32))


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
def test_round_trip(tmp_path, size):
    store = fresh_store(tmp_path)
    tk = tenant_key(store)
    data = os.urandom(size)
    write(store, tk, "a/b.bin", data)
    assert store.size(tk, "a/b.bin") == size
    assert read_all(store, tk, "a/b.bin") == data
    # The file on disk is not the plaintext. A byte or a few would be found in any file by
    # chance (the header alone spells "MDNB"), so only runs of 16 or more bytes say anything.
    raw = (store.root / str(tk.tenant_id) / "a" / "b.bin").read_bytes()
    assert size < 16 or data[:64] not in raw


def test_ranges_across_segment_boundaries(tmp_path):
    store = fresh_store(tmp_path)
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


def test_write_file_and_delete(tmp_path):
    store = fresh_store(tmp_path)
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


def test_a_failed_write_leaves_nothing(tmp_path):
    store = fresh_store(tmp_path)
    tk = tenant_key(store)
    with pytest.raises(RuntimeError):
        with store.writer(tk, "half") as out:
            out.write(os.urandom(3 * SEGMENT))
            raise RuntimeError("upload broke off")
    assert not store.exists(tk, "half")
    assert list((store.root / str(tk.tenant_id)).iterdir()) == []


def test_delete_tenant(tmp_path):
    store = fresh_store(tmp_path)
    a, b = tenant_key(store), tenant_key(store)
    write(store, a, "x/1", b"one")
    write(store, a, "x/2", b"two")
    write(store, b, "x/1", b"other")
    assert store.delete_tenant(a.tenant_id) == 2
    assert store.count(a.tenant_id) == 0
    assert read_all(store, b, "x/1") == b"other"


@pytest.fixture
def sealed(tmp_path):
    """A three-and-a-bit segment blob and its file."""
    store = fresh_store(tmp_path)
    tk = tenant_key(store)
    data = os.urandom(3 * SEGMENT + 100)
    write(store, tk, "rec", data)
    return store, tk, store.root / str(tk.tenant_id) / "rec", data


@pytest.mark.parametrize("offset", [0, 5, HEADER.size, HEADER.size + SEGMENT + TAG + 7, -1])
def test_one_flipped_byte_fails(sealed, offset):
    store, tk, path, _ = sealed
    raw = bytearray(path.read_bytes())
    raw[offset] ^= 0x01
    path.write_bytes(bytes(raw))
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
    store, tk, path, _ = sealed
    path.write_bytes(path.read_bytes()[:keep])
    with pytest.raises(BlobCorrupt):
        read_all(store, tk, "rec")


def test_swapped_segments_fail(sealed):
    store, tk, path, data = sealed
    raw = path.read_bytes()
    seg = SEGMENT + TAG
    first, second = raw[HEADER.size : HEADER.size + seg], raw[HEADER.size + seg : HEADER.size + 2 * seg]
    path.write_bytes(raw[: HEADER.size] + second + first + raw[HEADER.size + 2 * seg :])
    with pytest.raises(BlobCorrupt):
        read_all(store, tk, "rec")
    # A range that touches only an untouched segment still reads.
    assert read_all(store, tk, "rec", 2 * SEGMENT, 2 * SEGMENT + 10) == data[2 * SEGMENT : 2 * SEGMENT + 10]


def test_wrong_master_key_cannot_open_a_tenant_key(tmp_path):
    store = fresh_store(tmp_path)

    class Row:
        id = "tenant-a"
        wrapped_data_key = store.new_wrapped_key("tenant-a")

    other = fresh_store(tmp_path)  # same folder, another master key
    with pytest.raises(BlobError, match="master key"):
        other.tenant_key(Row)

    class Moved:  # A's wrapped key pasted onto another tenant's row
        id = "tenant-b"
        wrapped_data_key = Row.wrapped_data_key

    with pytest.raises(BlobError):
        store.tenant_key(Moved)


def test_tenant_b_cannot_open_tenant_a_blobs(tmp_path):
    store = fresh_store(tmp_path)
    a, b = tenant_key(store, "tenant-a"), tenant_key(store, "tenant-b")
    write(store, a, "secret", b"A's interview")
    # B's own folder has no such blob ...
    with pytest.raises(BlobNotFound):
        store.read(b, "secret")
    # ... and A's file copied into B's folder does not open with B's key.
    target = store.root / "tenant-b" / "secret"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes((store.root / "tenant-a" / "secret").read_bytes())
    with pytest.raises(BlobCorrupt):
        read_all(store, b, "secret")
    with pytest.raises(BlobCorrupt):
        read_all(store, TenantKey("tenant-a", b.data_key), "secret")


@pytest.mark.parametrize(
    "key", ["", "../escape", "a/../../b", "/abs", "a//b", ".hidden", "a/.", "a b", "a\\b", "a/", "ü"]
)
def test_invalid_keys_are_refused(tmp_path, key):
    store = fresh_store(tmp_path)
    tk = tenant_key(store)
    with pytest.raises(BlobError, match="invalid blob key"):
        store.writer(tk, key)
    with pytest.raises(BlobError, match="invalid blob key"):
        store.read(tk, key)


def test_memory_stays_flat_for_a_large_blob(tmp_path):
    store = fresh_store(tmp_path)
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
