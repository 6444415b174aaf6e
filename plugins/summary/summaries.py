"""Summaries of an interview's answers and of the whole interview, each sentence linked to the
moment it was said (its recording and the second it starts there, for "play from here").

Input is the stored transcripts (`core.transcripts.Transcript`) of the interviewee's recordings,
one per answer. Sentences are cut from the segments' text; a sentence's start is the time of
its first character (from word timings where the recogniser gave them, else interpolated
inside its segment).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

import structlog

from core.transcripts import Transcript
from plugins.summary.extractive import ExtractiveSummariser
from plugins.summary.plugin import INTERVIEWS
from plugins.summary.settings import SummarySettings

log = structlog.get_logger("mendan.summary")
_SENTENCE = {"ja": re.compile(r"[^。！？!?]+[。！？!?]*"), "en": re.compile(r"[^.!?]+[.!?]*")}


@dataclass(frozen=True)
class TimedSentence:
    text: str
    start: float  # seconds from the start of its recording
    recording_id: str | None = None


@dataclass(frozen=True)
class Summary:
    """`sentences` in spoken order; `provider` names the summariser that made them."""

    language: str
    provider: str
    sentences: tuple[TimedSentence, ...]

    def to_json(self) -> dict[str, Any]:
        return {"language": self.language, "provider": self.provider,
                "sentences": [s.__dict__ for s in self.sentences]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Summary:
        return cls(language=data["language"], provider=data["provider"],
                   sentences=tuple(TimedSentence(**s) for s in data["sentences"]))


def _char_times(segment, text: str) -> list[float]:
    """The time each character of the segment's text was said."""
    span = max(0.0, segment.end - segment.start)
    times = [segment.start + span * i / max(1, len(text)) for i in range(len(text))]
    position = 0
    for word in segment.words:
        word_text = word.text.strip()
        found = text.find(word_text, position) if word_text else -1
        if found < 0:
            continue
        for index in range(found, min(len(text), found + len(word_text))):
            times[index] = word.start
        position = found + len(word_text)
    return times


def timed_sentences(transcript: Transcript, recording_id: str | None = None) -> list[TimedSentence]:
    """The transcript's sentences, each with the second it starts; a sentence may span segments."""
    chars: list[str] = []
    times: list[float] = []
    for segment in transcript.segments:
        text = segment.text.strip()
        if not text:
            continue
        if chars and transcript.language != "ja":
            chars.append(" ")
            times.append(segment.start)
        chars.extend(text)
        times.extend(_char_times(segment, text))
    full = "".join(chars)
    pattern = _SENTENCE.get(transcript.language, _SENTENCE["en"])
    sentences = []
    for match in pattern.finditer(full):
        text = match.group().strip()
        if text:
            first = match.start() + (len(match.group()) - len(match.group().lstrip()))
            sentences.append(TimedSentence(text=text, start=round(times[first], 2), recording_id=recording_id))
    return sentences


def _bigrams(text: str) -> set[str]:
    return {text[i:i + 2] for i in range(len(text) - 1)} or {text}


def _closest(text: str, sentences: list[TimedSentence]) -> TimedSentence:
    """The source sentence an abstractive sentence mostly restates (Dice overlap of character bigrams)."""
    grams = _bigrams(text)
    return max(sentences, key=lambda s: 2 * len(grams & _bigrams(s.text)) / (len(grams) + len(_bigrams(s.text))))


def summarise(sentences: list[TimedSentence], language: str, limit: int, summariser=None) -> Summary:
    """The summary of `sentences` by `summariser` (default extractive); when it fails (an outside
    endpoint's timeout or refusal) the extractive summary is returned instead, never an error."""
    if not sentences:
        return Summary(language=language, provider="none", sentences=())
    texts = [s.text for s in sentences]
    chosen = summariser or ExtractiveSummariser()
    try:
        picked = chosen.summarise(texts, language, limit)
    except Exception as exc:  # an outside provider's failure must not cost the user the summary
        log.warning("summary_provider_failed", provider=chosen.name, error=repr(exc))
        chosen = ExtractiveSummariser()
        picked = chosen.summarise(texts, language, limit)
    by_text = {s.text: s for s in sentences}
    timed = [by_text.get(text) or TimedSentence(text, *_located(_closest(text, sentences))) for text in picked]
    return Summary(language=language, provider=chosen.name, sentences=tuple(timed))


def _located(source: TimedSentence) -> tuple[float, str | None]:
    return source.start, source.recording_id


def summarise_interview(transcripts: list[tuple[str, Transcript]], settings: SummarySettings,
                        summariser=None) -> dict[str, Any]:
    """`{"answers": {recording_id: Summary}, "interview": Summary}` for the interviewee's
    transcripts, given as (recording id, transcript) in interview order."""
    answers = {}
    every: list[TimedSentence] = []
    language = transcripts[0][1].language if transcripts else "ja"
    for recording_id, transcript in transcripts:
        sentences = timed_sentences(transcript, recording_id)
        every += sentences
        answers[recording_id] = summarise(sentences, transcript.language, settings.sentences_per_answer, summariser)
    interview = summarise(every, language, settings.sentences_per_interview, summariser)
    return {"answers": answers, "interview": interview}


