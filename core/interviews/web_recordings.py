"""Personal join links, the consent screen, the recording page and the resumable upload API.

No recording endpoint takes a byte before the interviewee accepted the current
consent text for `recording` (spec 4.2.1 (2)).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import quote
from uuid import UUID

from litestar import MediaType, Controller, Request, Response, Router, get, head, patch, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, JSONBody, Parameter
from litestar.response import Redirect, Template

from core import audit
from core.auth.guards import requires_staff
from core.auth.middleware import SESSION_USER_KEY
from core.auth.sessions import start_session
from core.consent import consent_terms, current_consent, has_consented, record_consent
from core.db.tables import Tenant
from core import hours
from core.hours import ensure_open
from core.interviews.consent_declined import decline
from core.interviews.people import user_for_join_link
from core.interviews.schedule import advance, closed_for_participants, in_tokyo
from core.interviews.senders import sender_of
from core.interviews.tables import Interview, Recording
from core.interviews.completion import complete_received, receive
from core.interviews.upload_expiry import GONE_STATES, refuse_gone, touch
from core.interviews.upload_quota import ensure_room
from core.interviews.uploads import DEFERRED, UploadProblem, append_chunk, create_upload, declare_length, \
    parse_checksum
from core.interviews.web_forms import Form
from core.mail_templates import contact_of
from core.interviews.web_interviews import visible_interview
from core.storage import TenantKey
from core.tenancy import TenantScope, tenant_by_slug
from core.web.blobs import blob_response
from core.web.errors import problem
from core.web.i18n import current_language
from core.web.i18n import gettext as _
from core.web.rendering import page

MEDIA_TYPES = {"webm": "video/webm", "mp4": "video/mp4"}
TUS = {"Tus-Resumable": "1.0.0", "Cache-Control": "no-store"}
PURPOSE = "recording"


def _problem(exc: UploadProblem) -> Response:
    return problem(exc.status, exc.message, headers=TUS)


async def _require_consent(interview: Interview) -> None:
    if not await has_consented(interview.tenant, interview.interviewee, PURPOSE):
        raise UploadProblem(403, _("The interviewee has not consented to recording yet."))


def local_next(slug: str, value: Any) -> str | None:
    """A page of the same tenant to continue at (a live room), never another site."""
    value = str(value or "")
    return value if value.startswith(f"/t/{slug}/") and "//" not in value and "\\" not in value else None


def participant_block(request: Request, interview: Interview) -> tuple[str, Any] | None:
    """Why the interviewee cannot enter `interview` now (see `closed_for_participants`), under the
    settings' room window; None when they can."""
    settings = request.app.state.settings
    return closed_for_participants(interview, hours.now(), timedelta(minutes=settings.room_opens_before_minutes),
                                   timedelta(minutes=settings.room_closes_after_minutes))


CLOSED_REASONS = {
    "cancelled": "This interview was cancelled.",
    "ended": "This interview has ended.",
    "too_late": "The time for this interview is over.",
    "too_early": "The interview room is not open yet.",
    "expired": "This link has expired or is not valid.",
}


async def link_closed_page(request: Request, tenant: Tenant, reason: str, opens_at: Any = None) -> Any:
    """A clear page for a personal link that cannot lead in (410, or 403 before the room opens),
    with the tenant's contact so the candidate knows whom to ask. Never signs anyone in."""
    scope = TenantScope(tenant.id)
    sender = await sender_of(scope)
    return await page(request, "interviews/link_closed.html", status_code=403 if reason == "too_early" else 410,
                      error=_(CLOSED_REASONS[reason]), reason=reason, login_tenant=tenant,
                      opens_at=in_tokyo(opens_at) if opens_at else None,
                      company=tenant.name, contact=await contact_of(scope, sender.address if sender else ""))


