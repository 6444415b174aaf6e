"""Stored transcripts of the interviews' recordings (the shapes are `core.transcripts`'s).

A transcript is stored encrypted with the tenant's data key as the newest revision of its
recording's transcript; storing one queues the tenant's transcript extractors.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID, uuid4

from core.interviews.analysis import Target, queue_analysis
from core.interviews.tables import Recording
from core.transcripts import StoredTranscript, Transcript, TranscriptStored, check_transcript


async def store_transcript(scope: Any, recording_id: UUID, transcript: Transcript, *,
                           edited_by: UUID | None = None) -> TranscriptStored:
    """Store `transcript` as the newest revision of the recording's transcript, encrypted with
    the tenant's data key, and queue the tenant's transcript extractors over it.

    `scope` is the tenant's `TenantScope`; `edited_by` the user id of a staff edit (None for
    a recogniser). Raises `litestar.exceptions.NotFoundException` for a recording of another
    tenant or none, ValueError for a malformed transcript (`check_transcript`).
    """
    import anyio.to_thread

    from core.db.tables import Tenant, TranscriptRecord
    from core.runtime import runtime

    check_transcript(transcript)
    recording = await scope.get(Recording, recording_id)
    interview_id = recording.interview
    rows = await scope.select(TranscriptRecord, TranscriptRecord.revision).where(
        TranscriptRecord.recording_id == recording.id).order_by(TranscriptRecord.revision, ascending=False).limit(1)
    revision = (rows[0]["revision"] + 1) if rows else 1
    row_id = uuid4()
    key = f"transcripts/{interview_id}/{recording.id}/r{revision}-{row_id.hex[:8]}.json"
    storage = runtime().storage
    tenant = await Tenant.objects().where(Tenant.id == scope.tenant_id).first()
    data = json.dumps(transcript.to_json(), ensure_ascii=False).encode()

    def write() -> None:
        with storage.writer(storage.tenant_key(tenant), key) as out:
            out.write(data)

    await anyio.to_thread.run_sync(write)
    await scope.add(TranscriptRecord(
        id=row_id, interview_id=interview_id, recording_id=recording.id, question_key=recording.question_key,
        revision=revision, language=transcript.language[:8], source=transcript.source[:120], blob_key=key,
        edited_by=edited_by,
    ))
    if recording.state == "superseded":  # kept, but a retake replaced it: nothing to analyse
        return TranscriptStored(revision, [])
    jobs = await queue_analysis(scope.tenant_id, interview_id,
                                [Target(recording.id, None, recording.question_key)], reason="transcript")
    return TranscriptStored(revision, jobs)


async def _load(scope: Any, blob_key: str) -> Transcript:
    import anyio.to_thread

    from core.db.tables import Tenant
    from core.runtime import runtime

    storage = runtime().storage
    tenant = await Tenant.objects().where(Tenant.id == scope.tenant_id).first()
    raw = await anyio.to_thread.run_sync(lambda: b"".join(storage.read(storage.tenant_key(tenant), blob_key)))
    return Transcript.from_json(json.loads(raw))


async def _latest_rows(scope: Any, where: Any) -> dict[UUID, Any]:
    from core.db.tables import TranscriptRecord

    latest: dict[UUID, Any] = {}
    for row in await scope.objects(TranscriptRecord).where(where).order_by(TranscriptRecord.revision):
        latest[row.recording_id] = row
    return latest


async def transcript_of(scope: Any, recording_id: UUID) -> Transcript | None:
    """The newest revision of the recording's transcript, or None when none is stored."""
    from core.db.tables import TranscriptRecord

    row = (await _latest_rows(scope, TranscriptRecord.recording_id == recording_id)).get(recording_id)
    return await _load(scope, row.blob_key) if row is not None else None


async def transcripts_of_interview(scope: Any, interview_id: UUID) -> list[StoredTranscript]:
    """The newest transcript of each of the interview's recordings that has one, in recording
    order (`Recording.sequence`), each with its question key; superseded takes (an answer
    taken again) are left out."""
    from core.db.tables import TranscriptRecord

    latest = await _latest_rows(scope, TranscriptRecord.interview_id == interview_id)
    if not latest:
        return []
    recordings = await scope.select(Recording, Recording.id, Recording.sequence, Recording.state).where(
        Recording.interview == interview_id)
    order = {r["id"]: r["sequence"] for r in recordings}
    superseded = {r["id"] for r in recordings if r["state"] == "superseded"}
    out = [StoredTranscript(rid, row.question_key, order.get(rid, 0), row.revision, row.edited_by,
                            await _load(scope, row.blob_key)) for rid, row in latest.items() if rid not in superseded]
    return sorted(out, key=lambda s: (s.sequence, str(s.recording_id)))
