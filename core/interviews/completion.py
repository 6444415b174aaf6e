"""A recording's completion, as states in the database, so it happens exactly once even when a
process dies half-way or two requests finish the same upload.

    uploading --(all bytes in: compare-and-set)--> received
    received  --(chunks joined, SHA-256 checked, probed)--> complete | refused
    complete  --(mendan_recording_completed fired: compare-and-set of announced_at)--> announced

- `receive`: the request whose chunk (or `Upload-Length`) brought the offset to the size moves
  the row from uploading to received in one conditional UPDATE; of two final PATCHes at once
  only one wins and goes on, the other answers what tus asks (the offset, 204).
- `complete_received`: the join and probe run outside any transaction; then one transaction
  moves received to complete (again conditionally), advances the interview to recorded and
  records the analysis jobs (core.interviews.analysis: AnalysisRun, its steps, the Job rows:
  the outbox). Their messages go to the broker after the commit (core.tasks): a broker outage
  does not fail the upload, the relay sends them later. The chunks are deleted only after.
- `announce`: claims `announced_at` (conditional UPDATE), then fires the hook, so plugins hear
  of a recording once (at most once: a crash between the claim and the call loses the call).
- `sweep_recordings`, a step of the sweeper (core.sweeper, registered by the assembly), finishes
  what a crash left: rows with all bytes but still uploading, received rows not completed,
  completed rows not announced, each older than `older_than_s`. Safe in several processes.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import anyio.to_thread
import structlog

from core.db.constraints import write_transaction
from core.interviews.analysis import start_analysis
from core.interviews.schedule import advance
from core.interviews.tables import Interview, Recording
from core.interviews.uploads import DEFERRED, UploadProblem, assemble, completed_columns, drop_parts
from core.runtime import runtime
from core.storage import BlobStore, TenantKey
from core.tables import Tenant
from core.tenancy import TenantScope

log = structlog.get_logger("mendan.completion")

STALE_AFTER_S = 120  # a state older than this was left by a crash (an upload's join takes far less)


def _now() -> datetime:
    return datetime.now(timezone.utc)


async def receive(scope: TenantScope, rec: Recording) -> bool:
    """uploading -> received when all of the declared size is in. True for the one caller whose
    conditional UPDATE moved the row; False when another (request or sweeper) did, or bytes are missing."""
    if rec.size == DEFERRED or rec.upload_offset != rec.size:
        return False
    now = _now()
    moved = await scope.update(Recording, {Recording.state: "received", Recording.received_at: now}).where(
        (Recording.id == rec.id) & (Recording.state == "uploading") & (Recording.size == rec.size)
        & (Recording.upload_offset == rec.size)).returning(Recording.id)
    if moved:
        rec.state, rec.received_at = "received", now
    return bool(moved)


async def record_completion(scope: TenantScope, interview: Interview, rec: Recording) -> list[Any]:
    """What a complete recording starts, in the caller's transaction: the interview becomes
    recorded and the analysis jobs are recorded (sent once it commits). Returns the job ids."""
    await advance(scope, interview, "recorded")
    return await start_analysis(tenant_id=scope.tenant_id, interview_id=interview.id, recording_key=rec.blob_key,
                                recording_id=rec.id, question_key=rec.question_key)


async def complete_received(scope: TenantScope, store: BlobStore, tk: TenantKey, host: Any, interview: Interview,
                            rec: Recording) -> Recording:
    """received -> complete: join, check and probe (`assemble`; a refusal raises UploadProblem
    422 and keeps the row refused), then in one transaction the state, the interview and the
    analysis jobs; then the chunks go and the hook fires (`announce`). Returns the row as stored.
    Called twice for a row (a slow request and the sweeper), only one call completes it."""
    info, sha256 = await assemble(scope, store, tk, rec)
    async with write_transaction():
        moved = await scope.update(Recording, completed_columns(info, sha256, _now())).where(
            (Recording.id == rec.id) & (Recording.state == "received")).returning(Recording.id)
        if moved:
            await record_completion(scope, interview, rec)
    if moved:
        await anyio.to_thread.run_sync(drop_parts, store, tk, rec)
        log.info("recording_completed", recording_id=str(rec.id), interview_id=str(interview.id))
    stored = await scope.get(Recording, rec.id)
    if moved:
        await announce(scope, host, stored)
    return stored


async def announce(scope: TenantScope, host: Any, rec: Recording) -> bool:
    """Fire `mendan_recording_completed` for a complete recording, once: True when this call did."""
    claimed = await scope.update(Recording, {Recording.announced_at: _now()}).where(
        (Recording.id == rec.id) & (Recording.state == "complete") & Recording.announced_at.is_null()
    ).returning(Recording.id)
    if not claimed:
        return False
    await host.call_for_tenant("mendan_recording_completed", tenant_id=scope.tenant_id, interview_id=rec.interview,
                               recording_id=rec.id)
    return True


async def announce_completion(scope: TenantScope, host: Any, interview: Interview, rec: Recording) -> None:
    """For a recording stored complete by other means (a bulk import's, a test's): start what
    completion starts (`record_completion`, in one transaction) and fire the hook (`announce`)."""
    async with write_transaction():
        await record_completion(scope, interview, rec)
    await announce(scope, host, rec)


async def sweep_recordings(older_than_s: float = STALE_AFTER_S) -> int:
    """Finish the recordings a crash left between states for longer than `older_than_s`; returns
    how many moved on. Failures are logged and tried again at the next sweep."""
    cutoff = _now() - timedelta(seconds=older_than_s)
    rt = runtime()
    moved = 0
    # All bytes in, but the request died before it marked the row received.
    uploading = await Recording.select(Recording.id, Recording.tenant, Recording.size, Recording.upload_offset).where(
        (Recording.state == "uploading") & (Recording.size > 0) & (Recording.created_at <= cutoff))
    for row in (r for r in uploading if r["upload_offset"] == r["size"]):
        rec = await TenantScope(row["tenant"]).objects(Recording).where(Recording.id == row["id"]).first()
        if rec is not None and await receive(TenantScope(row["tenant"]), rec):
            moved += await _complete_left(rt, row["tenant"], row["id"])
    # Received, never completed: claim each (a newer received_at) so another sweeper leaves it.
    stale = await Recording.select(Recording.id, Recording.tenant).where(
        (Recording.state == "received") & (Recording.received_at <= cutoff))
    for row in stale:
        claimed = await Recording.update({Recording.received_at: _now()}).where(
            (Recording.id == row["id"]) & (Recording.state == "received") & (Recording.received_at <= cutoff)
        ).returning(Recording.id)
        if claimed and await _complete_left(rt, row["tenant"], row["id"]):
            moved += 1
    # Complete, never announced (rows made complete otherwise, without received_at, are not completions).
    silent = await Recording.select(Recording.id, Recording.tenant).where(
        (Recording.state == "complete") & Recording.announced_at.is_null() & Recording.received_at.is_not_null()
        & (Recording.completed_at <= cutoff))
    for row in silent:
        scope = TenantScope(row["tenant"])
        rec = await scope.objects(Recording).where(Recording.id == row["id"]).first()
        if rec is not None and await announce(scope, rt.host, rec):
            moved += 1
    if moved:
        log.info("recordings_swept", count=moved)
    return moved


async def _complete_left(rt: Any, tenant_id: Any, recording_id: Any) -> bool:
    scope = TenantScope(tenant_id)
    try:
        rec = await scope.get(Recording, recording_id)
        interview = await scope.get(Interview, rec.interview)
        tenant = await Tenant.objects().where(Tenant.id == tenant_id).first()
        done = await complete_received(scope, rt.storage, rt.storage.tenant_key(tenant), rt.host, interview, rec)
    except UploadProblem as exc:
        log.info("swept_recording_refused", recording_id=str(recording_id), reason=exc.message)
        return True
    except Exception as exc:  # the next sweep tries again; one bad row must not stop the others
        log.exception("sweep_recording_failed", recording_id=str(recording_id), error=repr(exc))
        return False
    return done.state == "complete"
