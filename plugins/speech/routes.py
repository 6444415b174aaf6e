"""The transcript page and its downloads, staff edits, and browser transcripts, under /t/{tenant}/speech/.

GET  /recordings/{id}                     the transcript beside the video (staff of the interview)
GET  /recordings/{id}/transcript.txt      download as text
GET  /recordings/{id}/captions.vtt        WebVTT: inline for the player's captions track, ?download=1 to save it
POST /recordings/{id}/edit                a staff edit: a new revision, audited; the original stays
POST /recordings/{id}/browser-transcript  what the interviewee's browser recognised (own recording only)
GET  /speech.js                           the script of the transcript page and of the interview page's captions
"""

from __future__ import annotations

import unicodedata

from pathlib import Path, PurePosixPath
from typing import Any
from uuid import UUID

from litestar import MediaType, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import File, Redirect

from core import audit
from core.auth.guards import requires_login
from core.interviews.api import Form, Interview, Recording, store_transcript, transcript_of, transcripts_of_interview
from core.tables import Tenant, json_value
from core.tenancy import TenantScope
from core.transcripts import Segment, Transcript
from core.web.blobs import content_disposition
from core.web.i18n import gettext as _
from core.web.problem import problem
from core.web.rendering import page
from core.web.text_guard import OWN_TEXT_CHECKS
from plugins.speech.browser import BrowserTranscriptInvalid, browser_transcript
from plugins.speech.captions import to_text, to_vtt
from plugins.speech.jobs import interview_language, transcription_state

SCRIPT = Path(__file__).parent / "static" / "speech.js"
MAX_EDIT_CHARS = 5000
# Characters that turn the text around them right to left or back (embeddings, overrides, isolates): in a
# sentence they make it read as something else ("\u202eevil" shows as "live"). RTL text needs none of them.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def may_read(user: Any, interview: Any) -> bool:
    """Admins, and the interview's interviewer and expert evaluators (as on the interview page)."""
    if user.role == "admin":
        return True
    if user.role not in ("interviewer", "expert"):
        return False
    experts = {str(e) for e in json_value(interview.experts) or []}
    return str(user.id) == str(interview.interviewer) or str(user.id) in experts


async def _staff_recording(request: Request, scope: TenantScope, recording_id: UUID) -> tuple[Recording, Interview]:
    """The recording and its interview for staff who may read them; 404 for anyone else (an interviewee,
    staff of other interviews), as for another tenant's or none, so no answer tells that it exists.
    The routes guard on sign-in only: a role guard would answer 403 before this check."""
    recording = await scope.get(Recording, recording_id)
    interview = await scope.get(Interview, recording.interview)
    if not may_read(request.user, interview):
        raise NotFoundException(_("Recording not found."))
    return recording, interview


def _filename(recording: Recording, suffix: str) -> str:
    """The recording's own name with `suffix` ("自己紹介.webm" -> "自己紹介.vtt", as a player looks for
    captions beside a video), or transcript-{id}{suffix} for a recording without a name."""
    stem = PurePosixPath((recording.filename or "").replace("\\", "/")).stem.strip()
    return f"{stem or f'transcript-{recording.id}'}{suffix}"


async def _newest(scope: TenantScope, recording: Recording) -> tuple[int, Transcript | None]:
    """(revision, transcript) of the recording's newest transcript; (0, None) when none is stored."""
    for stored in await transcripts_of_interview(scope, recording.interview):
        if stored.recording_id == recording.id:
            return stored.revision, stored.transcript
    return 0, None


async def _transcript_page(request: Request, scope: TenantScope, tenant_row: Tenant, recording: Recording,
                           interview: Interview, *, status_code: int = 200, error: str | None = None,
                           saved: int | None = None, typed: dict[str, Any] | None = None) -> Any:
    """The transcript page. After a refused edit (`error`, a key of `edit_refusals()`) its form shows
    what was `typed`; after a conflict the form shows the newest text and what was typed is listed
    under it (`unsaved`), since its sentences need not match the newest ones any more."""
    revision, transcript = await _newest(scope, recording)
    here = f"/t/{tenant_row.slug}/speech/recordings/{recording.id}"
    return await page(request, "speech/transcript.html", status_code=status_code, slug=tenant_row.slug,
                      recording=recording, interview=interview, transcript=transcript, revision=revision,
                      state=await transcription_state(scope, recording.id),
                      error=edit_refusals()[error] if error else None, saved=saved,
                      typed=typed if error != "conflict" else None,
                      unsaved=_typed_sentences(typed) if error == "conflict" else [],
                      here=here)  # the language switch of a refused edit's page leads to the page, not the POST


