"""REST API v1: interviews (`/api/v1/t/{tenant}/interviews`): list, read, set up, move, cancel,
and the participants' personal links.

The same rules and mails as the interview pages (core.interviews.schedule, notifications): a
slot in the past, outside the service hours or overlapping another interview of a participant
is refused with a problem whose `code` names the rule. Admins set up, move and cancel; other
staff see the interviews they take part in.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from litestar import Request, Response, get, patch, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, JSONBody, QueryParameter

from core import audit
from core.auth.guards import requires_admin, requires_staff
from core.db.tables import Tenant, User
from core.interviews.notifications import join_link_lifetime, notify, personal_link
from core.interviews.question_sets import latest_version
from core.interviews.schedule import MAX_DURATION_MINUTES, InterviewOverlap, InterviewProblem, cancel, experts_of, \
    reschedule, schedule_interview, window_of
from core.interviews.tables import INTERVIEW_KINDS, INTERVIEW_STATES, Interview, QuestionSet, QuestionSetVersion
from core.interviews.web_interviews import service_state, visible_interview, visible_interviews
from core.rest.auth import requires_scope
from core.rest.etags import require_if_match, tagged
from core.rest.pagination import CursorParam, Limit, in_states, paginate, parse_time
from core.rest.problems import ApiError, FieldError, problem_responses
from core.text_input import single_line
from core.tenancy import TenantScope
from core.web.i18n import gettext as _

AwareTime = Annotated[datetime, msgspec.Meta(tz=True, description="RFC 3339 with its offset",
                                             examples=["2026-12-01T10:00:00+09:00"])]


class Participant(msgspec.Struct):
    id: UUID
    display_name: str


class InterviewLinks(msgspec.Struct):
    """Where the interview's parts are read (paths under this API)."""

    self: str
    recordings: str
    evaluations: str
    features: str


class InterviewOut(msgspec.Struct):
    """An interview. A live one has a slot (`starts_at` for `duration_minutes`); a self-interview a
    window from `starts_at` until `ends_at`. States: scheduled, in_progress, recorded, evaluated,
    analysed, cancelled."""

    id: UUID
    title: str
    kind: Annotated[str, msgspec.Meta(examples=["live"])]
    state: Annotated[str, msgspec.Meta(examples=["scheduled"])]
    starts_at: datetime
    ends_at: datetime
    duration_minutes: int
    interviewee: Participant
    interviewer: Participant | None
    experts: list[Participant]
    question_set: UUID
    question_set_version: UUID
    question_set_version_number: int
    finished_at: datetime | None
    created_at: datetime
    links: InterviewLinks


class InterviewPage(msgspec.Struct):
    """One page of interviews, oldest first; `next_cursor` is null on the last page."""

    items: list[InterviewOut]
    next_cursor: str | None


class InterviewIn(msgspec.Struct, forbid_unknown_fields=True):
    """A new interview. Give `question_set_version`, or `question_set` for its newest version. A
    live interview needs an `interviewer`; a self-interview an `ends_at` (at most 31 days after
    `starts_at`). `allow_overlap` keeps a slot that overlaps another interview of a participant."""

    kind: Literal["live", "self"]
    starts_at: AwareTime
    interviewee: UUID
    interviewer: UUID | None = None
    experts: list[UUID] = []
    question_set: UUID | None = None
    question_set_version: UUID | None = None
    title: single_line() = ""
    duration_minutes: Annotated[int, msgspec.Meta(ge=1, le=MAX_DURATION_MINUTES)] = 60
    ends_at: AwareTime | None = None
    allow_overlap: bool = False


class MoveIn(msgspec.Struct, forbid_unknown_fields=True):
    """A scheduled interview's new start (its length stays)."""

    starts_at: AwareTime
    allow_overlap: bool = False


class PersonalLink(msgspec.Struct):
    """How a participant takes part: the interviewee's new personal sign-in link (valid until
    `expires_at`; it signs in whoever opens it, so hand it to that person only), staff's page."""

    person: UUID
    role: str
    url: str
    expires_at: datetime | None


class PersonalLinks(msgspec.Struct):
    items: list[PersonalLink]




