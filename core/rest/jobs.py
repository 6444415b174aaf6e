"""REST API v1: the tenant's background jobs (`/api/v1/t/{tenant}/jobs`), their state and progress."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Request, Response, Router, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from core.auth.guards import requires_staff
from core.db.tables import Job
from core.hours import service_guard
from core.job_heartbeat import shown_state
from core.rest.auth import requires_scope
from core.rest.etags import tagged
from core.rest.pagination import CreatedAfter, CreatedBefore, CursorParam, Limit, StateParam, created_between, \
    in_states, paginate
from core.rest.problems import problem_responses
from core.rest.routers import tenant_api_router
from core.tenancy import TenantScope
from core.job_texts import message_text
from core.web.i18n import current_language

JOB_STATES = ("queued", "running", "done", "failed")


class JobState(msgspec.Struct):
    """A background job: `progress` in percent (0-100), `message` in the request's language."""

    id: UUID
    actor: Annotated[str, msgspec.Meta(examples=["ai_model.build"], description="{plugin or domain}.{task}")]
    state: Annotated[str, msgspec.Meta(examples=["running"], description=(
        "queued, running, lost (running, but its worker stopped sending heartbeats: it will be retried), "
        "done or failed"))]
    progress: Annotated[int, msgspec.Meta(ge=0, le=100, examples=[40])]
    message: str
    error: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: Annotated[datetime | None, msgspec.Meta(
        description="when the worker running the job last said it was alive (every few seconds)")] = None


class JobPage(msgspec.Struct):
    """One page of jobs, oldest first; `next_cursor` is null on the last page."""

    items: list[JobState]
    next_cursor: str | None


def job_state_of(job: Job) -> JobState:
    # Actors report English msgids; the API answers them in the request's language.
    message = message_text(job.message, current_language.get())
    return JobState(id=job.id, actor=job.actor, state=shown_state(job), progress=max(0, min(100, job.progress or 0)),
                    message=message, error=job.error or "", created_at=job.created_at, started_at=job.started_at,
                    finished_at=job.finished_at, heartbeat_at=job.heartbeat_at)


@get("/jobs", summary="List jobs", operation_id="listJobs",
     description="The tenant's background jobs, oldest first; filter by `state` and creation time. "
                 "Staff; scope `read`.",
     guards=[requires_scope("read"), requires_staff], responses=problem_responses(403, 422))
async def list_jobs(tenant_scope: NamedDependency[TenantScope], limit: Limit = 20, cursor: CursorParam = None,
                    state_filter: StateParam = None,
                    created_after: CreatedAfter = None, created_before: CreatedBefore = None) -> JobPage:
    query = created_between(in_states(tenant_scope.objects(Job), Job.state, state_filter, JOB_STATES), Job,
                            created_after, created_before)
    rows, next_cursor = await paginate(query, Job, limit=limit, cursor=cursor)
    return JobPage(items=[job_state_of(job) for job in rows], next_cursor=next_cursor)


@get("/jobs/{job_id:uuid}", summary="Read a job's state and progress", operation_id="getJob",
     description="One job with its `ETag`; poll it (with `If-None-Match`, answered 304 while unchanged) until "
                 "`state` is done or failed. Staff; scope `read`.",
     guards=[requires_scope("read"), requires_staff], responses=problem_responses(403))
async def get_job(request: Request, tenant_scope: NamedDependency[TenantScope],
                  job_id: FromPath[UUID]) -> Response[JobState]:
    return tagged(request, job_state_of(await tenant_scope.get(Job, job_id)))


def jobs_api_router() -> Router:
    """Jobs run round the clock (batch hours), like their pages."""
    return tenant_api_router([list_jobs, get_job], tags=["jobs"], guards=[service_guard("batch")])