def edit_refusals() -> dict[str, str]:
    """Why an edit was refused, in the request's language, by the key `edited_transcript` raises."""
    return {
        "long": _("A sentence can hold at most %(n)d characters.") % {"n": MAX_EDIT_CHARS},
        "empty": _("A sentence was left empty. Write its text, or tick “Remove this sentence” to delete it. "
                   "Nothing was saved."),
        "control": _("A sentence contains a control character; remove it."),
        "conflict": _("Someone else saved a correction of this transcript after you opened it. Nothing was "
                      "saved: the current text is below; make your correction again. What you wrote is kept "
                      "under the form."),
        "nothing": _("This recording has no transcript yet."),
    }


def _typed_sentences(typed: dict[str, Any] | None) -> list[tuple[str, bool]]:
    """(text, remove box ticked) of an edit form's sentences, in the order of the form."""
    fields = typed or {}
    indexes = sorted(int(key[8:]) for key in fields if key.startswith("segment-") and key[8:].isdigit())
    return [(str(fields[f"segment-{i}"]), bool(fields.get(f"remove-{i}"))) for i in indexes]


@get("/recordings/{recording_id:uuid}", name="speech_transcript", guards=[requires_login], media_type=MediaType.HTML)
async def transcript_page(request: Request, tenant_scope: NamedDependency[TenantScope],
                          tenant_row: NamedDependency[Tenant], recording_id: FromPath[UUID]) -> Any:
    recording, interview = await _staff_recording(request, tenant_scope, recording_id)
    # The notice after a saved edit names its revision; anything but a revision number in the address is ignored.
    saved = request.query_params.get("saved", "")
    return await _transcript_page(request, tenant_scope, tenant_row, recording, interview,
                                  saved=int(saved) if saved.isdigit() and len(saved) < 10 else None)


@get("/recordings/{recording_id:uuid}/transcript.txt", name="speech_transcript_text", guards=[requires_login])
async def transcript_text(request: Request, tenant_scope: NamedDependency[TenantScope],
                          recording_id: FromPath[UUID]) -> Response:
    recording, _interview = await _staff_recording(request, tenant_scope, recording_id)
    transcript = await transcript_of(tenant_scope, recording.id)
    if transcript is None:
        raise NotFoundException(_("This recording has no transcript yet."))
    # Litestar adds "; charset=utf-8" to a text/* media type itself.
    return Response(to_text(transcript), media_type="text/plain",
                    headers={"Content-Disposition": content_disposition(_filename(recording, ".txt"))})


@get("/recordings/{recording_id:uuid}/captions.vtt", name="speech_captions", guards=[requires_login])
async def captions(request: Request, tenant_scope: NamedDependency[TenantScope],
                   recording_id: FromPath[UUID]) -> Response:
    recording, _interview = await _staff_recording(request, tenant_scope, recording_id)
    transcript = await transcript_of(tenant_scope, recording.id)
    if transcript is None:
        raise NotFoundException(_("This recording has no transcript yet."))
    # The player's <track> reads it inline; the page's download link adds ?download=1 to save it.
    inline = not request.query_params.get("download")
    return Response(to_vtt(transcript), media_type="text/vtt",
                    headers={"Content-Disposition": content_disposition(_filename(recording, ".vtt"), inline=inline)})


