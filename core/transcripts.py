"""Transcripts: what was said in a recording, as timed segments.

A transcript belongs to one recording (so to one question's answer in a self-interview,
or to one segment of a live interview). Speech recognisers return a `Transcript`; the core
stores it encrypted with the tenant's data key and hands it to the tenant's transcript
extractors. Times are seconds from the start of the recording.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


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