def summariser_for(settings: SummarySettings):
    """The tenant's own choice: its chat-completions endpoint where set, else the extractive default."""
    if settings.provider == "chat_completions" and settings.endpoint:
        from plugins.summary.abstractive import ChatCompletionsSummariser

        return ChatCompletionsSummariser(settings.endpoint, settings.model, settings.api_key, settings.timeout_s)
    return ExtractiveSummariser()


def basis_of(transcripts: list[tuple[str, Transcript]], settings: SummarySettings, summariser: Any) -> str:
    """What a summary is made from, as a SHA-256 hex digest: the transcripts' full content (so a
    staff edit, a new revision, changes it), the tenant's sentence counts and the summariser."""
    made_by = {"summariser": summariser.name,
               "endpoint": settings.endpoint if settings.provider == "chat_completions" else "",
               "per_answer": settings.sentences_per_answer, "per_interview": settings.sentences_per_interview}
    data = json.dumps({"made_by": made_by, "transcripts": [[rid, t.to_json()] for rid, t in transcripts]},
                      ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(data.encode()).hexdigest()


def _blob_key(interview_id: Any) -> str:
    return f"summary/{interview_id}.json"


async def _stored_summary(tenant_id: Any, interview_id: Any, basis: str) -> dict[str, Any] | None:
    """The stored summary of the interview when it was made from `basis`, else None."""
    from core.runtime import runtime
    from core.storage import BlobError, BlobNotFound
    from core.tables import Tenant

    storage = runtime().storage
    tenant_key = storage.tenant_key(await Tenant.objects().where(Tenant.id == tenant_id).first())

    def read() -> dict[str, Any] | None:
        try:
            return json.loads(b"".join(storage.read(tenant_key, _blob_key(interview_id))))
        except BlobNotFound:
            return None
        except (BlobError, ValueError) as exc:  # a damaged copy is made again, never an error page
            log.warning("stored_summary_unreadable", interview_id=str(interview_id), error=repr(exc))
            return None

    stored = await asyncio.to_thread(read)
    if stored is None or stored.get("basis") != basis:
        return None
    return {"answers": {rid: Summary.from_json(a) for rid, a in stored["answers"].items()},
            "interview": Summary.from_json(stored["interview"])}


async def _store_summary(tenant_id: Any, interview_id: Any, basis: str, result: dict[str, Any]) -> None:
    from core.runtime import runtime
    from core.tables import Tenant

    storage = runtime().storage
    tenant_key = storage.tenant_key(await Tenant.objects().where(Tenant.id == tenant_id).first())
    data = json.dumps({"basis": basis, "interview": result["interview"].to_json(),
                       "answers": {rid: a.to_json() for rid, a in result["answers"].items()}},
                      ensure_ascii=False).encode()

    def write() -> None:
        with storage.writer(tenant_key, _blob_key(interview_id)) as out:
            out.write(data)

    await asyncio.to_thread(write)


async def interview_summary(tenant_id: Any, interview_id: Any, transcripts: list[tuple[str, Transcript]]
                            ) -> dict[str, Any]:
    """The interview's summaries (see `summarise_interview`) with the tenant's summariser: a plugin's
    `mendan_summariser` where one answers, else the tenant's settings.

    A summary is made once and stored (encrypted with the tenant's data key, blob
    `summary/{interview}.json`) with the basis it was made from (`basis_of`); later views get the
    stored one until a transcript changes (a staff edit) or the settings or summariser do, when it
    is made again. A summary that fell back to the extractive one after a provider's failure is not
    stored, so the provider is asked again next time. Meters `summary.interviews` once per interview
    (a summary made again is not billed again); an interview without any speech is neither
    summarised nor billed."""
    from core.runtime import runtime
    from core.usage import record_usage
    from plugins.summary.settings import summary_settings

    settings = await summary_settings(tenant_id)
    host = runtime().host
    language = transcripts[0][1].language if transcripts else "ja"
    answered = await host.first_for_tenant("mendan_summariser", tenant_id=tenant_id, language=language)
    summariser = answered[1] if answered else summariser_for(settings)
    basis = basis_of(transcripts, settings, summariser)
    stored = await _stored_summary(tenant_id, interview_id, basis)
    if stored is not None:
        return stored
    result = await asyncio.to_thread(summarise_interview, transcripts, settings, summariser)
    if result["interview"].sentences:
        await record_usage(tenant_id, INTERVIEWS, 1, act=f"interview:{interview_id}")
    made = [result["interview"], *result["answers"].values()]
    if result["interview"].sentences and all(s.provider in (summariser.name, "none") for s in made):
        await _store_summary(tenant_id, interview_id, basis, result)
    return result
