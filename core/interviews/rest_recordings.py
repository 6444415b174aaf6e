"""REST API v1: an interview's recordings (`/api/v1/t/{tenant}/interviews/{id}/recordings`): list,
read (state and probe results), and the resumable upload (tus 1.0.0: core, creation,
checksum, creation-defer-length) with an API token alone.

The upload is the recording page's (core.interviews.uploads through web_recordings'
`start_upload` and `receive_chunk`): the interviewee must have consented to recording, each
chunk carries `Upload-Checksum: sha256 <base64>`, the last one finishes the file (whole-file
SHA-256, the video probe) and starts the analysis.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Request, Response, get, head, patch, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, JSONBody

from core.auth.guards import requires_staff
from core.db.tables import Tenant
from core.interviews.probe import browser_plays
from core.interviews.tables import Interview, Recording
from core.interviews.upload_expiry import GONE_STATES
from core.interviews.uploads import UploadProblem
from core.interviews.web_interviews import visible_interview
from core.interviews.web_recordings import TUS, receive_chunk, start_upload, upload_offset_headers
from core.rest.auth import requires_scope
from core.rest.etags import tagged
from core.rest.problems import ApiError, problem_responses
from core.tenancy import TenantScope
from core.text_input import single_line

# The code of an upload refusal whose status covers one case (the 409s name theirs).
UPLOAD_CODES = {400: "bad_upload", 403: "consent_missing", 409: "upload_conflict", 410: "upload_expired",
                413: "payload_too_large",
                415: "unsupported_media_type", 422: "not_a_video", 460: "checksum_mismatch"}


class Stream(msgspec.Struct):
    """A stream of the file as the probe found it."""

    kind: Annotated[str, msgspec.Meta(examples=["video"])]
    codec: Annotated[str, msgspec.Meta(description="FFmpeg's name", examples=["h264"])]
    width: int | None
    height: int | None


class Probe(msgspec.Struct):
    """What the probe of the finished file found: its container family (webm or mp4), its length
    in seconds, its video stream (size as displayed) and whether browsers play its codec."""

    container: str
    duration_s: float | None
    streams: list[Stream]
    browser_plays: bool


class RecordingOut(msgspec.Struct):
    """One uploaded video. `state`: uploading (bytes `upload_offset` of `size` are in; `size` 0
    while a deferred length is undeclared), received (all bytes in, being checked: complete or
    refused soon), complete (`probe` set), refused (`error` says why), superseded (a retake
    replaced it), abandoned (a live interview was ended before it finished) or expired (no chunk
    for MENDAN_UPLOAD_EXPIRY_HOURS; its chunks were deleted): `error` says why."""

    id: UUID
    interview: UUID
    sequence: int
    question_key: str | None
    state: str
    filename: str
    size: int
    upload_offset: int
    sha256: str
    error: str
    probe: Probe | None
    created_at: datetime
    completed_at: datetime | None
    upload_url: str


class RecordingList(msgspec.Struct):
    """An interview's recordings in the order they were started."""

    items: list[RecordingOut]


class UploadIn(msgspec.Struct, forbid_unknown_fields=True):
    """A new upload: the file's name, its size in bytes and SHA-256 (hex), or `defer_length` for a
    file still being made (each chunk then needs its checksum; the last PATCH declares
    `Upload-Length`). `question_key` ties it to one question (a self-interview's answer)."""

    filename: single_line(1000, examples=["interview.mp4"])
    size: Annotated[int, msgspec.Meta(ge=0, le=2**53)] | None = None
    sha256: Annotated[str, msgspec.Meta(max_length=64, pattern="^[0-9a-fA-F]*$")] = ""
    content_type: single_line(200, examples=["video/mp4"]) = ""
    defer_length: bool = False
    question_key: single_line(200) | None = None


def _upload_url(request: Request, rec: Recording) -> str:
    return f"/api/v1/t/{request.path_params['tenant']}/interviews/{rec.interview}/recordings/{rec.id}/upload"


def recording_out(request: Request, rec: Recording) -> RecordingOut:
    probe = None
    if rec.state == "complete":
        probe = Probe(container=rec.container, duration_s=rec.duration_s, browser_plays=browser_plays(rec.video_codec),
                      streams=[Stream(kind="video", codec=rec.video_codec, width=rec.width, height=rec.height)])
    return RecordingOut(id=rec.id, interview=rec.interview, sequence=rec.sequence, question_key=rec.question_key,
                        state=rec.state, filename=rec.filename, size=rec.size, upload_offset=rec.upload_offset,
                        sha256=rec.sha256 if rec.state == "complete" else "", error=rec.error, probe=probe,
                        created_at=rec.created_at, completed_at=rec.completed_at, upload_url=_upload_url(request, rec))


def _refused(exc: UploadProblem) -> ApiError:
    return ApiError(exc.status, exc.code or UPLOAD_CODES.get(exc.status), exc.message, headers=TUS)


async def _recording(request: Request, scope: TenantScope, interview_id: UUID,
                     recording_id: UUID) -> tuple[Interview, Recording]:
    interview = await visible_interview(scope, request.user, interview_id)
    rec = await scope.get(Recording, recording_id)
    if rec.interview != interview.id:
        raise NotFoundException()
    return interview, rec


