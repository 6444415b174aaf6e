"""Transcripts: what was said in a recording, as timed segments.

A transcript belongs to one recording (so to one question's answer in a self-interview,
or to one segment of a live interview). Speech recognisers return a `Transcript`; the core
stores it encrypted with the tenant's data key and hands it to the tenant's transcript
extractors. Times are seconds from the start of the recording (core.media's clock).

Storage: `await store_transcript(scope, recording_id, transcript)` keeps the JSON as an
encrypted blob (`transcripts/{interview}/{recording}/r{revision}-{id}.json`) with a
`TranscriptRecord` row, then queues the tenant's transcript extractors as one analysis
(`mendan_interview_analysed` fires when they are done). A staff edit is stored the same way
with `edited_by`: a new revision; the original stays. Rows and blobs go with the tenant's purge.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any
from uuid import UUID, uuid4


@dataclass(frozen=True)
class Word:
    """One recognised word (or token, for Japanese) with its time span in seconds."""

    start: float
    end: float
    text: str
    confidence: float | None = None  # 0-1, where the recogniser gives one


@dataclass(frozen=True)
class Segment:
    """A stretch of speech, usually a sentence: [start, end) in seconds and its text."""

    start: float
    end: float
    text: str
    confidence: float | None = None  # 0-1 (e.g. exp of Whisper's mean log-probability)
    speaker: str | None = None  # speaker or channel label, where known ("interviewee")
    words: tuple[Word, ...] = ()


@dataclass(frozen=True)
class Transcript:
    """Everything recognised in one recording.

    `language` is an ISO 639-1 code ("ja", "en"); `source` names the recogniser and its
    model ("faster-whisper:base", "nemo:<file>", "browser"), so lower-confidence sources
    can be told apart.
    """

    language: str
    source: str
    segments: tuple[Segment, ...] = field(default_factory=tuple)

    def text(self) -> str:
        """The whole text; Japanese segments are joined without spaces."""
        joiner = "" if self.language == "ja" else " "
        return joiner.join(s.text.strip() for s in self.segments if s.text.strip())

    def duration_s(self) -> float:
        """Seconds from the first segment's start to the last one's end (0 when empty)."""
        if not self.segments:
            return 0.0
        return max(s.end for s in self.segments) - min(s.start for s in self.segments)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Transcript:
        return cls(
            language=data["language"],
            source=data["source"],
            segments=tuple(
                Segment(**{**s, "words": tuple(Word(**w) for w in s.get("words", ()))})
                for s in data.get("segments", ())
            ),
        )


@dataclass(frozen=True)
class StoredTranscript:
    """A transcript as stored: which recording, its question and place, which revision."""

    recording_id: UUID
    question_key: str | None
    sequence: int
    revision: int
    edited_by: UUID | None
    transcript: Transcript


@dataclass(frozen=True)
class TranscriptStored:
    """What `store_transcript` did: the revision it stored, the transcript extractor jobs it queued."""

    revision: int
    jobs: list[UUID]


def check_transcript(transcript: Transcript) -> None:
    """Raise ValueError (with the reason) for a transcript that cannot be stored: no language
    or source, a segment or word with non-finite, negative or reversed times, or a confidence
    outside 0-1."""
    if not isinstance(transcript, Transcript):
        raise ValueError("a transcript must be a core.transcripts.Transcript")
    if not transcript.language or not transcript.source:
        raise ValueError("a transcript needs its language and source")
    for part in [*transcript.segments, *(w for s in transcript.segments for w in s.words)]:
        if not (math.isfinite(part.start) and math.isfinite(part.end)) or part.start < 0 or part.end < part.start:
            raise ValueError(f"times {part.start!r}-{part.end!r} are not a span in the recording")
        if part.confidence is not None and not (0.0 <= part.confidence <= 1.0):
            raise ValueError(f"confidence {part.confidence!r} is outside 0-1")


async def store_transcript(scope: Any, recording_id: UUID, transcript: Transcript, *,
                           edited_by: UUID | None = None) -> TranscriptStored:
    """Store `transcript` as the newest revision of the recording's transcript, encrypted with
    the tenant's data key, and queue the tenant's transcript extractors over it.

    `scope` is the tenant's `TenantScope`; `edited_by` the user id of a staff edit (None for
    a recogniser). Raises `litestar.exceptions.NotFoundException` for a recording of another
    tenant or none, ValueError for a malformed transcript (`check_transcript`).
    """
    import anyio.to_thread

    from core.analysis import Target, queue_analysis
    from core.db.tables import Tenant, TranscriptRecord
    from core.interviews.tables import Recording
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
    order (`Recording.sequence`), each with its question key."""
    from core.db.tables import TranscriptRecord
    from core.interviews.tables import Recording

    latest = await _latest_rows(scope, TranscriptRecord.interview_id == interview_id)
    if not latest:
        return []
    order = {r["id"]: r["sequence"] for r in await scope.select(Recording, Recording.id, Recording.sequence).where(
        Recording.interview == interview_id)}
    out = [StoredTranscript(rid, row.question_key, order.get(rid, 0), row.revision, row.edited_by,
                            await _load(scope, row.blob_key)) for rid, row in latest.items()]
    return sorted(out, key=lambda s: (s.sequence, str(s.recording_id)))
