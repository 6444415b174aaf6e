"""Unfinished recording uploads that will not finish: who is still uploading, giving up on them,
and the sweep that expires them.

A recording's upload records when it last received a chunk (`Recording.last_chunk_at`, set by
`touch` as a PATCH arrives and once it is in; None: since `created_at`). An upload with a chunk in
the last `upload_progress_seconds` is making progress (`unfinished_uploads`). One that the
interviewer gave up on when ending a live interview is `abandoned` (`abandon_unfinished`); one
without a chunk for `upload_expiry_hours` is `expired` by the sweep (`sweep`). Both keep their row
with the reason in `error`, and no longer holds its chunks; tus answers 410 Gone for them
(`refuse_gone`). The sweep deletes every chunk blob older than the expiry time that no
unfinished upload holds (those of expired and abandoned uploads, and those a crash left between
storing a chunk and recording it), and half-written blobs of crashed writers.

Every web process runs the sweep every quarter hour (`sweep_clock`); each row is claimed with a
compare-and-set on its state, so two processes never expire one upload twice, and deleting a
blob that is already gone is harmless.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import anyio.to_thread
import structlog

from core import hours
from core.db.tables import Tenant, User
from core.interviews.tables import Recording
from core.interviews.uploads import DEFERRED, UploadProblem, parts_of
from core.storage import BlobError, BlobStore
from core.tenancy import TenantScope
from core.web.i18n import DEFAULT_LANGUAGE, N_, translations
from core.web.i18n import gettext as _

log = structlog.get_logger("mendan.upload_expiry")

SWEEP_SECONDS = 900
GONE_STATES = ("abandoned", "expired")
PARTS_MARK = ".parts/"  # chunk blobs lie at `<blob_key>.parts/<offset>-<random>` (core.interviews.uploads)
EXPIRED = N_("No part of this upload arrived for %(hours)s hours; it has expired and was deleted.")


@dataclass(frozen=True)
class UploadProgress:
    """One unfinished upload of an interview: who sends it, how far it is (bytes; `size` None while
    the length is deferred), when it last received a chunk, and whether it is making progress."""

    recording_id: UUID
    uploader: str
    received: int
    size: int | None
    last_chunk_at: datetime
    active: bool

    def as_json(self) -> dict[str, Any]:
        return {"recording_id": str(self.recording_id), "uploader": self.uploader, "received": self.received,
                "size": self.size, "last_chunk_at": self.last_chunk_at.isoformat(), "active": self.active}


def _mb(n: int) -> str:
    return f"{n / 1024**2:.1f}"


def describe(upload: UploadProgress) -> str:
    """Who sends the upload and how much arrived ("Name: 12.3 of 40.0 MB received"), for the interviewer."""
    if upload.size is None:
        return _("%(who)s: %(mb)s MB received") % {"who": upload.uploader, "mb": _mb(upload.received)}
    return _("%(who)s: %(mb)s of %(total)s MB received") % {
        "who": upload.uploader, "mb": _mb(upload.received), "total": _mb(upload.size)}


def _last_chunk(rec: Recording) -> datetime:
    return rec.last_chunk_at or rec.created_at


async def touch(scope: TenantScope, rec: Recording) -> None:
    """A chunk of `rec` arrives (or arrived): it is making progress now."""
    await scope.update(Recording, {Recording.last_chunk_at: hours.now()}).where(Recording.id == rec.id)


def refuse_gone(rec: Any) -> None:
    """tus answers 410 Gone for an upload that was abandoned or expired; raises UploadProblem 410
    (code `upload_expired`) with the reason kept on the row."""
    if rec.state in GONE_STATES:
        raise UploadProblem(410, rec.error or _("This upload has expired."), "upload_expired")


async def unfinished_uploads(scope: TenantScope, interview_id: Any, progress_seconds: int) -> list[UploadProgress]:
    """The interview's uploads still `uploading`, oldest first; `active` when a chunk arrived in the
    last `progress_seconds` (or the upload was created that recently)."""
    rows = await scope.objects(Recording).where(
        (Recording.interview == interview_id) & (Recording.state == "uploading")).order_by(Recording.created_at)
    ids = {r.uploaded_by for r in rows if r.uploaded_by is not None}
    names = {u.id: u.display_name or u.email for u in await scope.objects(User).where(User.id.is_in(list(ids)))} \
        if ids else {}
    since = hours.now() - timedelta(seconds=progress_seconds)
    return [UploadProgress(recording_id=r.id, uploader=names.get(r.uploaded_by, "?"), received=r.upload_offset,
                           size=None if r.size == DEFERRED else r.size, last_chunk_at=_last_chunk(r),
                           active=_last_chunk(r) >= since)
            for r in rows]


async def abandon_unfinished(scope: TenantScope, interview_id: Any) -> list[UUID]:
    """The interviewer ended the live interview before these uploads finished: each still
    `uploading` becomes `abandoned`, its reason (how much had arrived) kept in `error`. Returns
    their ids. Their chunk blobs stay until the sweep deletes them as no longer held, so an upload
    whose last chunk was already being joined still completes."""
    abandoned = []
    for upload in await unfinished_uploads(scope, interview_id, 0):
        reason = _("The interviewer ended the interview before this upload finished (%(what)s).") % {
            "what": describe(upload)}
        claimed = await scope.update(Recording, {Recording.state: "abandoned", Recording.error: reason,
                                                 Recording.parts: []}).where(
            (Recording.id == upload.recording_id) & (Recording.state == "uploading")).returning(Recording.id)
        if claimed:
            abandoned.append(upload.recording_id)
            log.info("upload_abandoned", recording_id=str(upload.recording_id), received=upload.received)
    return abandoned


def _drop(store: BlobStore, tenant_id: Any, keys: list[str]) -> None:
    for key in keys:
        try:
            store.delete_stored(tenant_id, key)
        except BlobError as exc:  # a malformed key: nothing of ours to delete
            log.warning("upload_part_not_deleted", key=key, error=str(exc))


async def _expire(cutoff: datetime) -> tuple[int, dict[Any, list[str]]]:
    """Mark uploads idle since before `cutoff` expired; (how many, the chunk keys to delete per tenant)."""
    idle = (Recording.state == "uploading") & (
        (Recording.last_chunk_at < cutoff) | (Recording.last_chunk_at.is_null() & (Recording.created_at < cutoff)))
    doomed: dict[Any, list[str]] = {}
    count = 0
    for rec in await Recording.objects().where(idle):
        # No request to take the language from: the uploader's, to whom tus answers it.
        uploader = await User.select(User.language).where(User.id == rec.uploaded_by).first()
        reason = translations((uploader or {}).get("language") or DEFAULT_LANGUAGE).gettext(EXPIRED) % {
            "hours": f"{(hours.now() - _last_chunk(rec)).total_seconds() / 3600:.0f}"}
        claimed = await Recording.update({Recording.state: "expired", Recording.error: reason,
                                          Recording.parts: []}).where((Recording.id == rec.id) & idle).returning(
            Recording.id)
        if claimed:
            count += 1
            doomed.setdefault(rec.tenant, []).extend(parts_of(rec))
            log.info("upload_expired", recording_id=str(rec.id), received=rec.upload_offset)
    return count, doomed


async def _orphans(store: BlobStore, tenant_id: Any, cutoff: datetime) -> list[str]:
    """Chunk blobs of the tenant older than `cutoff` that no unfinished upload holds."""
    # A `received` row's chunks are being joined (or wait for the sweeper to join them after a crash).
    held = {key for rec in await TenantScope(tenant_id).objects(Recording).where(
        Recording.state.is_in(["uploading", "received"])) for key in parts_of(rec)}
    listed = await anyio.to_thread.run_sync(lambda: list(store.listed(tenant_id, "recordings/")))
    return [b.key for b in listed if PARTS_MARK in b.key and b.key not in held and b.modified < cutoff]


async def sweep(store: BlobStore, settings: Any) -> dict[str, int]:
    """Expire idle uploads, delete the chunks of abandoned and expired ones, and chunk blobs and
    half-written blobs left behind, all older than `settings.upload_expiry_hours`. Idempotent;
    the clock is `core.hours.now`. Returns counts: `expired`, `parts` (blobs deleted), `unfinished`
    (half-written blobs deleted)."""
    cutoff = hours.now() - timedelta(hours=settings.upload_expiry_hours)
    expired, doomed = await _expire(cutoff)
    for tenant in await Tenant.select(Tenant.id):
        orphans = await _orphans(store, tenant["id"], cutoff)
        if orphans:
            doomed.setdefault(tenant["id"], []).extend(orphans)
    parts = 0
    for tenant_id, keys in doomed.items():
        await anyio.to_thread.run_sync(_drop, store, tenant_id, keys)
        parts += len(keys)
    unfinished = await anyio.to_thread.run_sync(store.drop_unfinished_writes, cutoff)
    counts = {"expired": expired, "parts": parts, "unfinished": unfinished}
    if parts or unfinished:
        log.info("upload_sweep", **counts)
    return counts


async def sweep_clock(store: BlobStore, settings: Any) -> None:
    while True:
        await asyncio.sleep(SWEEP_SECONDS)
        try:
            await sweep(store, settings)
        except Exception as exc:  # the next sweep tries again
            log.exception("upload_sweep_failed", error=repr(exc))


async def start_upload_sweep(app: Any) -> None:
    app.state.upload_sweep = asyncio.get_running_loop().create_task(
        sweep_clock(app.state.storage, app.state.settings))


async def stop_upload_sweep(app: Any) -> None:
    task = app.state.get("upload_sweep")
    if task is not None:
        task.cancel()