async def _join_target(request: Request, tenant: FromPath[str], token: str, interview: str | None) -> Any:
    """(tenant row, interviewee, interview or None) for a usable personal link, or the page that
    says why it cannot lead in."""
    row = await tenant_by_slug(tenant)
    await ensure_open(request, row, "interactive")
    scope = TenantScope(row.id)
    user = await user_for_join_link(scope, token)
    if user is None:
        return await link_closed_page(request, row, "expired")
    found = None
    if interview:
        try:
            found = await scope.get(Interview, UUID(interview))
        except (ValueError, NotFoundException):
            found = None
    if found is not None and str(found.interviewee) == str(user.id):
        blocked = participant_block(request, found)
        if blocked is not None:
            return await link_closed_page(request, row, *blocked)
    return row, user, found


@get("/t/{tenant:str}/join/{token:str}", name="interviews_join", media_type=MediaType.HTML)
async def join_page(request: Request, tenant: FromPath[str], token: FromPath[str],
                    interview: Annotated[str | None, Parameter(max_length=64)] = None,
                    next_page: Annotated[str | None, Parameter(max_length=2000)] = None) -> Any:
    """The page a personal link opens: who invites, for which interview, and one button that signs
    the interviewee in. Opening a link never signs anyone in by itself (a GET can be sent by any
    site: that would let it sign a visitor in as someone else, or out). Outside service hours it
    says when it opens; an expired link, or one for a cancelled or ended interview, or used
    outside the room's window around the slot, shows a page with the tenant's contact."""
    target = await _join_target(request, tenant, token, interview)
    if not isinstance(target, tuple):
        return target
    row, user, found = target
    return await page(request, "interviews/join.html", login_tenant=row, interviewee=user, interview=found,
                      when=in_tokyo(found.starts_at) if found is not None and found.starts_at else None,
                      interview_id=interview or "", next_page=next_page or "", action=request.url.path)


@post("/t/{tenant:str}/join/{token:str}", name="interviews_join_sign_in", media_type=MediaType.HTML)
async def join(request: Request, tenant: FromPath[str], token: FromPath[str], data: Form) -> Any:
    """The join page's button: signs the interviewee in under a new session id (whatever id the
    browser brought is dropped) and leads, through the consent screen, to where the interview
    takes place. The link is checked again: it may have expired since the page opened."""
    interview = str(data.get("interview") or "") or None
    target = await _join_target(request, tenant, token, interview)
    if not isinstance(target, tuple):
        return target
    row, user, found = target
    start_session(request, {SESSION_USER_KEY: str(user.id)})
    await audit.record("auth.join_link_used", tenant_id=row.id, actor=user, ip=audit.client_ip(request))
    destination = f"/t/{row.slug}/interviews/"
    if found is not None:
        entry = await interview_entry(request, row, found)
        destination = f"/t/{row.slug}/interviews/{found.id}/consent" + (f"?next_page={quote(entry)}" if entry else "")
    return Redirect(local_next(row.slug, data.get("next_page")) or destination)


async def interview_entry(request: Request, tenant: Tenant, interview: Interview) -> str | None:
    """Where a participant takes part in this interview, as a plugin enabled for the tenant says
    (the live room for a live interview); None leaves them on the core's recording page."""
    host = request.app.state.plugin_host
    answered = await host.first_for_tenant("mendan_interview_entry", tenant=tenant, interview=interview,
                                           accept=lambda path: isinstance(path, str))
    return f"/t/{tenant.slug}/{answered[1].lstrip('/')}" if answered else None


async def start_upload(request: Request, scope: TenantScope, interview: Interview, data: dict[str, Any]) -> Recording:
    """Create a resumable upload (tus creation) from the JSON `data` (`size`, `sha256`, `filename`,
    `content_type`, `defer_length`, `question_key`) once the interviewee consented to recording,
    and move the interview to in progress. Raises UploadProblem (status, message)."""
    try:
        await _require_consent(interview)
        if str(request.user.id) == str(interview.interviewee) and participant_block(request, interview):
            raise UploadProblem(409, _(CLOSED_REASONS[participant_block(request, interview)[0]]))
        size = None if data.get("defer_length") else int(data.get("size") or 0)
        await ensure_room(scope, request.app.state.settings, max(size or 0, 0))
        rec = await create_upload(
            scope, interview, request.user,
            size=size,
            sha256=str(data.get("sha256", "")).lower(), filename=str(data.get("filename", "")),
            content_type=str(data.get("content_type", "")),
            max_bytes=request.app.state.settings.upload_max_bytes,
            question_key=str(data["question_key"]) if data.get("question_key") else None)
    except (TypeError, ValueError) as exc:
        raise UploadProblem(400, _("The upload request is malformed.")) from exc
    await advance(scope, interview, "in_progress")
    return rec


