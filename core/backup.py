"""Backups of the database and the blobs, and their restore (`mendan backup`, `mendan restore`).

A backup is a folder `<UTC time>-<kind>` under the destination, holding `manifest.json`, the
database (`database.sqlite` from SQLite's online backup API, or `database.dump` from
`pg_dump --format=custom`) and `blobs/<tenant id>/<key>`: the blobs as stored, still
encrypted, so a backup is no easier to read than the data folder. The master key is never in
it; keep it apart (without it the backup is useless).

A full backup copies every blob. A differential copies the database whole (it is small beside
the recordings) and only the blobs changed since the last full backup in the same destination,
listing the others as kept there: restoring it needs that full backup folder beside it. The
spec's rhythm is a full backup weekly and a differential twice a day (docs/backups.md).

A restore checks, before it writes anything, that every checksum matches, that the master key
in the environment opens every tenant's data key and a blob of each tenant, and that the target
database and blob store are empty.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from core import audit
from core.config import Settings
from core.db.tables import Tenant
from core.storage import BlobError, BlobStore, TenantKey, unwrap_data_key

FORMAT = 1
KINDS = ("full", "differential")
CHUNK = 1024 * 1024


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class BackupResult:
    folder: Path
    manifest: dict[str, Any]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _sqlite_path(settings: Settings) -> Path:
    return Path(unquote(urlparse(settings.database_url).path))


def _postgres_dsn(settings: Settings) -> str:
    return settings.database_url.replace("postgresql+asyncpg://", "postgresql://")


def _run(command: list[str]) -> None:
    try:
        subprocess.run(command, check=True, capture_output=True, text=True)
    except FileNotFoundError as exc:
        raise BackupError(f"{command[0]} is not installed (the PostgreSQL client tools are needed)") from exc
    except subprocess.CalledProcessError as exc:
        raise BackupError(f"{command[0]} failed: {exc.stderr.strip()[:2000]}") from exc


def _dump_database(settings: Settings, folder: Path) -> Path:
    if settings.database_kind == "sqlite":
        target = folder / "database.sqlite"
        source = sqlite3.connect(_sqlite_path(settings))
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)  # a consistent copy while the service keeps writing
        finally:
            copy.close()
            source.close()
        return target
    target = folder / "database.dump"
    _run(["pg_dump", "--format=custom", "--no-owner", f"--file={target}", f"--dbname={_postgres_dsn(settings)}"])
    return target


def _manifests(dest: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in sorted(dest.glob("*/manifest.json")):
        yield path.parent, json.loads(path.read_text())


def _last_full(dest: Path) -> tuple[Path, dict[str, Any]]:
    fulls = [(folder, m) for folder, m in _manifests(dest) if m.get("kind") == "full"]
    if not fulls:
        raise BackupError(f"no full backup in {dest} to take a differential against: take a full one first")
    return max(fulls, key=lambda pair: pair[1]["started_at"])


def _new_folder(dest: Path, started: datetime, kind: str) -> Path:
    name = f"{started:%Y%m%dT%H%M%SZ}-{kind}"
    folder, n = dest / name, 1
    while folder.exists() or (dest / f".{folder.name}.part").exists():
        n += 1
        folder = dest / f"{name}-{n}"
    return folder


async def take_backup(settings: Settings, storage: BlobStore, dest: Path, kind: str = "full") -> BackupResult:
    """Write a new backup folder under `dest` and return it with its manifest.

    Raises BackupError: a differential without a full backup in `dest`, pg_dump failing.
    """
    if kind not in KINDS:
        raise BackupError(f"unknown backup kind {kind!r}: full or differential")
    dest.mkdir(parents=True, exist_ok=True)
    base_folder, base = _last_full(dest) if kind == "differential" else (None, None)
    started = datetime.now(UTC)
    folder = _new_folder(dest, started, kind)
    work = dest / f".{folder.name}.part"  # renamed when whole, so a broken run is never a "last full"
    work.mkdir()
    try:
        tenants = await Tenant.select(Tenant.id, Tenant.wrapped_data_key)
        database = _dump_database(settings, work)
        # Changed since the full backup = written again since (another version) or new.
        kept = {(b["tenant"], b["key"]): b for b in base["blobs"]} if base else {}
        blobs, copied, copied_bytes = [], 0, 0
        for stored in storage.stored():
            earlier = kept.get((stored.tenant_id, stored.key))
            if earlier and earlier["version"] == stored.version and earlier["size"] == stored.sealed_size:
                blobs.append(earlier)
                continue
            target = work / "blobs" / stored.tenant_id / stored.key
            target.parent.mkdir(parents=True, exist_ok=True)
            digest = hashlib.sha256()
            with target.open("wb") as out:
                for block in storage.read_sealed(stored.tenant_id, stored.key):
                    digest.update(block)
                    out.write(block)
            size = target.stat().st_size
            blobs.append({"tenant": stored.tenant_id, "key": stored.key, "size": size, "version": stored.version,
                          "modified": stored.modified.isoformat(), "sha256": digest.hexdigest(), "in": folder.name})
            copied += 1
            copied_bytes += size
        manifest = {
            "format": FORMAT,
            "kind": kind,
            "started_at": started.isoformat(),
            "finished_at": datetime.now(UTC).isoformat(),
            "base": base_folder.name if base_folder else None,
            "database": {"kind": settings.database_kind, "file": database.name,
                         "size": database.stat().st_size, "sha256": _sha256(database)},
            "blob_source": storage.location,
            "tenants": [{"id": str(t["id"]), "wrapped_data_key": t["wrapped_data_key"]} for t in tenants],
            "blobs": blobs,
            "counts": {"tenants": len(tenants), "blobs": len(blobs), "blobs_copied": copied,
                       "bytes_copied": copied_bytes},
        }
        (work / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False))
        os.replace(work, folder)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    await audit.record("ops.backup_taken", target=folder.name, detail=manifest["counts"] | {"kind": kind})
    return BackupResult(folder, manifest)


def read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / "manifest.json"
    if not path.exists():
        raise BackupError(f"{folder} is not a backup: it has no manifest.json")
    manifest = json.loads(path.read_text())
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{folder}: backup format {manifest.get('format')!r} is not one this version reads")
    return manifest


def _check_files(folder: Path, manifest: dict[str, Any]) -> None:
    """Every file the restore will read is there, with the size and checksum the manifest says."""
    database = folder / manifest["database"]["file"]
    if not database.exists() or _sha256(database) != manifest["database"]["sha256"]:
        raise BackupError(f"{database} is missing or does not match its checksum")
    for blob in manifest["blobs"]:
        path = folder.parent / blob["in"] / "blobs" / blob["tenant"] / blob["key"]
        if not path.exists():
            raise BackupError(f"{path} is missing (a differential needs its full backup beside it)")
        if path.stat().st_size != blob["size"] or _sha256(path) != blob["sha256"]:
            raise BackupError(f"{path} does not match its checksum")


def check_master_key(folder: Path, manifest: dict[str, Any], master_key: bytes) -> None:
    """BackupError unless `master_key` opens every tenant's data key and a blob of each tenant."""
    for tenant in manifest["tenants"]:
        if not tenant["wrapped_data_key"]:
            continue
        try:
            data_key = unwrap_data_key(master_key, tenant["id"], tenant["wrapped_data_key"])
            sample = next((b for b in manifest["blobs"] if b["tenant"] == tenant["id"]), None)
            if sample:
                store = BlobStore(folder.parent / sample["in"] / "blobs", master_key)
                b"".join(store.read(TenantKey(tenant["id"], data_key), sample["key"], 0, 1))
        except BlobError as exc:
            raise BackupError(
                "The master key in the environment (MENDAN_MASTER_KEY, or master.key in the data folder) "
                f"cannot open this backup's blobs (tenant {tenant['id']}): set the master key that was in use "
                "when the backup was taken. Nothing was restored.") from exc


