"""Admin pages for bulk imports of past interviews (core.interviews.import_run):

GET  /imports/                    past imports with their state, and the form for a new one
POST /imports/                    a CSV with the consent declaration: kept, then checked on its page
GET  /imports/{id}                the check's report (what would be imported, every problem in
                                  Japanese and English), the videos to upload, the confirmation
POST /imports/{id}/uploads        a resumable upload (tus creation, JSON `filename`, `size`, `sha256`)
                                  of a video the CSV names (static/import_videos.js)
HEAD /imports/{id}/uploads/{u}    its offset, to resume after a dropped connection or a reload
PATCH /imports/{id}/uploads/{u}   one chunk with its checksum; the last one checks the video
POST /imports/{id}/confirm        a clean check is imported by the job `core.import_interviews`

The upload is the recording page's tus (core.interviews.uploads, web_recordings'
`append_from_request`), into an ImportVideo instead of a Recording.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, MediaType, Request, Response, get, head, patch, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, JSONBody, Parameter
from litestar.response import Redirect, Template

from core import audit
from core.auth.guards import requires_admin
from core.interviews.import_check import OPTIONAL_COLUMNS, REQUIRED_COLUMNS
from core.csv_input import REQUEST_MAX_BYTES as CSV_REQUEST_MAX_BYTES
from core.db.tables import Job, Tenant
from core.interviews.import_run import ImportProblem, check_staged, confirm_import, create_import, \
    finish_video_upload, start_video_upload, video_states
from core.interviews.schedule import in_tokyo
from core.interviews.tables import ImportVideo, InterviewImport
from core.interviews.uploads import UploadProblem
from core.interviews.web_recordings import TUS, append_from_request, upload_offset_headers
from core.interviews.web_forms import Upload
from core.tenancy import TenantScope
from core.web.i18n import N_
from core.web.i18n import gettext as _
from core.web.problem import problem
from core.web.rendering import page

STATE_LABELS = {"checked": N_("waiting for videos and confirmation"), "queued": N_("queued"),
                "running": N_("running"), "done": N_("interviews imported"), "failed": N_("failed")}
NOTICES = {"kept": N_("The file was kept. Upload its videos, then confirm the import."),
           "confirmed": N_("The import was confirmed and runs as a job; its progress is shown below.")}


async def _video(scope: TenantScope, import_id: UUID, video_id: UUID) -> tuple[InterviewImport, ImportVideo]:
    imp = await scope.get(InterviewImport, import_id)
    video = await scope.get(ImportVideo, video_id)
    if video.interview_import != imp.id:
        raise NotFoundException()
    return imp, video


async def _list_page(request: Request, scope: TenantScope, status_code: int = 200, error: str | None = None) -> Template:
    imports = await scope.objects(InterviewImport).order_by(InterviewImport.created_at, ascending=False).limit(100)
    return await page(request, "interviews/imports.html", status_code=status_code, imports=imports, error=error,
                      state_label=lambda state: _(STATE_LABELS.get(state, state)),
                      columns=(*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS))


async def _detail_page(request: Request, scope: TenantScope, imp: InterviewImport, status_code: int = 200,
                       error: str | None = None, notice: str = "") -> Template:
    check = await check_staged(scope, imp) if imp.state == "checked" else None
    wanted = sorted({row.video for row in check.rows}) if check is not None else []
    job = await scope.objects(Job).where(Job.id == imp.job).first() if imp.job else None
    return await page(request, "interviews/import.html", status_code=status_code, imp=imp, check=check,
                      videos=await video_states(scope, imp) if check is not None else {},
                      wanted=wanted, job=job,
                      error=error, notice=_(NOTICES[notice]) if notice in NOTICES else "",
                      state_label=_(STATE_LABELS.get(imp.state, imp.state)),
                      max_bytes=request.app.state.settings.upload_max_bytes, in_tokyo=in_tokyo)


class ImportController(Controller):
    path = "/imports"
    guards = [requires_admin]

    @get("/")
    async def list_imports(self, request: Request, tenant_scope: NamedDependency[TenantScope]) -> Template:
        return await _list_page(request, tenant_scope)

    # Room for the largest CSV `read_csv` takes and the form around it: a larger one is told so
    # by the check's report rather than cut off by the server's default request limit.
    @post("/", media_type=MediaType.HTML, request_max_body_size=CSV_REQUEST_MAX_BYTES)
    async def new_import(self, request: Request, tenant_scope: NamedDependency[TenantScope], data: Upload) -> Any:
        upload = data.get("file")
        content = await upload.read() if upload is not None and hasattr(upload, "read") else b""
        if not content:
            return await _list_page(request, tenant_scope, 400, _("Choose the CSV file to import."))
        if str(data.get("consent_declared", "")) != "1":
            return await _list_page(request, tenant_scope, 400, _(
                "Declare that consent to recording and to training the AI model was obtained, "
                "and say how (the consent source)."))
        try:
            imp = await create_import(tenant_scope, data=content, filename=getattr(upload, "filename", "") or "",
                                      consent_source=str(data.get("consent_source", "")), created_by=request.user)
        except ImportProblem as exc:
            return await _list_page(request, tenant_scope, 400, str(exc))
        await audit.record("interviews.import_created", tenant_id=tenant_scope.tenant_id, actor=request.user,
                           target=str(imp.id), detail={"filename": imp.filename,
                                                       "consent_source": imp.consent_source},
                           ip=audit.client_ip(request))
        return Redirect(f"/t/{request.path_params['tenant']}/imports/{imp.id}?notice=kept")

    @get("/{import_id:uuid}")
    async def show_import(self, request: Request, tenant_scope: NamedDependency[TenantScope],
                          import_id: FromPath[UUID], notice: Annotated[str, Parameter(max_length=64)] = "") -> Template:
        imp = await tenant_scope.get(InterviewImport, import_id)
        return await _detail_page(request, tenant_scope, imp, notice=notice)

    @post("/{import_id:uuid}/uploads")
    async def create_upload(self, request: Request, tenant_scope: NamedDependency[TenantScope],
                            import_id: FromPath[UUID], data: JSONBody[dict[str, Any]]) -> Response:
        imp = await tenant_scope.get(InterviewImport, import_id)
        try:
            video = await start_video_upload(
                tenant_scope, imp, name=str(data.get("filename", "")), size=int(data.get("size") or 0),
                sha256=str(data.get("sha256", "")).lower(), max_bytes=request.app.state.settings.upload_max_bytes)
        except ImportProblem as exc:
            return problem(409 if imp.state != "checked" else 400, str(exc), headers=TUS)
        except UploadProblem as exc:
            return problem(exc.status, exc.message, headers=TUS)
        except (TypeError, ValueError):
            return problem(400, _("The upload request is malformed."), headers=TUS)
        location = f"/t/{request.path_params['tenant']}/imports/{imp.id}/uploads/{video.id}"
        return Response({"id": str(video.id), "location": location, "offset": 0}, status_code=201,
                        headers={**TUS, "Location": location, "Upload-Offset": "0"})

    @head("/{import_id:uuid}/uploads/{video_id:uuid}")
    async def upload_offset(self, tenant_scope: NamedDependency[TenantScope], import_id: FromPath[UUID],
                            video_id: FromPath[UUID]) -> Response[None]:
        _imp, video = await _video(tenant_scope, import_id, video_id)
        return Response(content=None, headers=upload_offset_headers(video))

    @patch("/{import_id:uuid}/uploads/{video_id:uuid}", request_max_body_size=None)
    async def append(self, request: Request, tenant_scope: NamedDependency[TenantScope],
                     tenant_row: NamedDependency[Tenant], import_id: FromPath[UUID],
                     video_id: FromPath[UUID]) -> Response:
        imp, video = await _video(tenant_scope, import_id, video_id)
        try:
            if imp.state != "checked":
                raise UploadProblem(409, _("This import has already been confirmed."))
            video = await append_from_request(request, tenant_scope, request.app.state.storage.tenant_key(tenant_row),
                                              video)
            if video.upload_offset == video.size:
                video = await finish_video_upload(tenant_scope, imp, video)
                await audit.record("interviews.import_video_staged", tenant_id=tenant_scope.tenant_id,
                                   actor=request.user, target=str(imp.id), detail={"video": video.name},
                                   ip=audit.client_ip(request))
        except UploadProblem as exc:
            return problem(exc.status, exc.message, headers=TUS)
        return Response(content=None, status_code=204,
                        headers={**TUS, "Upload-Offset": str(video.upload_offset), "Upload-State": video.state})

    @post("/{import_id:uuid}/confirm", media_type=MediaType.HTML)
    async def confirm(self, request: Request, tenant_scope: NamedDependency[TenantScope],
                      import_id: FromPath[UUID]) -> Any:
        imp = await tenant_scope.get(InterviewImport, import_id)
        try:
            await confirm_import(tenant_scope, imp, request.user, ip=audit.client_ip(request))
        except ImportProblem as exc:
            return await _detail_page(request, tenant_scope, imp, status_code=409 if imp.state != "checked" else 400,
                                      error=str(exc))
        return Redirect(f"/t/{request.path_params['tenant']}/imports/{imp.id}?notice=confirmed")