def interview_path(request: Request, interview_id: Any) -> str:
    return f"/api/v1/t/{request.path_params['tenant']}/interviews/{interview_id}"


async def interviews_out(request: Request, scope: TenantScope, rows: list[Interview]) -> list[InterviewOut]:
    """The API's view of `rows`, their people and versions read in two queries."""
    people_ids = {str(p) for i in rows for p in (i.interviewee, i.interviewer, *experts_of(i)) if p}
    people = {str(u.id): u for u in await scope.objects(User).where(User.id.is_in(list(people_ids)))} \
        if people_ids else {}
    version_ids = list({i.question_set_version for i in rows})
    versions = {v.id: v for v in await scope.objects(QuestionSetVersion).where(
        QuestionSetVersion.id.is_in(version_ids))} if version_ids else {}

    def person(user_id: Any) -> Participant | None:
        user = people.get(str(user_id)) if user_id else None
        return Participant(id=user.id, display_name=user.display_name) if user else None

    out = []
    for i in rows:
        base = interview_path(request, i.id)
        version = versions[i.question_set_version]
        out.append(InterviewOut(
            id=i.id, title=i.title, kind=i.kind, state=i.state, starts_at=i.starts_at, ends_at=window_of(i)[1],
            duration_minutes=i.duration_minutes, interviewee=person(i.interviewee),
            interviewer=person(i.interviewer), experts=[p for p in map(person, experts_of(i)) if p],
            question_set=version.question_set, question_set_version=version.id,
            question_set_version_number=version.number, finished_at=i.finished_at, created_at=i.created_at,
            links=InterviewLinks(self=base, recordings=f"{base}/recordings", evaluations=f"{base}/evaluations",
                                 features=f"{base}/features")))
    return out


async def interview_out(request: Request, scope: TenantScope, interview: Interview) -> InterviewOut:
    return (await interviews_out(request, scope, [interview]))[0]


def _utc(value: datetime | None, field: str) -> datetime | None:
    """`value` in UTC; a year the calendar arithmetic cannot reach (far past or future) is a 422."""
    if value is None:
        return None
    if not 1970 <= value.year <= 9000:
        message = _("Enter the date and time as YYYY-MM-DD HH:MM.")
        raise ApiError(422, "invalid_date", message, errors=[FieldError(field, message)])
    return value.astimezone(timezone.utc)


def refused(exc: InterviewProblem) -> ApiError:
    """A rule of the pages as a problem: an overlap or a change of a state that allows none is a
    409, any other (past, service hours, people, window) a 422 naming the field."""
    if isinstance(exc, InterviewOverlap) or exc.code == "not_scheduled":
        return ApiError(409, exc.code, str(exc))
    return ApiError(422, exc.code, str(exc), errors=[FieldError(exc.field or "", str(exc))])


async def _version_for(scope: TenantScope, data: InterviewIn) -> Any:
    """The version asked for (`question_set_version`, or the newest of `question_set`); 422 else."""
    try:
        if data.question_set_version is not None:
            return (await scope.get(QuestionSetVersion, data.question_set_version)).id
        if data.question_set is not None:
            version = await latest_version(scope, (await scope.get(QuestionSet, data.question_set)).id)
            if version is not None:
                return version.id
    except NotFoundException:
        pass
    field = "question_set_version" if data.question_set_version is not None else "question_set"
    message = _("Choose a question set.")
    raise ApiError(422, "invalid_question_set", message, errors=[FieldError(field, message)])


StateFilter = Annotated[str | None, QueryParameter(name="state", max_length=16,
                                              description="Only this state: " + ", ".join(INTERVIEW_STATES))]
KindFilter = Annotated[str | None, QueryParameter(name="kind", max_length=8,
                                             description="Only this kind: live or self")]
StartsFrom = Annotated[str | None, QueryParameter(name="starts_from", max_length=40,
                                             description="ISO 8601 time; only interviews starting at or after it.")]
StartsBefore = Annotated[str | None, QueryParameter(name="starts_before", max_length=40,
                                               description="ISO 8601 time; only interviews starting before it.")]


@get("/interviews", summary="List interviews", operation_id="listInterviews",
     description="Interviews, oldest first, a page at a time; filter by `state`, `kind` and start time. Admins see "
                 "every interview, interviewers and experts those they take part in. Scope `read`.",
     guards=[requires_scope("read"), requires_staff], responses=problem_responses(403, 422))
