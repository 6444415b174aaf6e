"""Transcripts: what was said in a recording, as timed segments.

A transcript belongs to one recording (so to one question's answer in a self-interview,
or to one segment of a live interview). Speech recognisers return a `Transcript`; the core
stores it encrypted with the tenant's data key and hands it to the tenant's transcript
extractors. Times are seconds from the start of the recording (core.media's clock).

Storage lives with the recordings, in the interviews domain (`core.interviews.transcripts`,
for plugins through `core.interviews.api`): `await store_transcript(scope, recording_id,
transcript)` keeps the JSON as an
encrypted blob (`transcripts/{interview}/{recording}/r{revision}-{id}.json`) with a
`TranscriptRecord` row, then queues the tenant's transcript extractors as one analysis
(`mendan_interview_analysed` fires when they are done). A staff edit is stored the same way
with `edited_by`: a new revision; the original stays. Rows and blobs go with the tenant's purge.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any
from uuid import UUID


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
