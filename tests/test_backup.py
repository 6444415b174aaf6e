"""Backups and restores (core/backup.py, `mendan backup` / `mendan restore`): the restore drill on
SQLite and on PostgreSQL, differentials, and the refusals (wrong master key, altered file, a
target that is not empty)."""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from core.config import Settings, get_settings, use_settings
from core.db.engine import bind_engine, current_engine, make_engine
from core.db.tables import Tenant
from core.interviews.tables import Recording
from core.storage import BlobStore
from core.tenancy import create_tenant
from mendan.assembly import migrate
from tests.conftest import make_settings
from tests.interview_fixtures import make_interview
from tests.s3_server import new_bucket, s3_endpoint  # noqa: F401 (fixture)

PG = "postgresql://postgres@127.0.0.1:5432"


def new_master_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


@pytest.fixture
def rebinds(settings: Settings, app):
    """The test binds other databases; the session's comes back afterwards. The app is built for
    the runtime that scheduling an interview queues its mails with."""
    engine, current = current_engine(), get_settings()
    yield
    use_settings(current)
    bind_engine(engine)


@pytest.fixture
async def postgres_databases():
    """Makes fresh PostgreSQL databases by name; drops them at the end."""
    made: list[str] = []

    async def make() -> str:
        name = f"mendan_backup_{secrets.token_hex(4)}"
        admin = await asyncpg.connect(f"{PG}/postgres")
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        made.append(name)
        return f"{PG}/{name}"

    yield make
    admin = await asyncpg.connect(f"{PG}/postgres")
    try:
        for name in made:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def mendan(settings: Settings, *args: str) -> subprocess.CompletedProcess:
    """The CLI in a process of its own, configured by the environment as in production."""
    env = {**os.environ, "MENDAN_DATA_DIR": str(settings.data_dir), "DATABASE_URL": settings.database_url,
           "MENDAN_MASTER_KEY": settings.master_key or "", "MENDAN_SECRET_KEY": settings.secret_key or "",
           "MENDAN_BLOB_BACKEND": settings.blob_backend, "MENDAN_S3_BUCKET": settings.s3_bucket or "",
           "MENDAN_S3_ENDPOINT_URL": settings.s3_endpoint_url or "", "MENDAN_S3_REGION": settings.s3_region or "",
           "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
    return subprocess.run([sys.executable, "-c", "from mendan.cli import main; main()", *args], env=env, capture_output=True, text=True,
                          timeout=600)


async def tenant_with_data(settings: Settings, make_user) -> dict:
    """A migrated database with a tenant, a recording and a plugin's model file, both as blobs."""
    await migrate(settings)
    bind_engine(make_engine(use_settings(settings)))
    store = BlobStore.from_settings(settings)
    tenant = await create_tenant(store, slug=f"bk-{secrets.token_hex(3)}", name="バックアップ株式会社")
    made = await make_interview(tenant, make_user)
    video, model = os.urandom(200_000), os.urandom(70_000)
    tk = store.tenant_key(tenant)
    with store.writer(tk, "recordings/r1.webm") as out:
        out.write(video)
    with store.writer(tk, "ai_model/models/v1.cbm") as out:
        out.write(model)
    recording = Recording(tenant=tenant.id, interview=made["interview"].id, container="webm", size=len(video),
                          upload_offset=len(video), sha256="0" * 64, state="complete", blob_key="recordings/r1.webm")
    await recording.save()
    return {"tenant": tenant, "recording": recording, "video": video, "model": model, "store": store}


async def read_back(settings: Settings, made: dict, key: str) -> bytes:
    bind_engine(make_engine(use_settings(settings)))
    tenant = await Tenant.objects().where(Tenant.id == made["tenant"].id).first()
    store = BlobStore.from_settings(settings)
    return b"".join(store.read(store.tenant_key(tenant), key))


async def drill(source: Settings, target: Settings, make_user, tmp_path: Path) -> None:
    made = await tenant_with_data(source, make_user)
    backups = tmp_path / "backups"
    taken = mendan(source, "backup", "--to", str(backups))
    assert taken.returncode == 0, taken.stderr
    folder = next(backups.glob("*-full"))
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["kind"] == "full" and manifest["database"]["kind"] == source.database_kind
    assert manifest["counts"]["tenants"] == 1 and manifest["counts"]["blobs"] == 2
    # The backup holds the blobs as stored: encrypted.
    assert made["video"][:64] not in (folder / "blobs" / str(made["tenant"].id) / "recordings/r1.webm").read_bytes()

    restored = mendan(target, "restore", str(folder))
    assert restored.returncode == 0, restored.stderr
    assert await read_back(target, made, "recordings/r1.webm") == made["video"]
    assert await read_back(target, made, "ai_model/models/v1.cbm") == made["model"]
    recording = await Recording.objects().where(Recording.id == made["recording"].id).first()
    assert recording is not None and recording.blob_key == "recordings/r1.webm" and recording.size == len(made["video"])
    # A second restore into the same (now full) target is refused, not mixed in.
    again = mendan(target, "restore", str(folder))
    assert again.returncode != 0 and "not empty" in again.stderr


async def test_restore_drill_on_sqlite(tmp_path, make_user, rebinds):
    key = new_master_key()
    source = make_settings(tmp_path / "source", master_key=key)
    target = make_settings(tmp_path / "target", master_key=key)
    await drill(source, target, make_user, tmp_path)


@pytest.mark.postgres
async def test_restore_drill_on_postgres(tmp_path, make_user, rebinds, postgres_databases):
    key = new_master_key()
    source = make_settings(tmp_path / "source", master_key=key, database_url=await postgres_databases())
    target = make_settings(tmp_path / "target", master_key=key, database_url=await postgres_databases())
    await drill(source, target, make_user, tmp_path)


async def test_restore_drill_with_blobs_in_s3_buckets(tmp_path, make_user, rebinds, s3_endpoint, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    key = new_master_key()
    s3 = {"blob_backend": "s3", "s3_endpoint_url": s3_endpoint, "s3_region": "us-east-1", "master_key": key}
    source = make_settings(tmp_path / "source", s3_bucket=new_bucket(s3_endpoint), **s3)
    target = make_settings(tmp_path / "target", s3_bucket=new_bucket(s3_endpoint), **s3)
    await drill(source, target, make_user, tmp_path)
    assert not (tmp_path / "target" / "blobs").exists()  # the blobs went to the bucket


async def test_differential_holds_what_changed_and_restores_with_its_full(tmp_path, make_user, rebinds):
    from core.backup import restore_backup, take_backup

    key = new_master_key()
    source = make_settings(tmp_path / "source", master_key=key)
    made = await tenant_with_data(source, make_user)
    store, tk = made["store"], made["store"].tenant_key(made["tenant"])
    backups = tmp_path / "backups"
    full = await take_backup(source, store, backups, "full")
    later = os.urandom(5000)
    with store.writer(tk, "recordings/r2.webm") as out:
        out.write(later)
    store.delete(tk, "ai_model/models/v1.cbm")
    diff = await take_backup(source, store, backups, "differential")
    assert diff.manifest["base"] == full.folder.name
    by_key = {b["key"]: b for b in diff.manifest["blobs"]}
    assert set(by_key) == {"recordings/r1.webm", "recordings/r2.webm"}
    assert by_key["recordings/r1.webm"]["in"] == full.folder.name  # unchanged: kept in the full one
    assert by_key["recordings/r2.webm"]["in"] == diff.folder.name
    assert diff.manifest["counts"]["blobs_copied"] == 1

    target = make_settings(tmp_path / "target", master_key=key)
    bind_engine(make_engine(use_settings(target)))
    await restore_backup(target, BlobStore.from_settings(target), diff.folder)
    assert await read_back(target, made, "recordings/r1.webm") == made["video"]
    assert await read_back(target, made, "recordings/r2.webm") == later
    assert not BlobStore.from_settings(target).exists(tk, "ai_model/models/v1.cbm")


async def test_restore_refuses_another_master_key_and_altered_files(tmp_path, make_user, rebinds):
    from core.backup import take_backup

    source = make_settings(tmp_path / "source", master_key=new_master_key())
    made = await tenant_with_data(source, make_user)
    result = await take_backup(source, made["store"], tmp_path / "backups", "full")

    stranger = make_settings(tmp_path / "stranger", master_key=new_master_key())
    refused = mendan(stranger, "restore", str(result.folder))
    assert refused.returncode != 0 and "master key" in refused.stderr
    assert "Nothing was restored" in refused.stderr
    assert not (tmp_path / "stranger" / "blobs").exists() or not any((tmp_path / "stranger" / "blobs").iterdir())

    blob = result.folder / "blobs" / str(made["tenant"].id) / "recordings/r1.webm"
    raw = bytearray(blob.read_bytes())
    raw[100] ^= 1
    blob.write_bytes(bytes(raw))
    fresh = make_settings(tmp_path / "fresh", master_key=source.master_key)
    altered = mendan(fresh, "restore", str(result.folder))
    assert altered.returncode != 0 and "checksum" in altered.stderr


async def test_differential_needs_a_full_backup(tmp_path, rebinds):
    from core.backup import BackupError, take_backup

    with pytest.raises(BackupError, match="take a full one first"):
        await take_backup(get_settings(), BlobStore.from_settings(get_settings()), tmp_path / "empty", "differential")
