"""Uploads that stopped (issue 21, item 8): the sweep expires an upload idle longer than
MENDAN_UPLOAD_EXPIRY_HOURS (its row kept as expired with the reason, its chunks deleted, tus 410),
deletes chunk blobs no upload holds and half-written blobs of crashed writers, on the local
folder and on S3, and is safe to run twice at once. The clock is `core.hours.now`."""

from __future__ import annotations

import asyncio
import hashlib
import os
from datetime import datetime, timedelta, timezone
from uuid import uuid4

import pytest
from structlog.testing import capture_logs

from core.db.tables import Tenant
from core.interviews.tables import Recording
from core.interviews.upload_expiry import EXPIRED, sweep
from core.interviews.uploads import append_chunk, create_upload, parts_of, recording_key
from core.storage import BlobStore, load_master_key
from core.tenancy import TenantScope
from core.web.i18n import translations
from tests.interview_fixtures import consent, join, make_interview
from tests.s3_server import s3_endpoint, s3_store  # noqa: F401 (fixture)
from tests.test_live_interview import api, live_upload, patch


def in_hours(hours: float) -> datetime:
    return datetime.now(timezone.utc) + timedelta(hours=hours)


def expired_ids(events: list[dict]) -> list[str]:
    return [e["recording_id"] for e in events if e["event"] == "upload_expired"]


async def body(data: bytes):
    yield data


async def started_upload(store: BlobStore, tenant, setup, chunk: bytes) -> Recording:
    """A deferred-length upload with one chunk in `store`, as the live room leaves it."""
    scope = TenantScope(tenant.id)
    rec = await create_upload(scope, setup["interview"], setup["interviewee"], size=None, sha256="",
                              filename="live.webm", content_type="video/webm", max_bytes=1024**3)
    row = await Tenant.objects().where(Tenant.id == tenant.id).first()
    return await append_chunk(scope, store, store.tenant_key(row), rec, offset=0, length=len(chunk),
                              checksum=hashlib.sha256(chunk).digest(),
                              body=body(chunk), max_bytes=1024**3)


async def test_an_upload_idle_past_the_expiry_is_expired_and_gone_for_tus(client, make_tenant, make_user,
                                                                          monkeypatch, settings):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user)
    interview = setup["interview"]
    store = client.app.state.storage
    await consent(tenant, setup["interviewee"])
    await join(client, tenant, setup["interviewee"], interview)
    location = await live_upload(client, tenant, interview)
    chunk = os.urandom(3000)
    assert (await patch(client, location, 0, chunk)).status_code == 204
    rec = await TenantScope(tenant.id).objects(Recording).where(Recording.interview == interview.id).first()
    [part] = parts_of(rec)
    tk = store.tenant_key(await Tenant.objects().where(Tenant.id == tenant.id).first())
    assert store.exists(tk, part)

    monkeypatch.setattr("core.hours.now", lambda: in_hours(settings.upload_expiry_hours - 1))
    await sweep(store, settings)
    kept = await TenantScope(tenant.id).get(Recording, rec.id)
    assert kept.state == "uploading" and store.exists(tk, part)

    monkeypatch.setattr("core.hours.now", lambda: in_hours(settings.upload_expiry_hours + 1))
    # Two processes sweep at once: one expires the upload, and neither fails. The sweep covers
    # every tenant, and other tests' uploads share the database: count this upload's events only.
    with capture_logs() as events:
        await asyncio.gather(sweep(store, settings), sweep(store, settings))
    expired = await TenantScope(tenant.id).get(Recording, rec.id)
    assert expired.state == "expired" and parts_of(expired) == [] and expired.upload_offset == len(chunk)
    # In the uploader's language (the interviewee's: Japanese here), to whom tus answers it.
    assert expired.error == translations("ja").gettext(EXPIRED) % {"hours": str(settings.upload_expiry_hours + 1)}
    assert not store.exists(tk, part)
    assert expired_ids(events).count(str(rec.id)) == 1
    with capture_logs() as events:
        await sweep(store, settings)
    assert str(rec.id) not in expired_ids(events)  # idempotent

    head = await client.head(location, headers=api(client))
    assert head.status_code == 410 and head.headers["tus-resumable"] == "1.0.0"
    late = await patch(client, location, len(chunk), os.urandom(10))
    assert late.status_code == 410 and late.json()["detail"] == expired.error
    page = await client.get(f"/t/{tenant.slug}/interviews/{interview.id}/uploads/{rec.id}")
    assert page.json()["state"] == "expired"


@pytest.fixture(params=["local", "s3"])
def store(request, settings) -> BlobStore:
    """The app's own local store, or a bucket on moto's S3 server with the same master key."""
    if request.param == "local":
        return BlobStore.from_settings(settings)
    return s3_store(request.getfixturevalue("s3_endpoint"), load_master_key(settings))


async def test_the_sweep_deletes_chunks_no_upload_holds_and_half_written_blobs(store, make_tenant, make_user,
                                                                              monkeypatch, settings):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user)
    tk = store.tenant_key(await Tenant.objects().where(Tenant.id == tenant.id).first())
    live = await started_upload(store, tenant, setup, os.urandom(2000))
    [held] = parts_of(live)
    # A chunk stored just before a crash, never recorded on its row; and one of a deleted row.
    stray = f"{live.blob_key}.parts/000000000002000-deadbeef"
    gone_row = f"{recording_key(setup['interview'].id, uuid4(), 'webm')}.parts/000000000000000-cafebabe"
    for key in (stray, gone_row):
        with store.writer(tk, key) as out:
            out.write(b"x" * 100)
    # A writer that crashed half-way: its temporary file, or its multipart upload on S3.
    half = store.writer(tk, f"recordings/{setup['interview'].id}/crashed.webm")
    half.write(os.urandom(200_000))
    if hasattr(half.sink, "tmp"):
        half.sink.fh.flush()
    else:
        half.sink._upload_part(bytes(half.sink.buffer))
    # The live upload keeps receiving: it is not idle, only the leftovers are old.
    monkeypatch.setattr("core.hours.now", lambda: in_hours(settings.upload_expiry_hours + 1))
    await TenantScope(tenant.id).update(Recording, {Recording.last_chunk_at: in_hours(settings.upload_expiry_hours)}
                                        ).where(Recording.id == live.id)

    counts = await sweep(store, settings)
    assert store.exists(tk, held)
    assert not store.exists(tk, stray) and not store.exists(tk, gone_row)
    assert counts["parts"] >= 2 and counts["unfinished"] >= 1
    if hasattr(half.sink, "tmp"):
        half.sink.fh.close()
        assert not half.sink.tmp.exists()
    else:
        uploads = store.client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", [])
        assert all(u["UploadId"] != half.sink.upload_id for u in uploads)
    assert (await TenantScope(tenant.id).get(Recording, live.id)).state == "uploading"
