"""Encrypted blob store: a local folder by default, S3-compatible object storage by choice.

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
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Protocol

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


class BlobSink(Protocol):
    """Where a writer's sealed bytes go: appended in order, then committed whole or aborted."""

    def write(self, data: bytes) -> None: ...
    def commit(self) -> None: ...
    def abort(self) -> None: ...


class FileSink:
    """A temporary file beside the target, fsynced and renamed into place on commit."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.fh = open(self.tmp, "wb")

    def write(self, data: bytes) -> None:
        self.fh.write(data)

    def commit(self) -> None:
        self.fh.flush()
        os.fsync(self.fh.fileno())
        self.fh.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        self.fh.close()
        self.tmp.unlink(missing_ok=True)


class BlobWriter:
    """Streams plaintext in and sealed segments out to a sink, which commits them on close."""

    def __init__(self, sink: BlobSink, data_key: bytes) -> None:
        self.sink = sink
        salt = secrets.token_bytes(SALT)
        self.cipher = _blob_cipher(data_key, salt)
        self.sink.write(HEADER.pack(MAGIC, VERSION, salt, SEGMENT))
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
        self.sink.write(self.cipher.encrypt(_nonce(self.index, last), plain, None))
        self.index += 1

    def close(self) -> int:
        self._seal(bytes(self.buffer), last=True)
        self.buffer.clear()
        self.sink.commit()
        return self.size

    def abort(self) -> None:
        self.sink.abort()

    def __enter__(self) -> BlobWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


@dataclass(frozen=True)
class StoredBlob:
    """One sealed blob as the backend keeps it: for backups (sizes are of the sealed bytes).

    `version` changes whenever the blob is written again (a file's mtime in ns, an object's ETag)."""

    tenant_id: str
    key: str
    sealed_size: int
    modified: datetime
    version: str


class BlobStore:
    """The encrypted blob store on a local folder (`root/<tenant id>/<key>`).

    Subclasses keep the same envelope and tenant keys and replace only the raw byte methods
    (`_sink`, `_sealed_size`, `_open_sealed`, ...): core.s3_storage.S3BlobStore is one.
    """

    def __init__(self, root: Path, master_key: bytes) -> None:
        self.root = root
        self.master_key = master_key
        self.root.mkdir(parents=True, exist_ok=True)

    @classmethod
    def from_settings(cls, settings: Settings) -> BlobStore:
        """The store MENDAN_BLOB_BACKEND names: `local` (the data folder) or `s3` (MENDAN_S3_*)."""
        if settings.blob_backend == "s3":
            from core.s3_storage import S3BlobStore

            return S3BlobStore.from_settings(settings)
        return cls(settings.storage_dir, load_master_key(settings))

    @property
    def location(self) -> str:
        """Where the blobs live, for messages and backup manifests."""
        return str(self.root)

    def tenant_key(self, tenant: Any) -> TenantKey:
        """From a tenant row (id and wrapped_data_key)."""
        if not tenant.wrapped_data_key:
            raise BlobError(f"tenant {tenant.id} has no data key")
        return TenantKey(tenant.id, unwrap_data_key(self.master_key, tenant.id, tenant.wrapped_data_key))

    def new_wrapped_key(self, tenant_id: Any) -> str:
        return wrap_data_key(self.master_key, tenant_id)

    @staticmethod
    def _checked(key: str) -> str:
        if not _KEY_RE.fullmatch(key) or ".." in key.split("/"):
            raise BlobError(f"invalid blob key {key!r}")
        return key

    def _path(self, tenant_id: Any, key: str) -> Path:
        return self.root / str(tenant_id) / self._checked(key)

    # The raw, sealed bytes: what a backend stores. Everything above and below works on these.

    def _sink(self, tenant_id: Any, key: str) -> BlobSink:
        return FileSink(self._path(tenant_id, key))

    def _sealed_size(self, tenant_id: Any, key: str) -> int:
        """The stored size; BlobNotFound when there is no such blob."""
        try:
            return self._path(tenant_id, key).stat().st_size
        except FileNotFoundError as exc:
            raise BlobNotFound(key) from exc

    def _open_sealed(self, tenant_id: Any, key: str, start: int, end: int) -> BinaryIO:
        """A readable of stored bytes [start, end); BlobNotFound when there is no such blob."""
        try:
            fh = self._path(tenant_id, key).open("rb")
        except FileNotFoundError as exc:
            raise BlobNotFound(key) from exc
        fh.seek(start)
        return fh

    def _delete_sealed(self, tenant_id: Any, key: str) -> None:
        self._path(tenant_id, key).unlink(missing_ok=True)

    def stored(self) -> Iterator[StoredBlob]:
        """Every blob of every tenant, as stored (for backups)."""
        for path in sorted(self.root.glob("*/**/*")):
            if path.is_file() and not path.name.startswith("."):
                tenant_id, key = path.relative_to(self.root).as_posix().split("/", 1)
                stat = path.stat()
                yield StoredBlob(tenant_id, key, stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC),
                                 f"{stat.st_mtime_ns}:{stat.st_ino}")

    def listed(self, tenant_id: Any, under: str) -> Iterator[StoredBlob]:
        """The tenant's blobs whose keys start with `under` (a folder, ending in "/"), as stored."""
        folder = self.root / str(tenant_id) / self._checked(under.rstrip("/"))
        for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
            if path.is_file() and not path.name.startswith("."):
                stat = path.stat()
                yield StoredBlob(str(tenant_id), path.relative_to(self.root / str(tenant_id)).as_posix(),
                                 stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC),
                                 f"{stat.st_mtime_ns}:{stat.st_ino}")

    def delete_stored(self, tenant_id: Any, key: str) -> None:
        """Delete a blob by the tenant's id alone (the sweeps, which hold no data key); no error when gone."""
        self._delete_sealed(tenant_id, self._checked(key))

    def drop_unfinished_writes(self, older_than: datetime) -> int:
        """Delete what writers that crashed left half-written (their temporary `.part` files),
        started before `older_than`; returns how many went. Writers still running are younger."""
        count = 0
        for path in self.root.glob("*/**/.*.part"):
            try:
                if datetime.fromtimestamp(path.stat().st_mtime, UTC) < older_than:
                    path.unlink()
                    count += 1
            except FileNotFoundError:  # another process's sweep was first
                continue
        return count

    def read_sealed(self, tenant_id: Any, key: str, chunk: int = 1024 * 1024) -> Iterator[bytes]:
        """The stored (still encrypted) bytes of a blob, as a stream: what a backup copies."""
        total = self._sealed_size(tenant_id, key)
        with closing(self._open_sealed(tenant_id, key, 0, total)) as fh:
            while block := fh.read(chunk):
                yield block

    def write_sealed(self, tenant_id: Any, key: str, blocks: Iterable[bytes]) -> None:
        """Store already sealed bytes as they are: what a restore writes back."""
        sink = self._sink(tenant_id, key)
        try:
            for block in blocks:
                sink.write(block)
        except BaseException:
            sink.abort()
            raise
        sink.commit()

    def writer(self, tk: TenantKey, key: str) -> BlobWriter:
        return BlobWriter(self._sink(tk.tenant_id, self._checked(key)), tk.data_key)

    def write_file(self, tk: TenantKey, key: str, source: Path, chunk: int = 1024 * 1024) -> int:
        with source.open("rb") as fh, self.writer(tk, key) as out:
            while block := fh.read(chunk):
                out.write(block)
        return out.size

    def exists(self, tk: TenantKey, key: str) -> bool:
        try:
            self._sealed_size(tk.tenant_id, self._checked(key))
        except BlobNotFound:
            return False
        return True

    def size(self, tk: TenantKey, key: str) -> int:
        """The plaintext size, from the stored size alone."""
        body = self._sealed_size(tk.tenant_id, self._checked(key)) - HEADER.size
        # Every blob has at least one sealed segment, and only the last may be short (but never under a tag).
        if body < TAG or 0 < body % (SEGMENT + TAG) < TAG:
            raise BlobCorrupt(f"{key}: truncated")
        segments = -(-body // (SEGMENT + TAG))
        return body - segments * TAG

    def read(self, tk: TenantKey, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Plaintext bytes [start, end) as a stream, decrypting only the segments needed."""
        total = self.size(tk, key)
        end = total if end is None else min(end, total)
        if start < 0 or start > end:
            raise BlobError(f"bad range {start}-{end} for a blob of {total} bytes")
        last_index = max(0, -(-total // SEGMENT) - 1)
        return self._segments(tk, key, start, end, last_index)

    def _segments(self, tk: TenantKey, key: str, start: int, end: int, last_index: int) -> Iterator[bytes]:
        with closing(self._open_sealed(tk.tenant_id, key, 0, HEADER.size)) as fh:
            magic, version, salt, segment = HEADER.unpack(fh.read(HEADER.size))
        if magic != MAGIC or version != VERSION or segment != SEGMENT:
            raise BlobCorrupt(f"{key}: not a mendan blob")
        cipher = _blob_cipher(tk.data_key, salt)
        index = start // SEGMENT
        position = index * SEGMENT
        first = HEADER.size + index * (SEGMENT + TAG)
        stop = HEADER.size + (-(-end // SEGMENT)) * (SEGMENT + TAG)
        with closing(self._open_sealed(tk.tenant_id, key, first, stop)) as fh:
            while position < end:
                sealed = fh.read(SEGMENT + TAG)
                try:
                    plain = cipher.decrypt(_nonce(index, index == last_index), sealed, None)
                except InvalidTag as exc:
                    raise BlobCorrupt(f"{key}: segment {index} does not authenticate") from exc
                lo, hi = max(start - position, 0), min(end - position, len(plain))
                if hi > lo:
                    yield plain[lo:hi]
                position += len(plain)
                index += 1

    def delete(self, tk: TenantKey, key: str) -> None:
        self._delete_sealed(tk.tenant_id, self._checked(key))

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
