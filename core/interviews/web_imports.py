"""Admin pages for bulk imports of past interviews (core.interviews.import_run):

GET  /imports/                    past imports with their state, and the form for a new one
POST /imports/                    a CSV with the consent declaration: kept, then checked on its page
GET  /imports/{id}                the check's report (what would be imported, every problem in
                                  Japanese and English), the videos to upload, the confirmation
POST /imports/{id}/videos?name=N  one video, its bytes as the request body (static/import_videos.js)
POST /imports/{id}/confirm        a clean check is imported by the job `core.import_interviews`
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from core import audit
from core.auth.guards import requires_admin
from core.interviews.import_check import OPTIONAL_COLUMNS, REQUIRED_COLUMNS
from core.interviews.import_run import ImportProblem, check_staged, confirm_import, create_import, stage_video, \
    videos_of
from core.interviews.schedule import in_tokyo
from core.interviews.tables import InterviewImport
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


async def _list_page(request: Request, scope: TenantScope, status_code: int = 200, error: str | None = None) -> Template:
    imports = await scope.objects(InterviewImport).order_by(InterviewImport.created_at, ascending=False).limit(100)
    return await page(request, "interviews/imports.html", status_code=status_code, imports=imports, error=error,
                      state_label=lambda state: _(STATE_LABELS.get(state, state)),
                      columns=(*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS))


async def _detail_page(request: Request, scope: TenantScope, imp: InterviewImport, status_code: int = 200,
                       error: str | None = None, notice: str = "") -> Template:
    check = await check_staged(scope, imp) if imp.state == "checked" else None
    staged = videos_of(imp)
    wanted = sorted({row.video for row in check.rows}) if check is not None else []
    return await page(request, "interviews/import.html", status_code=status_code, imp=imp, check=check,
                      staged=staged, wanted=wanted, error=error, notice=_(NOTICES[notice]) if notice in NOTICES else "",
                      state_label=_(STATE_LABELS.get(imp.state, imp.state)),
                      max_bytes=request.app.state.settings.upload_max_bytes, in_tokyo=in_tokyo)


class ImportController(Controller):
    path = "/imports"
    guards = [requires_admin]

    @get("/")
    async def list_imports(self, request: Request, tenant_scope: NamedDependency[TenantScope]) -> Template:
        return await _list_page(request, tenant_scope)

    @post("/", media_type=MediaType.HTML)
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
                          import_id: FromPath[UUID], notice: FromQuery[str] = "") -> Template:
        imp = await tenant_scope.get(InterviewImport, import_id)
        return await _detail_page(request, tenant_scope, imp, notice=notice)

    @post("/{import_id:uuid}/videos", request_max_body_size=None)
    async def upload_video(self, request: Request, tenant_scope: NamedDependency[TenantScope],
                           import_id: FromPath[UUID], name: FromQuery[str] = "") -> Response:
        imp = await tenant_scope.get(InterviewImport, import_id)
        try:
            await stage_video(tenant_scope, imp, name, request.stream(),
                              max_bytes=request.app.state.settings.upload_max_bytes)
        except ImportProblem as exc:
            return problem(409 if imp.state != "checked" else 400, str(exc))
        await audit.record("interviews.import_video_staged", tenant_id=tenant_scope.tenant_id, actor=request.user,
                           target=str(imp.id), detail={"video": name}, ip=audit.client_ip(request))
        return Response({"name": name, "staged": True}, status_code=201)

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