async def _database_is_empty(settings: Settings) -> bool:
    if settings.database_kind == "sqlite":
        path = _sqlite_path(settings)
        if not path.exists():
            return True
        with sqlite3.connect(path) as conn:
            return conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0] == 0
    rows = await Tenant.raw("SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public'")
    return rows[0]["n"] == 0


def _load_database(settings: Settings, dump: Path, kind: str) -> None:
    if kind != settings.database_kind:
        raise BackupError(f"this backup holds a {kind} database, but DATABASE_URL names a {settings.database_kind} one")
    if kind == "sqlite":
        path = _sqlite_path(settings)
        path.parent.mkdir(parents=True, exist_ok=True)
        source, target = sqlite3.connect(dump), sqlite3.connect(path)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
        return
    _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
          f"--dbname={_postgres_dsn(settings)}", str(dump)])


async def restore_backup(settings: Settings, storage: BlobStore, folder: Path) -> dict[str, Any]:
    """Restore the backup in `folder` into the configured (empty) database and blob store.

    Raises BackupError, before writing anything, when a file is missing or altered, the master
    key does not open the blobs, or the target is not empty.
    """
    manifest = read_manifest(folder)
    _check_files(folder, manifest)
    check_master_key(folder, manifest, storage.master_key)
    if not await _database_is_empty(settings):
        raise BackupError("the target database is not empty: restore into a fresh database (DATABASE_URL)")
    if next(iter(storage.stored()), None) is not None:
        raise BackupError(f"the target blob store ({storage.location}) is not empty: restore into a fresh one")
    _load_database(settings, folder / manifest["database"]["file"], manifest["database"]["kind"])
    for blob in manifest["blobs"]:
        path = folder.parent / blob["in"] / "blobs" / blob["tenant"] / blob["key"]
        with path.open("rb") as fh:
            storage.write_sealed(blob["tenant"], blob["key"], iter(lambda fh=fh: fh.read(CHUNK), b""))
    await audit.record("ops.backup_restored", target=folder.name,
                       detail={"kind": manifest["kind"], "started_at": manifest["started_at"]} | manifest["counts"])
    return manifest