def edited_transcript(current: Transcript, form: dict[str, Any]) -> Transcript:
    """`current` with the texts of the form's `segment-{i}` fields; a segment whose `remove-{i}` box is
    ticked is removed, a changed one loses its word timings (they belong to the recognised words).
    ValueError("empty") when a kept segment's text is empty or only invisible characters (removing takes
    the explicit box, so a cleared box never deletes a sentence unnoticed), ValueError("long") when a text
    is longer than MAX_EDIT_CHARS, ValueError("control") when it holds a control character or one that
    overrides the text's direction (BIDI_CONTROLS)."""
    segments = []
    for index, segment in enumerate(current.segments):
        if form.get(f"remove-{index}"):
            continue
        text = " ".join(str(form.get(f"segment-{index}", segment.text)).split())
        # Zero-width spaces, joiners and BOMs alone (format characters) show as an empty sentence.
        if all(c.isspace() or unicodedata.category(c) == "Cf" for c in text):
            raise ValueError("empty")
        if len(text) > MAX_EDIT_CHARS:
            raise ValueError("long")
        if any(unicodedata.category(c) == "Cc" or c in BIDI_CONTROLS for c in text):
            raise ValueError("control")
        if text == segment.text.strip():
            segments.append(segment)
        else:
            segments.append(Segment(start=segment.start, end=segment.end, text=text, confidence=None,
                                    speaker=segment.speaker))
    return Transcript(language=current.language, source=current.source, segments=tuple(segments))


@post("/recordings/{recording_id:uuid}/edit", name="speech_transcript_edit", guards=[requires_login],
      media_type=MediaType.HTML, opt={OWN_TEXT_CHECKS: True})
async def edit(request: Request, tenant_scope: NamedDependency[TenantScope], tenant_row: NamedDependency[Tenant],
               recording_id: FromPath[UUID], data: Form) -> Any:
    """Store the form's corrections as a new revision. The form names the revision it was made on: an
    edit of an older one (another tab or person saved meanwhile, sentences may have moved) is refused
    with 409, as a refused text is with 400; both show the page again with what was typed."""
    recording, interview = await _staff_recording(request, tenant_scope, recording_id)
    here = f"/t/{tenant_row.slug}/speech/recordings/{recording.id}"
    revision, current = await _newest(tenant_scope, recording)

    async def refused(error: str, status_code: int) -> Any:
        return await _transcript_page(request, tenant_scope, tenant_row, recording, interview,
                                      status_code=status_code, error=error, typed=dict(data))

    if current is None:
        return await refused("nothing", 409)
    if str(data.get("revision", "")) != str(revision):
        return await refused("conflict", 409)
    try:
        edited = edited_transcript(current, data)
    except ValueError as exc:
        return await refused(str(exc), 400)
    kept = set(edited.segments)
    changed = sum(segment not in kept for segment in current.segments)  # corrected or removed
    if edited == current:
        return Redirect(here, status_code=303)
    stored = await store_transcript(tenant_scope, recording.id, edited, edited_by=request.user.id)
    await audit.record("speech.transcript_edited", tenant_id=tenant_scope.tenant_id, actor=request.user,
                       target=str(recording.id), detail={"revision": stored.revision, "segments_changed": changed},
                       ip=audit.client_ip(request))
    return Redirect(f"{here}?saved={stored.revision}", status_code=303)


@post("/recordings/{recording_id:uuid}/browser-transcript", name="speech_browser_transcript",
      guards=[requires_login], status_code=201)
async def browser(request: Request, tenant_scope: NamedDependency[TenantScope],
                  recording_id: FromPath[UUID]) -> Response:
    """The interviewee's browser sends what it recognised of the interviewee's own recording (see
    plugins/speech/browser.py for the body). 400 with a message for a body of the wrong shape;
    409 when the server's transcript is stored already (it is preferred); 404 for anyone else."""
    recording = await tenant_scope.get(Recording, recording_id)
    interview = await tenant_scope.get(Interview, recording.interview)
    if str(request.user.id) != str(interview.interviewee) or str(recording.uploaded_by) != str(request.user.id):
        raise NotFoundException(_("Recording not found."))
    try:
        payload = await request.json()
    except Exception:
        return problem(400, _("The browser transcript must be JSON."))
    try:
        transcript = browser_transcript(payload, await interview_language(tenant_scope, interview))
    except BrowserTranscriptInvalid as exc:
        return problem(400, str(exc))
    current = await transcript_of(tenant_scope, recording.id)
    if current is not None and current.source != "browser":
        return problem(409, _("The server's transcript of this recording is stored already."))
    stored = await store_transcript(tenant_scope, recording.id, transcript)
    return Response({"revision": stored.revision, "segments": len(transcript.segments)}, status_code=201)


@get("/speech.js", name="speech_script", include_in_schema=False)
async def script() -> File:
    return File(path=SCRIPT, media_type="text/javascript", content_disposition_type="inline")


HANDLERS = [transcript_page, transcript_text, captions, edit, browser, script]