async def list_interviews(request: Request, tenant_scope: NamedDependency[TenantScope], limit: Limit = 20,
                          cursor: CursorParam = None, state_filter: StateFilter = None, kind: KindFilter = None,
                          starts_from: StartsFrom = None, starts_before: StartsBefore = None) -> InterviewPage:
    query = in_states(visible_interviews(tenant_scope, request.user), Interview.state, state_filter, INTERVIEW_STATES)
    query = in_states(query, Interview.kind, kind, INTERVIEW_KINDS)
    after, before = parse_time(starts_from, "starts_from"), parse_time(starts_before, "starts_before")
    if after is not None:
        query = query.where(Interview.starts_at >= after)
    if before is not None:
        query = query.where(Interview.starts_at < before)
    rows, next_cursor = await paginate(query, Interview, limit=limit, cursor=cursor)
    return InterviewPage(items=await interviews_out(request, tenant_scope, rows), next_cursor=next_cursor)


@get("/interviews/{interview_id:uuid}", summary="Read an interview", operation_id="getInterview",
     description="An interview: state, times, participants, question set version and links to its recordings, "
                 "evaluations and features, with its `ETag` (needed in `If-Match` to move or cancel it). Staff "
                 "who take part (admins: any); scope `read`.",
     guards=[requires_scope("read"), requires_staff], responses=problem_responses(403))
async def get_interview(request: Request, tenant_scope: NamedDependency[TenantScope],
                        interview_id: FromPath[UUID]) -> Response[InterviewOut]:
    interview = await visible_interview(tenant_scope, request.user, interview_id)
    return tagged(request, await interview_out(request, tenant_scope, interview))


@post("/interviews", summary="Set up an interview", operation_id="createInterview",
      description="Schedules a live interview or opens a self-interview and mails the participants their "
                  "personal links, as the set-up page does. Refused: a start in the past (422 `in_the_past`), "
                  "outside the service hours (422 `outside_service_hours`, the detail names the next open slot), "
                  "an overlap with another interview of a participant (409 `interview_overlap`; send "
                  "`allow_overlap` to keep both). Send an `Idempotency-Key` to make retries safe. Admins; "
                  "scope `write`.",
      guards=[requires_scope("write"), requires_admin], responses=problem_responses(403, 409, 422))
async def create_interview(request: Request, tenant_scope: NamedDependency[TenantScope],
                           tenant_row: NamedDependency[Tenant], data: JSONBody[InterviewIn]) -> Response[InterviewOut]:
    version_id = await _version_for(tenant_scope, data)
    starts_at, ends_at = _utc(data.starts_at, "starts_at"), _utc(data.ends_at, "ends_at")
    try:
        interview = await schedule_interview(
            tenant_scope, kind=data.kind, starts_at=starts_at, interviewee_id=data.interviewee,
            interviewer_id=data.interviewer, expert_ids=list(data.experts), version_id=version_id, title=data.title,
            duration_minutes=data.duration_minutes, service=await service_state(request, tenant_row, starts_at),
            allow_overlap=data.allow_overlap, ends_at=ends_at)
    except InterviewProblem as exc:
        raise refused(exc) from None
    await notify(tenant_scope, request.app.state.settings, request.app.state.tasks, tenant_row, interview,
                 "scheduled")
    await audit.record("interview.scheduled", tenant_id=tenant_scope.tenant_id, actor=request.user,
                       target=str(interview.id), ip=audit.client_ip(request))
    return tagged(request, await interview_out(request, tenant_scope, interview), status_code=201,
                  headers={"Location": interview_path(request, interview.id)})


@patch("/interviews/{interview_id:uuid}", summary="Move an interview", operation_id="rescheduleInterview",
       description="Moves a scheduled interview to a new start, under the same rules as setting one up, and mails "
                   "the participants. Requires `If-Match` with the interview's `ETag` (428 without, 412 when it "
                   "changed). 409 `not_scheduled` for an interview that is no longer scheduled. Admins; scope "
                   "`write`.",
       guards=[requires_scope("write"), requires_admin], responses=problem_responses(403, 409, 412, 422, 428))
