"""The transcription job: a completed recording of the interviewee becomes a stored transcript.

`mendan_recording_completed` queues `speech.transcribe` for the interviewee's recordings only
(in a live interview the recordings the interviewee uploaded, `Recording.uploaded_by ==
Interview.interviewee`; the interviewer is never transcribed). The job hands the decrypted
recording to the tenant's recogniser (`mendan_speech_recogniser`, first answer wins) in a
worker thread, reports its progress and stores the result with `store_transcript`, which runs
the transcript extractors. An empty transcript is stored too: its state is "no speech found".
A recording without audio fails at once as "audio missing" (`AudioMissing`, never retried).
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import structlog

from core.interviews.api import Interview, Recording, store_transcript, transcript_of
from core.job_texts import failure_text, message_text
from core.runtime import runtime
from core.tables import Job, Tenant, User, json_value
from core.tasks import JobRefused, report_progress
from core.tenancy import TenantScope
from core.web.i18n import N_, current_language, gettext as _

log = structlog.get_logger("mendan.speech")
ACTOR = "speech.transcribe"
LANGUAGES = ("ja", "en")
STATES = (N_("waiting for transcription"), N_("transcribing"), N_("transcribed"), N_("no speech found"),
          N_("audio missing"), N_("transcription failed"), N_("not transcribed"))


def is_interviewees(interview: Any, recording: Any) -> bool:
    """True for a recording of the interviewee's own speech: in a live interview only what the
    interviewee's browser uploaded; in a self-interview every recording (staff may upload one for them)."""
    if interview.kind == "live":
        return str(recording.uploaded_by) == str(interview.interviewee)
    return True


async def interview_language(scope: TenantScope, interview: Any) -> str:
    """The language the interview is held in: the interviewee's language setting ("ja" or "en";
    Japanese where it is neither). Interviews have no language of their own."""
    row = await scope.select(User, User.language).where(User.id == interview.interviewee).first()
    language = (row or {}).get("language") or "ja"
    return language if language in LANGUAGES else "ja"


async def queue_transcription(tenant_id: Any, interview_id: Any, recording_id: Any) -> UUID | None:
    """Queue the transcription of a completed recording when it is the interviewee's; the job id or None."""
    scope = TenantScope(tenant_id)
    interview = await scope.get(Interview, interview_id)
    recording = await scope.get(Recording, recording_id)
    if not is_interviewees(interview, recording):
        log.info("transcription_skipped", recording_id=str(recording_id), reason="not the interviewee's")
        return None
    return await runtime().tasks.enqueue(ACTOR, tenant_id=tenant_id, recording_id=str(recording_id))


async def transcribe(tenant_id: str, recording_id: str) -> str:
    """The actor `speech.transcribe`: transcribe one recording and store the transcript.
    Returns the job's result ("transcribed: N segments" or "no speech found"); raises JobRefused
    (audio missing, no recogniser for the language, the recording gone) or the recogniser's refusals."""
    rt = runtime()
    scope = TenantScope(UUID(tenant_id))
    recording = await scope.objects(Recording).where(Recording.id == UUID(recording_id)).first()
    if recording is not None and recording.state == "superseded":
        return "superseded by a retake: not transcribed"
    if recording is None or recording.state != "complete" or not recording.blob_key:
        raise JobRefused(_("The recording is not complete, so there is nothing to transcribe."))
    interview = await scope.get(Interview, recording.interview)
    language = await interview_language(scope, interview)
    answered = await rt.host.first_for_tenant("mendan_speech_recogniser", tenant_id=scope.tenant_id,
                                              language=language)
    if answered is None:
        raise JobRefused(_("No speech recogniser is available for %(language)s.") % {"language": language})
    recogniser = answered[1]
    tenant = await Tenant.objects().where(Tenant.id == scope.tenant_id).first()
    report_progress(1, N_("decrypting the recording"))
    with tempfile.TemporaryDirectory(prefix="mendan-speech-") as tmp:
        path = Path(tmp) / f"recording.{recording.container or 'webm'}"
        key = rt.storage.tenant_key(tenant)

        def decrypt() -> None:
            with path.open("wb") as out:
                for block in rt.storage.read(key, recording.blob_key):
                    out.write(block)

        await asyncio.to_thread(decrypt)
        # asyncio.to_thread carries the job's context, so the recogniser's progress reaches its job row.
        transcript = await asyncio.to_thread(recogniser.transcribe, path, language, report_progress)
    await store_transcript(scope, recording.id, transcript)
    log.info("transcribed", recording_id=recording_id, recogniser=recogniser.name,
             segments=len(transcript.segments))
    return f"transcribed: {len(transcript.segments)} segments" if transcript.segments else "no speech found"


@dataclass(frozen=True)
class TranscriptionState:
    """What a page says about a recording's transcription: `state` one of STATES (untranslated),
    `detail` the job's message or error for the user, `progress` 0-100, `job_id` where a job ran."""

    state: str
    detail: str = ""
    progress: int = 0
    job_id: str | None = None


async def transcription_state(scope: TenantScope, recording_id: Any) -> TranscriptionState:
    """The state of the recording's transcript: a stored one (empty: "no speech found"), else its newest job's."""
    transcript = await transcript_of(scope, recording_id)
    if transcript is not None:
        return TranscriptionState("transcribed" if transcript.segments else "no speech found", progress=100)
    jobs = await scope.objects(Job).where(Job.actor == ACTOR).order_by(Job.created_at, ascending=False).limit(500)
    job = next((j for j in jobs if (json_value(j.args) or {}).get("recording_id") == str(recording_id)), None)
    if job is None:
        return TranscriptionState("not transcribed")
    language = current_language.get()
    if job.state in ("queued", "running"):
        return TranscriptionState("transcribing" if job.state == "running" else "waiting for transcription",
                                  message_text(job.message, language), job.progress, str(job.id))
    return TranscriptionState("audio missing" if job.error.startswith("AudioMissing") else "transcription failed",
                              failure_text(job.error, language), job.progress, str(job.id))


async def transcription_panel(tenant: Any, interview: Any) -> Any:
    """The interview page's panel: each of the interviewee's complete recordings with its
    transcription state, a link to its transcript page, and its captions for the page's player."""
    from core.interviews.api import Panel

    scope = TenantScope(tenant.id)
    recordings = await scope.objects(Recording).where(
        (Recording.interview == interview.id) & (Recording.state == "complete")).order_by(Recording.created_at)
    rows = []
    for recording in recordings:
        if not is_interviewees(interview, recording):
            continue
        transcript = await transcript_of(scope, recording.id)
        rows.append({"recording": recording, "state": await transcription_state(scope, recording.id),
                     "captions": bool(transcript and transcript.segments),
                     "language": transcript.language if transcript else ""})
    return Panel(title_ja="文字起こし", title_en="Transcripts", template="speech/panel.html",
                 context={"rows": rows}, order=40)