async def append_from_request(request: Request, scope: TenantScope, tk: TenantKey, upload: Any) -> Any:
    """One tus PATCH into an upload row (a Recording or a bulk import's ImportVideo): the
    request's body is the chunk at `Upload-Offset`, checked by `Upload-Checksum`; an optional
    `Upload-Length` declares a deferred length. Returns the row with its new offset; finishing is
    the caller's. Raises UploadProblem."""
    if request.headers.get("content-type", "") != "application/offset+octet-stream":
        raise UploadProblem(415, _("Send chunks as application/offset+octet-stream."))
    try:
        offset = int(request.headers.get("upload-offset", ""))
        length = int(request.headers["content-length"]) if "content-length" in request.headers else None
    except ValueError as exc:
        raise UploadProblem(400, _("Upload-Offset must be a whole number.")) from exc
    try:
        declared = int(request.headers["upload-length"]) if "upload-length" in request.headers else None
    except ValueError as exc:
        raise UploadProblem(400, _("Upload-Length must be a whole number.")) from exc
    max_bytes = request.app.state.settings.upload_max_bytes
    upload = await append_chunk(scope, request.app.state.storage, tk, upload, offset=offset, length=length,
                                checksum=parse_checksum(request.headers.get("upload-checksum")),
                                body=request.stream(), max_bytes=max_bytes)
    if declared is not None:
        upload = await declare_length(scope, upload, declared, max_bytes)
    return upload


def upload_offset_headers(upload: Any) -> dict[str, str]:
    """The tus HEAD answer's headers for an upload row: how many bytes are in, of what length."""
    length = {"Upload-Defer-Length": "1"} if upload.size == DEFERRED else {"Upload-Length": str(upload.size)}
    return {**TUS, **length, "Upload-Offset": str(upload.upload_offset), "Upload-State": upload.state}


async def receive_chunk(request: Request, scope: TenantScope, tenant: Tenant, interview: Interview,
                        rec: Recording) -> Recording:
    """One tus PATCH of a recording (`append_from_request`) once the interviewee consented; the
    PATCH that brings in the last byte completes the recording (core.interviews.completion:
    received, then checksum, probe, analysis jobs, the hook) and audits it. Of two final PATCHes at
    once one completes it; the other returns the row as stored (tus: the offset, 204). A chunk of
    a deferred-length upload must fit the tenant's storage quota; an abandoned or expired upload
    is gone (410). Raises UploadProblem."""
    store = request.app.state.storage
    await _require_consent(interview)
    refuse_gone(rec)
    # A chunk without Content-Length (chunked) is refused only once the tenant's storage is full.
    coming = request.headers.get("content-length", "")
    more = int(coming) if coming.isdigit() else 1
    if rec.size == DEFERRED and rec.state == "uploading" and more > 0:
        await ensure_room(scope, request.app.state.settings, more)
    tk = store.tenant_key(tenant)
    await touch(scope, rec)
    rec = await append_from_request(request, scope, tk, rec)
    await touch(scope, rec)
    if not await receive(scope, rec):
        # Bytes still missing; or another request completes it: answer with the row as stored.
        return rec if rec.size == DEFERRED or rec.upload_offset != rec.size else await scope.get(Recording, rec.id)
    rec = await complete_received(scope, store, tk, request.app.state.plugin_host, interview, rec)
    if rec.state == "complete":
        await audit.record("recording.completed", tenant_id=scope.tenant_id, actor=request.user,
                           target=str(rec.id), detail={"bytes": rec.size}, ip=audit.client_ip(request))
    return rec


