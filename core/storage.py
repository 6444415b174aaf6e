"""Encrypted blob store: a local folder by default.

Every blob is encrypted with AES-256-GCM. Each tenant has a random data key,
kept in the tenant row wrapped (AES-GCM) by the master key, which comes from
MENDAN_MASTER_KEY or, on the embedded default, from a file generated in the
data folder on first start. Each blob gets its own key, derived from the
tenant's data key and a random salt with HKDF.

Blobs are written and read as a sequence of 64 KiB segments, each sealed on its
own (nonce = segment number and a last-segment flag, as in Tink's streaming
AEAD), so files are never held whole in memory, a truncated or reordered file
fails to decrypt, and a byte range is read by decrypting only its segments.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import shutil
import struct
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from core.config import Settings, read_or_create_secret_file

log = structlog.get_logger("mendan.storage")

MAGIC = b"MDNB"
VERSION = 1
SEGMENT = 64 * 1024
TAG = 16
SALT = 16
HEADER = struct.Struct(">4sB16sI")  # magic, version, salt, segment size
_KEY_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]*(/[A-Za-z0-9][A-Za-z0-9._\-]*)*")


class BlobError(Exception):
    pass


class BlobNotFound(BlobError):
    pass


class BlobCorrupt(BlobError):
    pass


def load_master_key(settings: Settings) -> bytes:
    if settings.master_key:
        key = base64.urlsafe_b64decode(settings.master_key + "=" * (-len(settings.master_key) % 4))
        if len(key) != 32:
            raise ValueError("MENDAN_MASTER_KEY must be 32 bytes, base64-encoded")
        return key
    if settings.is_production:
        raise RuntimeError("MENDAN_MASTER_KEY must be set in production")
    path = settings.data_dir / "master.key"
    value, created = read_or_create_secret_file(
        path, lambda: base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
    if created:
        log.warning("master_key_generated", path=str(path),
                    hint="back this file up; set MENDAN_MASTER_KEY in production")
    return base64.urlsafe_b64decode(value)


def wrap_data_key(master_key: bytes, tenant_id: Any, data_key: bytes | None = None) -> str:
    """A new (or the given) tenant data key, sealed by the master key and bound to the tenant id."""
    data_key = data_key or secrets.token_bytes(32)
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(master_key).encrypt(nonce, data_key, str(tenant_id).encode())
    return base64.b64encode(nonce + sealed).decode()


def unwrap_data_key(master_key: bytes, tenant_id: Any, wrapped: str) -> bytes:
    raw = base64.b64decode(wrapped)
    try:
        return AESGCM(master_key).decrypt(raw[:12], raw[12:], str(tenant_id).encode())
    except InvalidTag as exc:
        raise BlobError("the tenant data key does not open with this master key") from exc


def _nonce(index: int, last: bool) -> bytes:
    return index.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def _blob_cipher(data_key: bytes, salt: bytes) -> AESGCM:
    return AESGCM(HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"mendan-blob").derive(data_key))


@dataclass(frozen=True)
class TenantKey:
    """What the store needs of a tenant: its id and its unwrapped data key."""

    tenant_id: Any
    data_key: bytes


def _value_cipher(tk: TenantKey) -> AESGCM:
    return AESGCM(HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"mendan-value").derive(tk.data_key))


def seal_value(tk: TenantKey, plaintext: str, context: str) -> str:
    """A short secret (a password, an API key) sealed under the tenant's data key, as base64 text
    for a database column. `context` (e.g. "hello.api_key") is bound in, so a sealed value copied
    to another field or tenant does not open."""
    nonce = secrets.token_bytes(12)
    aad = f"{tk.tenant_id}:{context}".encode()
    return base64.b64encode(nonce + _value_cipher(tk).encrypt(nonce, plaintext.encode(), aad)).decode()


def open_value(tk: TenantKey, sealed: str, context: str) -> str:
    """The plaintext of `seal_value`; BlobCorrupt when it was altered or sealed for another context."""
    raw = base64.b64decode(sealed)
    try:
        return _value_cipher(tk).decrypt(raw[:12], raw[12:], f"{tk.tenant_id}:{context}".encode()).decode()
    except InvalidTag as exc:
        raise BlobCorrupt(f"sealed value for {context} does not open") from exc


class BlobWriter:
    """Streams plaintext in, writes sealed segments to a temporary file, renames on close."""

    def __init__(self, path: Path, data_key: bytes) -> None:
        self.path = path
        self.tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
        path.parent.mkdir(parents=True, exist_ok=True)
        salt = secrets.token_bytes(SALT)
        self.cipher = _blob_cipher(data_key, salt)
        self.fh = open(self.tmp, "wb")
        self.fh.write(HEADER.pack(MAGIC, VERSION, salt, SEGMENT))
        self.buffer = bytearray()
        self.index = 0
        self.size = 0

    def write(self, data: bytes) -> None:
        self.buffer += data
        self.size += len(data)
        # Keep one full segment back: only close() knows which segment is the last.
        while len(self.buffer) > SEGMENT:
            self._seal(bytes(self.buffer[:SEGMENT]), last=False)
            del self.buffer[:SEGMENT]

    def _seal(self, plain: bytes, last: bool) -> None:
        self.fh.write(self.cipher.encrypt(_nonce(self.index, last), plain, None))
        self.index += 1

    def close(self) -> int:
        self._seal(bytes(self.buffer), last=True)
        self.buffer.clear()
        self.fh.flush()
        os.fsync(self.fh.fileno())
        self.fh.close()
        os.replace(self.tmp, self.path)
        return self.size

    def abort(self) -> None:
        self.fh.close()
        self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> BlobWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class BlobStore:
    def __init__(self, root: Path, master_key: bytes) -> None:
        self.root = root
        self.master_key = master_key
        self.root.mkdir(parents=True, exist_ok=True)

    @classmethod
    def from_settings(cls, settings: Settings) -> BlobStore:
        return cls(settings.storage_dir, load_master_key(settings))

    def tenant_key(self, tenant: Any) -> TenantKey:
        """From a tenant row (id and wrapped_data_key)."""
        if not tenant.wrapped_data_key:
            raise BlobError(f"tenant {tenant.id} has no data key")
        return TenantKey(tenant.id, unwrap_data_key(self.master_key, tenant.id, tenant.wrapped_data_key))

    def new_wrapped_key(self, tenant_id: Any) -> str:
        return wrap_data_key(self.master_key, tenant_id)

    def _path(self, tenant_id: Any, key: str) -> Path:
        if not _KEY_RE.fullmatch(key) or ".." in key.split("/"):
            raise BlobError(f"invalid blob key {key!r}")
        return self.root / str(tenant_id) / key

    def writer(self, tk: TenantKey, key: str) -> BlobWriter:
        return BlobWriter(self._path(tk.tenant_id, key), tk.data_key)

    def write_file(self, tk: TenantKey, key: str, source: Path, chunk: int = 1024 * 1024) -> int:
        with source.open("rb") as fh, self.writer(tk, key) as out:
            while block := fh.read(chunk):
                out.write(block)
        return out.size

    def exists(self, tk: TenantKey, key: str) -> bool:
        return self._path(tk.tenant_id, key).exists()

    def size(self, tk: TenantKey, key: str) -> int:
        """The plaintext size, from the file size alone."""
        path = self._path(tk.tenant_id, key)
        if not path.exists():
            raise BlobNotFound(key)
        body = path.stat().st_size - HEADER.size
        # Every blob has at least one sealed segment, and only the last may be short (but never under a tag).
        if body < TAG or 0 < body % (SEGMENT + TAG) < TAG:
            raise BlobCorrupt(f"{path.name}: truncated")
        segments = -(-body // (SEGMENT + TAG))
        return body - segments * TAG

    def read(self, tk: TenantKey, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Plaintext bytes [start, end) as a stream, decrypting only the segments needed."""
        path = self._path(tk.tenant_id, key)
        if not path.exists():
            raise BlobNotFound(key)
        total = self.size(tk, key)
        end = total if end is None else min(end, total)
        if start < 0 or start > end:
            raise BlobError(f"bad range {start}-{end} for a blob of {total} bytes")
        last_index = max(0, -(-total // SEGMENT) - 1)
        return self._segments(path, tk.data_key, start, end, last_index)

    def _segments(self, path: Path, data_key: bytes, start: int, end: int, last_index: int) -> Iterator[bytes]:
        with path.open("rb") as fh:
            magic, version, salt, segment = HEADER.unpack(fh.read(HEADER.size))
            if magic != MAGIC or version != VERSION or segment != SEGMENT:
                raise BlobCorrupt(f"{path.name}: not a mendan blob")
            cipher = _blob_cipher(data_key, salt)
            index = start // SEGMENT
            fh.seek(HEADER.size + index * (SEGMENT + TAG))
            position = index * SEGMENT
            while position < end:
                sealed = fh.read(SEGMENT + TAG)
                try:
                    plain = cipher.decrypt(_nonce(index, index == last_index), sealed, None)
                except InvalidTag as exc:
                    raise BlobCorrupt(f"{path.name}: segment {index} does not authenticate") from exc
                lo, hi = max(start - position, 0), min(end - position, len(plain))
                if hi > lo:
                    yield plain[lo:hi]
                position += len(plain)
                index += 1

    def delete(self, tk: TenantKey, key: str) -> None:
        self._path(tk.tenant_id, key).unlink(missing_ok=True)

    def delete_tenant(self, tenant_id: Any) -> int:
        """Remove every blob of a tenant; returns how many files went."""
        folder = self.root / str(tenant_id)
        if not folder.exists():
            return 0
        count = sum(1 for p in folder.rglob("*") if p.is_file())
        shutil.rmtree(folder)
        return count

    def count(self, tenant_id: Any) -> int:
        folder = self.root / str(tenant_id)
        return sum(1 for p in folder.rglob("*") if p.is_file()) if folder.exists() else 0

    def check(self) -> None:
        """Raises when the folder cannot be written (used by /readyz)."""
        probe = self.root / f".ready-{uuid.uuid4().hex}"
        probe.write_bytes(b"ok")
        probe.unlink()
