"""Transcripts in the REST API v1, under /api/v1/t/{tenant}/speech/ (docs/api.md, "Conventions"); read-only.

GET /recordings/{id}/transcript     the recording's newest transcript, ETag (404 `transcript_not_found` until one is)
GET /interviews/{id}/transcripts    the newest transcript of each of the interview's transcribed recordings

Who may read them is who may read the transcript page: admins, and the interview's interviewer and
expert evaluators (`routes.may_read`); anyone else gets 404, as for another tenant's recording.
Shapes are `core.transcripts`' JSON: times in seconds from the recording's start, confidences 0-1.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from core.auth.guards import requires_staff
from core.interviews.api import Interview, Recording, transcripts_of_interview
from core.rest.auth import requires_scope
from core.rest.etags import tagged
from core.rest.problems import ApiError, problem_responses
from core.tenancy import TenantScope
from core.transcripts import StoredTranscript
from core.web.i18n import gettext as _
from plugins.speech.routes import may_read

Seconds = Annotated[float, msgspec.Meta(ge=0, description="Seconds from the start of the recording.")]
Confidence = Annotated[float, msgspec.Meta(ge=0, le=1, description="0-1, where the recogniser gives one.")] | None


class WordOut(msgspec.Struct):
    """One recognised word (a token, for Japanese) with its time span."""

    start: Seconds
    end: Seconds
    text: str
    confidence: Confidence = None


class SegmentOut(msgspec.Struct):
    """A stretch of speech, usually a sentence: [start, end) and its text."""

    start: Seconds
    end: Seconds
    text: str
    confidence: Confidence = None
    speaker: Annotated[str | None, msgspec.Meta(description="Speaker or channel label, where known.")] = None
    words: Annotated[list[WordOut], msgspec.Meta(description="Word timings, where the recogniser gives them "
                                                             "(none after a staff correction of the sentence).")] = []


class RecordingTranscript(msgspec.Struct):
    """What was said in one recording: its newest transcript (a staff correction is a new revision)."""

    recording_id: UUID
    interview_id: UUID
    question_key: Annotated[str | None, msgspec.Meta(
        description="The question the recording answers (`q1` is the first), where it answers one.")]
    revision: Annotated[int, msgspec.Meta(description="1 for the recognised transcript, +1 per staff correction.")]
    edited: Annotated[bool, msgspec.Meta(description="True when a staff member corrected this revision.")]
    language: Annotated[str, msgspec.Meta(description="ISO 639-1 code.", examples=["ja"])]
    source: Annotated[str, msgspec.Meta(description="The recogniser and its model (`browser` for what the "
                                                    "interviewee's browser recognised).",
                                        examples=["faster-whisper:base"])]
    segments: list[SegmentOut]


class InterviewTranscripts(msgspec.Struct):
    """The newest transcript of each of the interview's transcribed recordings, in recording order;
    recordings a retake replaced are left out. Empty until a recording is transcribed."""

    interview_id: UUID
    items: list[RecordingTranscript]


def transcript_out(recording: Recording, stored: StoredTranscript) -> RecordingTranscript:
    transcript = stored.transcript
    segments = [SegmentOut(start=s.start, end=s.end, text=s.text, confidence=s.confidence, speaker=s.speaker,
                           words=[WordOut(w.start, w.end, w.text, w.confidence) for w in s.words])
                for s in transcript.segments]
    return RecordingTranscript(recording_id=recording.id, interview_id=recording.interview,
                               question_key=stored.question_key, revision=stored.revision,
                               edited=stored.edited_by is not None, language=transcript.language,
                               source=transcript.source, segments=segments)


async def _readable_interview(request: Request, scope: TenantScope, interview_id: Any) -> Interview:
    interview = await scope.get(Interview, interview_id)
    if not may_read(request.user, interview):
        raise ApiError(404)
    return interview


@get("/recordings/{recording_id:uuid}/transcript", summary="Read a recording's transcript",
     operation_id="getRecordingTranscript",
     description="The recording's newest transcript with its segments and word timings, and its `ETag`. 404 "
                 "`transcript_not_found` while it has none (not transcribed yet, or no speech). Admins and the "
                 "interview's interviewer and experts; scope `read`.",
     guards=[requires_scope("read"), requires_staff], responses=problem_responses(403))
async def recording_transcript(request: Request, tenant_scope: NamedDependency[TenantScope],
                               recording_id: FromPath[UUID]) -> Response[RecordingTranscript]:
    recording = await tenant_scope.get(Recording, recording_id)
    await _readable_interview(request, tenant_scope, recording.interview)
    # As the transcript page: the interview's current transcripts, so a take a retake replaced has none.
    stored = next((s for s in await transcripts_of_interview(tenant_scope, recording.interview)
                   if s.recording_id == recording.id), None)
    if stored is None:
        raise ApiError(404, "transcript_not_found", _("This recording has no transcript yet."))
    return tagged(request, transcript_out(recording, stored))


@get("/interviews/{interview_id:uuid}/transcripts", summary="Read an interview's transcripts",
     operation_id="listInterviewTranscripts",
     description="The newest transcript of each of the interview's transcribed recordings, in recording order "
                 "(an empty list until one is transcribed). Admins and the interview's interviewer and "
                 "experts; scope `read`.",
     guards=[requires_scope("read"), requires_staff], responses=problem_responses(403))
async def interview_transcripts(request: Request, tenant_scope: NamedDependency[TenantScope],
                                interview_id: FromPath[UUID]) -> Response[InterviewTranscripts]:
    interview = await _readable_interview(request, tenant_scope, interview_id)
    stored = await transcripts_of_interview(tenant_scope, interview.id)
    recordings = {r.id: r for r in await tenant_scope.objects(Recording).where(Recording.interview == interview.id)}
    items = [transcript_out(recordings[s.recording_id], s) for s in stored if s.recording_id in recordings]
    return tagged(request, InterviewTranscripts(interview_id=interview.id, items=items))


API_HANDLERS = [recording_transcript, interview_transcripts]