class RecordingController(Controller):
    path = "/interviews/{interview_id:uuid}"

    @get("/consent")
    async def consent_page(self, request: Request, tenant_scope: NamedDependency[TenantScope],
                           tenant_row: NamedDependency[Tenant], interview_id: FromPath[UUID],
                           next_page: Annotated[str | None, Parameter(max_length=2000)] = None) -> Any:
        interview = await visible_interview(tenant_scope, request.user, interview_id)
        text = await current_consent(tenant_scope.tenant_id, PURPOSE)
        agreed = await has_consented(tenant_scope.tenant_id, interview.interviewee, PURPOSE)
        is_interviewee = str(request.user.id) == str(interview.interviewee)
        next_page = (local_next(tenant_row.slug, next_page) or await interview_entry(request, tenant_row, interview)
                     or f"/t/{tenant_row.slug}/interviews/{interview.id}/record")
        if agreed and is_interviewee:  # nothing to ask: straight on into the interview
            return Redirect(next_page)
        return await page(request, "interviews/consent.html", interview=interview, agreed=agreed,
                          consent=text, consent_text=text.text_ja if current_language.get() == "ja" else text.text_en,
                          terms=await consent_terms(tenant_scope.tenant_id), sender=await sender_of(tenant_scope),
                          is_interviewee=is_interviewee, next_page=next_page)

    @post("/consent", media_type=MediaType.HTML)
    async def accept_consent(self, request: Request, tenant_scope: NamedDependency[TenantScope],
                             tenant_row: NamedDependency[Tenant], interview_id: FromPath[UUID], data: Form) -> Any:
        interview = await visible_interview(tenant_scope, request.user, interview_id)
        if str(request.user.id) != str(interview.interviewee):
            raise NotFoundException(_("Only the interviewee can give this consent."))
        text = await current_consent(tenant_scope.tenant_id, PURPOSE)
        if str(data.get("version")) != str(text.version) or data.get("agree") != "yes":
            return Redirect(f"/t/{tenant_row.slug}/interviews/{interview.id}/consent")
        await record_consent(tenant_scope.tenant_id, request.user.id, PURPOSE, text.version,
                             ip=audit.client_ip(request))
        await audit.record("consent.given", tenant_id=tenant_scope.tenant_id, actor=request.user,
                           target=str(interview.id), detail={"purpose": PURPOSE, "version": text.version},
                           ip=audit.client_ip(request))
        return Redirect(local_next(tenant_row.slug, data.get("next_page"))
                        or f"/t/{tenant_row.slug}/interviews/{interview.id}/record")

    @post("/consent/decline", media_type=MediaType.HTML)
    async def decline_consent(self, request: Request, tenant_scope: NamedDependency[TenantScope],
                              tenant_row: NamedDependency[Tenant], interview_id: FromPath[UUID]) -> Any:
        """"I do not agree": no consent is kept, the interview's staff are told, and the
        interviewee sees what happens next."""
        interview = await visible_interview(tenant_scope, request.user, interview_id)
        if str(request.user.id) != str(interview.interviewee):
            raise NotFoundException(_("Only the interviewee can give this consent."))
        await decline(tenant_scope, request.app.state.settings, request.app.state.tasks, tenant_row, interview,
                      request.user, ip=audit.client_ip(request))
        sender = await sender_of(tenant_scope)
        return await page(request, "interviews/consent_declined.html", interview=interview,
                          terms=await consent_terms(tenant_scope.tenant_id), sender=sender)

    @get("/thanks", media_type=MediaType.HTML)
    async def thanks_page(self, request: Request, tenant_scope: NamedDependency[TenantScope],
                          interview_id: FromPath[UUID]) -> Template:
        """Where the live room and the self-interview lead the interviewee at the end (their
        camera and microphone already stopped): thanks, what happens next, whom to ask."""
        interview = await visible_interview(tenant_scope, request.user, interview_id)
        return await page(request, "interviews/thanks.html", interview=interview,
                          terms=await consent_terms(tenant_scope.tenant_id), sender=await sender_of(tenant_scope))

    @get("/record", media_type=MediaType.HTML)
    async def record_page(self, request: Request, tenant_scope: NamedDependency[TenantScope],
                          tenant_row: NamedDependency[Tenant], interview_id: FromPath[UUID]) -> Any:
        interview = await visible_interview(tenant_scope, request.user, interview_id)
        blocked = participant_block(request, interview) if str(request.user.id) == str(interview.interviewee) else None
        if blocked is not None:
            return await link_closed_page(request, tenant_row, *blocked)
        if not await has_consented(tenant_scope.tenant_id, interview.interviewee, PURPOSE):
            return Redirect(f"/t/{tenant_row.slug}/interviews/{interview.id}/consent")
        settings = request.app.state.settings
        return await page(request, "interviews/record.html", interview=interview, when=in_tokyo(interview.starts_at),
                          max_bytes=settings.upload_max_bytes)

    @post("/uploads")
    async def create(self, request: Request, tenant_scope: NamedDependency[TenantScope],
                     tenant_row: NamedDependency[Tenant], interview_id: FromPath[UUID],
                     data: JSONBody[dict[str, Any]]) -> Response:
        interview = await visible_interview(tenant_scope, request.user, interview_id)
        try:
            rec = await start_upload(request, tenant_scope, interview, data)
        except UploadProblem as exc:
            return _problem(exc)
        location = f"/t/{tenant_row.slug}/interviews/{interview.id}/uploads/{rec.id}"
        return Response({"id": str(rec.id), "location": location, "offset": 0}, status_code=201,
                        headers={**TUS, "Location": location, "Upload-Offset": "0"})

    @head("/uploads/{recording_id:uuid}")
    async def offset(self, request: Request, tenant_scope: NamedDependency[TenantScope],
                     interview_id: FromPath[UUID], recording_id: FromPath[UUID]) -> Response[None]:
        rec = await self._recording(request, tenant_scope, interview_id, recording_id)
        if rec.state in GONE_STATES:
            return Response(content=None, status_code=410, headers=TUS)
        return Response(content=None, headers=upload_offset_headers(rec))

    @get("/uploads/{recording_id:uuid}")
    async def status(self, request: Request, tenant_scope: NamedDependency[TenantScope],
                     interview_id: FromPath[UUID], recording_id: FromPath[UUID]) -> Response:
        rec = await self._recording(request, tenant_scope, interview_id, recording_id)
        return Response({"offset": rec.upload_offset, "size": rec.size, "state": rec.state, "error": rec.error},
                        headers=TUS)

    @patch("/uploads/{recording_id:uuid}", request_max_body_size=None)
    async def append(self, request: Request, tenant_scope: NamedDependency[TenantScope],
                     tenant_row: NamedDependency[Tenant], interview_id: FromPath[UUID],
                     recording_id: FromPath[UUID]) -> Response:
        interview = await visible_interview(tenant_scope, request.user, interview_id)
        rec = await self._recording(request, tenant_scope, interview_id, recording_id)
        try:
            rec = await receive_chunk(request, tenant_scope, tenant_row, interview, rec)
        except UploadProblem as exc:
            return _problem(exc)
        return Response(content=None, status_code=204,
                        headers={**TUS, "Upload-Offset": str(rec.upload_offset), "Upload-State": rec.state})

    @get("/recordings/{recording_id:uuid}/media", guards=[requires_staff])
    async def playback(self, request: Request, tenant_scope: NamedDependency[TenantScope],
                       tenant_row: NamedDependency[Tenant], interview_id: FromPath[UUID],
                       recording_id: FromPath[UUID]) -> Response:
        """The decrypted video, streamed, with HTTP Range so the player can seek."""
        rec = await self._recording(request, tenant_scope, interview_id, recording_id)
        if rec.state != "complete":
            raise NotFoundException(_("Recording not found"))
        store = request.app.state.storage
        return await blob_response(request, store, store.tenant_key(tenant_row), rec.blob_key,
                                   media_type=MEDIA_TYPES[rec.container], filename=rec.filename)

    async def _recording(self, request: Request, scope: TenantScope, interview_id: UUID,
                         recording_id: UUID) -> Recording:
        interview = await visible_interview(scope, request.user, interview_id)
        rec = await scope.get(Recording, recording_id)
        if rec.interview != interview.id:
            raise NotFoundException()
        return rec


def join_router() -> Router:
    return Router(path="/", route_handlers=[join_page, join], include_in_schema=False)