@get("/interviews/{interview_id:uuid}/recordings", summary="List an interview's recordings",
     operation_id="listRecordings",
     description="Every recording of the interview, in the order started, with its state and probe results. "
                 "Staff who take part (admins: any); scope `read`.",
     guards=[requires_scope("read"), requires_staff], responses=problem_responses(403))
async def list_recordings(request: Request, tenant_scope: NamedDependency[TenantScope],
                          interview_id: FromPath[UUID]) -> RecordingList:
    interview = await visible_interview(tenant_scope, request.user, interview_id)
    rows = await tenant_scope.objects(Recording).where(Recording.interview == interview.id).order_by(
        Recording.sequence, Recording.created_at)
    return RecordingList(items=[recording_out(request, r) for r in rows])


@get("/interviews/{interview_id:uuid}/recordings/{recording_id:uuid}", summary="Read a recording",
     operation_id="getRecording",
     description="A recording's state, upload progress and, once complete, what the probe found (container, "
                 "duration, video stream). Staff who take part (admins: any); scope `read`.",
     guards=[requires_scope("read"), requires_staff], responses=problem_responses(403))
async def get_recording(request: Request, tenant_scope: NamedDependency[TenantScope], interview_id: FromPath[UUID],
                        recording_id: FromPath[UUID]) -> Response[RecordingOut]:
    _interview, rec = await _recording(request, tenant_scope, interview_id, recording_id)
    return tagged(request, recording_out(request, rec))


@post("/interviews/{interview_id:uuid}/recordings", summary="Start a recording upload",
      operation_id="createRecordingUpload",
      description="Creates a resumable upload (tus creation) and answers 201 with its `Location`; send the bytes "
                  "there with PATCH. Refused until the interviewee consented to recording (403 "
                  "`consent_missing`), for a cancelled or ended interview (409 `interview_cancelled`, "
                  "`interview_ended`), over the size limit (413) or past the tenant's storage quota (413 "
                  "`quota_exceeded`). Staff who take part (admins: any); scope `write`.",
      guards=[requires_scope("write"), requires_staff], responses=problem_responses(400, 403, 409, 413, 422))
async def create_upload(request: Request, tenant_scope: NamedDependency[TenantScope], interview_id: FromPath[UUID],
                        data: JSONBody[UploadIn]) -> Response[RecordingOut]:
    interview = await visible_interview(tenant_scope, request.user, interview_id)
    try:
        rec = await start_upload(request, tenant_scope, interview, msgspec.structs.asdict(data))
    except UploadProblem as exc:
        raise _refused(exc) from None
    location = _upload_url(request, rec)
    return Response(recording_out(request, rec), status_code=201,
                    headers={**TUS, "Location": location, "Upload-Offset": "0"})


@head("/interviews/{interview_id:uuid}/recordings/{recording_id:uuid}/upload", summary="Ask an upload's offset",
      operation_id="getRecordingUploadOffset",
      description="tus HEAD: `Upload-Offset` says how many bytes are in (resume from there), `Upload-Length` the "
                  "size (`Upload-Defer-Length: 1` while undeclared), `Upload-State` the recording's state; 410 for an "
                  "upload that expired or was abandoned. Scope `read`.",
      guards=[requires_scope("read"), requires_staff], responses=problem_responses(403, 410))
async def upload_offset(request: Request, tenant_scope: NamedDependency[TenantScope], interview_id: FromPath[UUID],
                        recording_id: FromPath[UUID]) -> Response[None]:
    _interview, rec = await _recording(request, tenant_scope, interview_id, recording_id)
    if rec.state in GONE_STATES:  # tus: an expired upload is gone
        return Response(content=None, status_code=410, headers=TUS)
    return Response(content=None, headers=upload_offset_headers(rec))


@patch("/interviews/{interview_id:uuid}/recordings/{recording_id:uuid}/upload", summary="Send a chunk",
       operation_id="appendRecordingChunk", request_max_body_size=None, status_code=204,
       description="tus PATCH with `Content-Type: application/offset+octet-stream`, `Upload-Offset` (the server's "
                   "offset, else 409 `offset_mismatch`) and `Upload-Checksum: sha256 <base64 of the chunk's "
                   "digest>` (460 `checksum_mismatch` when damaged: send it again). The last chunk finishes the file: a wrong "
                   "whole-file SHA-256 or a file that is not a playable video is refused (422 `not_a_video`, the "
                   "recording kept as refused with its reason). A chunk of a deferred-length upload past the "
                   "tenant's storage quota: 413 `quota_exceeded`, nothing stored; an expired or abandoned upload: "
                   "410 `upload_expired`. Scope `write`.",
       guards=[requires_scope("write"), requires_staff],
       responses=problem_responses(400, 403, 409, 410, 413, 415, 422))
async def append_chunk(request: Request, tenant_scope: NamedDependency[TenantScope],
                       tenant_row: NamedDependency[Tenant], interview_id: FromPath[UUID],
                       recording_id: FromPath[UUID]) -> Response[None]:
    interview, rec = await _recording(request, tenant_scope, interview_id, recording_id)
    try:
        rec = await receive_chunk(request, tenant_scope, tenant_row, interview, rec)
    except UploadProblem as exc:
        raise _refused(exc) from None
    return Response(content=None, status_code=204,
                    headers={**TUS, "Upload-Offset": str(rec.upload_offset), "Upload-State": rec.state})


API_HANDLERS: list[Any] = [list_recordings, get_recording, create_upload, upload_offset, append_chunk]