async def move_interview(request: Request, tenant_scope: NamedDependency[TenantScope],
                         tenant_row: NamedDependency[Tenant], interview_id: FromPath[UUID],
                         data: JSONBody[MoveIn]) -> Response[InterviewOut]:
    interview = await tenant_scope.get(Interview, interview_id)
    require_if_match(request, await interview_out(request, tenant_scope, interview))
    starts_at = _utc(data.starts_at, "starts_at")
    try:
        await reschedule(tenant_scope, interview, starts_at,
                         service=await service_state(request, tenant_row, starts_at), allow_overlap=data.allow_overlap)
    except InterviewProblem as exc:
        raise refused(exc) from None
    await notify(tenant_scope, request.app.state.settings, request.app.state.tasks, tenant_row, interview,
                 "rescheduled")
    await audit.record("interview.rescheduled", tenant_id=tenant_scope.tenant_id, actor=request.user,
                       target=str(interview.id), ip=audit.client_ip(request))
    return tagged(request, await interview_out(request, tenant_scope, interview))


@post("/interviews/{interview_id:uuid}/cancel", summary="Cancel an interview", operation_id="cancelInterview",
      status_code=200,
      description="Cancels a scheduled interview and mails the participants. Requires `If-Match` with the "
                  "interview's `ETag`. 409 `not_scheduled` when it is no longer scheduled. Admins; scope `write`.",
      guards=[requires_scope("write"), requires_admin], responses=problem_responses(403, 409, 412, 428))
async def cancel_interview(request: Request, tenant_scope: NamedDependency[TenantScope],
                           tenant_row: NamedDependency[Tenant], interview_id: FromPath[UUID]) -> Response[InterviewOut]:
    interview = await tenant_scope.get(Interview, interview_id)
    require_if_match(request, await interview_out(request, tenant_scope, interview))
    try:
        await cancel(tenant_scope, interview)
    except InterviewProblem as exc:
        raise refused(exc) from None
    await notify(tenant_scope, request.app.state.settings, request.app.state.tasks, tenant_row, interview,
                 "cancelled")
    await audit.record("interview.cancelled", tenant_id=tenant_scope.tenant_id, actor=request.user,
                       target=str(interview.id), ip=audit.client_ip(request))
    return tagged(request, await interview_out(request, tenant_scope, interview))


@post("/interviews/{interview_id:uuid}/links", summary="Issue the participants' personal links",
      operation_id="issueInterviewLinks", status_code=201,
      description="A new personal link for the interviewee (it signs them in without a password, so hand it to "
                  "them only; the links mailed before stay valid) and the page of each staff participant, as the "
                  "mails carry them. 409 `interview_cancelled` for a cancelled interview. Admins; scope `write`.",
      guards=[requires_scope("write"), requires_admin], responses=problem_responses(403, 409))
async def issue_links(request: Request, tenant_scope: NamedDependency[TenantScope],
                      tenant_row: NamedDependency[Tenant], interview_id: FromPath[UUID]) -> PersonalLinks:
    interview = await tenant_scope.get(Interview, interview_id)
    if interview.state == "cancelled":
        raise ApiError(409, "interview_cancelled", _("This interview was cancelled."))
    ids = [p for p in (interview.interviewee, interview.interviewer, *experts_of(interview)) if p]
    people = await tenant_scope.objects(User).where(User.id.is_in(ids) & (User.active == True))  # noqa: E712
    settings = request.app.state.settings
    links = []
    for person in sorted(people, key=lambda p: p.role != "interviewee"):
        url = await personal_link(tenant_scope, settings, tenant_row, interview, person)
        expires = datetime.now(timezone.utc) + join_link_lifetime(interview) \
            if person.role == "interviewee" else None
        links.append(PersonalLink(person=person.id, role=person.role, url=url, expires_at=expires))
    await audit.record("interview.links_issued", tenant_id=tenant_scope.tenant_id, actor=request.user,
                       target=str(interview.id), ip=audit.client_ip(request))
    return PersonalLinks(items=links)


API_HANDLERS = [list_interviews, get_interview, create_interview, move_interview, cancel_interview, issue_links]
