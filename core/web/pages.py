"""The core's own pages: landing, language switch, tenant home, job list and job progress,
the tenant home and jobs (the admin's analysis page is the interviews domain's)."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any, AsyncIterator
from uuid import UUID

from litestar import Request, Router, get
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.params import FromPath, Parameter
from litestar.response import Redirect, ServerSentEvent, Template
from litestar.response.sse import ServerSentEventMessage

from core.auth.guards import requires_staff
from core.auth.routes import _safe_next
from core.db.tables import Job, Tenant
from core.hours import service_guard
from core.job_heartbeat import shown_state
from core.job_texts import job_texts
from core.tenancy import TenantScope, tenant_guard
from core.web.home import home_sections
from core.web.i18n import LANGUAGES, current_language
from core.web.job_names import job_name
from core.web.middleware import LANGUAGE_COOKIE
from core.web.rendering import page
from core.rest.pagination import PageNumber

PAGE_SIZE = 25
FINISHED = ("done", "failed")
JOB_STATES = ("queued", "running", "done", "failed")


@get("/")
async def landing(request: Request) -> Any:
    user = request.scope.get("user")
    if user is not None:
        if user.tenant is None:
            return Redirect("/ops/")
        tenant = await Tenant.objects().where(Tenant.id == user.tenant).first()
        return Redirect(f"/t/{tenant.slug}/")
    return await page(request, "index.html")


@get("/lang/{code:str}")
async def switch_language(request: Request, code: FromPath[str]) -> Redirect:
    target = _safe_next(request.query_params.get("next"), "/")
    if code not in LANGUAGES:
        return Redirect(target)
    return Redirect(target, cookies=[Cookie(key=LANGUAGE_COOKIE, value=code, max_age=365 * 86400, samesite="lax")])


@get("/t/{tenant:str}/", guards=[tenant_guard, service_guard("interactive")])
async def tenant_home(request: Request) -> Template:
    sections = await home_sections(request.app.state.plugin_host, request.state.get("tenant"), request.user,
                                   current_language.get())
    return await page(request, "tenant_home.html", sections=sections)


# Jobs are staff business: an interviewee sees neither the list nor any job's progress.
@get("/t/{tenant:str}/jobs", guards=[tenant_guard, requires_staff, service_guard("batch")])
async def job_list(request: Request, tenant_scope: NamedDependency[TenantScope], page_number: PageNumber = 1,
                   job_state: Annotated[str, Parameter(max_length=16, description="Only jobs in this state.")] = ""
                   ) -> Template:
    page_number = max(1, page_number)
    query = tenant_scope.objects(Job)
    if job_state in JOB_STATES:
        query = query.where(Job.state == job_state)
    jobs = await query.order_by(Job.created_at, ascending=False).limit(PAGE_SIZE + 1).offset(
        (page_number - 1) * PAGE_SIZE
    )
    host, language = request.app.state.plugin_host, current_language.get()
    return await page(request, "jobs.html", jobs=jobs[:PAGE_SIZE], page_number=page_number,
                      has_next=len(jobs) > PAGE_SIZE, state_filter=job_state if job_state in JOB_STATES else "",
                      names={job.actor: job_name(host, job.actor, language) for job in jobs})


@get("/t/{tenant:str}/jobs/{job_id:uuid}", guards=[tenant_guard, requires_staff, service_guard("batch")])
async def job_page(request: Request, tenant_scope: NamedDependency[TenantScope], job_id: FromPath[UUID]) -> Template:
    job = await tenant_scope.get(Job, job_id)
    language = current_language.get()
    return await page(request, "job.html", job=job, name=job_name(request.app.state.plugin_host, job.actor, language))


def _job_state(job: Job, language: str) -> dict[str, Any]:
    return {"state": shown_state(job), "progress": job.progress, **job_texts(job.message, job.error, language)}


@get("/t/{tenant:str}/jobs/{job_id:uuid}/events", guards=[tenant_guard, requires_staff])
async def job_events(tenant_scope: NamedDependency[TenantScope], job_id: FromPath[UUID]) -> ServerSentEvent:
    """Progress as server-sent events, until the job is done or failed; "lost" while a running
    job's worker has stopped stamping it (core/job_heartbeat.py)."""
    await tenant_scope.get(Job, job_id)
    language = current_language.get()

    async def stream() -> AsyncIterator[ServerSentEventMessage]:
        last = None
        while True:
            job = await tenant_scope.get(Job, job_id)
            state = _job_state(job, language)
            if state != last:
                yield ServerSentEventMessage(data=json.dumps(state), event="progress")
                last = state
            if job.state in FINISHED:
                return
            await asyncio.sleep(0.5)

    return ServerSentEvent(stream())


def pages_router() -> Router:
    return Router(
        path="/",
        route_handlers=[landing, switch_language, tenant_home, job_list, job_page, job_events],
        include_in_schema=False,
    )
