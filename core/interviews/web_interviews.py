"""Interview pages: list, set-up, moving and cancelling (with mail), the result page,
evaluations and locking."""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from litestar import MediaType, Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from core import audit
from core.auth.guards import requires_admin, requires_login, requires_staff
from core.db.tables import Tenant, User
from core.interviews.analysis_state import analysis_state, failure_reason
from core.interviews.consent_declined import declined_at
from core.interviews.evaluations import EvaluationProblem, awaiting_evaluation, evaluation_of, evaluator_role, \
    lock_evaluations, may_see_scores, save_evaluation, scores_of
from core.interviews.notifications import notify
from core.interviews.panels import panels_for
from core.interviews.people_search import email_in, person_id, person_label
from core.interviews.probe import browser_plays
from core.interviews.question_sets import items_of, questions_of
from core.interviews.schedule import InterviewOverlap, InterviewProblem, advance, cancel, experts_of, in_tokyo, may_see, reschedule, \
    schedule_interview, tokyo_to_utc, visible_interviews, window_of
from core.interviews.tables import Evaluation, Interview, QuestionSet, QuestionSetVersion, Recording
from core.interviews.web_forms import PAGE_SIZE, Form, many, page_window, text
from core.tenancy import TenantScope
from core.web.flash import flash
from core.web.problem import problem, wants_html
from core.web.i18n import N_, current_language, gettext as _
from core.web.job_names import job_name
from core.web.rendering import page
from core.rest.pagination import PageNumber


def state_label(state: str) -> str:
    return {"scheduled": _("Scheduled"), "in_progress": _("In progress"), "recorded": _("Recorded"),
            "evaluated": _("Evaluated"), "analysed": _("Analysed"), "cancelled": _("Cancelled")}.get(state, state)


def guest_state_label(state: str) -> str:
    """The state as the interviewee sees it: whether it is still to come, done or cancelled, never
    how far the company's evaluation and analysis have got."""
    return {"scheduled": _("Scheduled"), "in_progress": _("In progress"),
            "cancelled": _("Cancelled")}.get(state, _("Completed"))


async def visible_interview(scope: TenantScope, user: User, interview_id: UUID) -> Interview:
    """The interview, or 404 for one the user takes no part in (as for another tenant's)."""
    interview = await scope.get(Interview, interview_id)
    if not may_see(user, interview):
        raise NotFoundException()
    return interview


async def _people(scope: TenantScope, ids: Any) -> dict[str, User]:
    """The users a page names, by id string: only those (never the whole tenant)."""
    wanted = sorted({str(i) for i in ids if i})
    return {str(u.id): u for u in await scope.objects(User).where(User.id.is_in(wanted))} if wanted else {}


async def _experts(scope: TenantScope, data: dict[str, Any]) -> list[Any]:
    """The experts picked (hidden ids) plus those typed as e-mail addresses, separated by commas
    or line ends (the form without JavaScript). Raises InterviewProblem naming an unknown address."""
    found = many(data, "experts")
    for typed in (t for t in re.split(r"[,\n、]", text(data, "experts_typed")) if t.strip()):
        user_id = await person_id(scope, None, typed)
        if user_id is None:
            raise InterviewProblem(_("Nobody in this tenant has the e-mail address %(email)s.")
                                   % {"email": email_in(typed)}, code="invalid_person", field="experts")
        found.append(user_id)
    return found


async def service_state(request: Request, tenant: Tenant, at: Any) -> Any:
    """The tenant's calendar state at `at` (None where the app has no calendar: open all hours)."""
    calendar = request.app.state.get("service_calendar")
    return await calendar.service_state(tenant, at) if calendar is not None else None


async def _setup_page(request: Request, scope: TenantScope, status_code: int = 200, error: str | None = None,
                      form: dict[str, Any] | None = None, overlap: bool = False) -> Template:
    form = form or {}
    chosen = await _people(scope, [form.get("interviewee"), form.get("interviewer"), *many(form, "experts")])
    sets = await scope.objects(QuestionSet).order_by(QuestionSet.name)
    versions = await scope.objects(QuestionSetVersion).order_by(QuestionSetVersion.number, ascending=False)
    latest: dict[str, QuestionSetVersion] = {}
    for v in versions:
        latest.setdefault(str(v.question_set), v)
    choices = [(latest[str(s.id)], s) for s in sets if str(s.id) in latest]
    return await page(request, "interviews/interview_new.html", status_code=status_code, chosen=chosen,
                      versions=choices, error=error, form=form, overlap=overlap, person_label=person_label,
                      expert_ids=many(form, "experts"))


async def _analysis_context(request: Request, scope: TenantScope, interview: Interview) -> dict[str, Any]:
    """What the analysis-state fragment shows: the state, its jobs named in words, why one failed."""
    analysis = await analysis_state(scope, interview.id)
    host, language = request.app.state.plugin_host, current_language.get()
    return {"analysis": analysis, "failure_reason": failure_reason,
            "job_names": {job.actor: job_name(host, job.actor, language) for job in analysis.jobs}}


class InterviewController(Controller):
    path = "/interviews"
    guards = [requires_login]

    @get("/")
    async def list_interviews(self, request: Request, tenant_scope: NamedDependency[TenantScope],
                              page_number: PageNumber = 1) -> Template:
        query = visible_interviews(tenant_scope, request.user)
        limit, offset = page_window(page_number)
        rows = await query.order_by(Interview.starts_at, ascending=False).limit(limit).offset(offset)
        return await page(request, "interviews/interviews.html", interviews=rows[:PAGE_SIZE],
                          people=await _people(tenant_scope, [i.interviewee for i in rows[:PAGE_SIZE]]),
                          page_number=max(1, page_number),
                          has_next=len(rows) > PAGE_SIZE, in_tokyo=in_tokyo,
                          state_label=guest_state_label if request.user.role == "interviewee" else state_label)

    @get("/to-evaluate", guards=[requires_staff])
    async def to_evaluate(self, request: Request, tenant_scope: NamedDependency[TenantScope],
                          page_number: PageNumber = 1) -> Template:
        """The signed-in expert's queue: interviews held, assigned to them, not yet evaluated."""
        limit, offset = page_window(page_number)
        rows, total = await awaiting_evaluation(tenant_scope, request.user, limit=limit, offset=offset)
        return await page(request, "interviews/to_evaluate.html", interviews=rows[:PAGE_SIZE], total=total,
                          people=await _people(tenant_scope, [i.interviewee for i in rows[:PAGE_SIZE]]),
                          page_number=max(1, page_number),
                          has_next=len(rows) > PAGE_SIZE, state_label=state_label, in_tokyo=in_tokyo)

    @get("/new", guards=[requires_admin])
    async def new_interview(self, request: Request, tenant_scope: NamedDependency[TenantScope]) -> Template:
        return await _setup_page(request, tenant_scope)

    @post("/", guards=[requires_admin], media_type=MediaType.HTML)
    async def create_interview(self, request: Request, tenant_scope: NamedDependency[TenantScope],
                               tenant_row: NamedDependency[Tenant], data: Form) -> Any:
        try:
            starts_at = tokyo_to_utc(text(data, "starts_at"))
            ends_at = tokyo_to_utc(text(data, "ends_at")) if text(data, "ends_at") else None
            interview = await schedule_interview(
                tenant_scope, kind=text(data, "kind"), starts_at=starts_at,
                interviewee_id=await person_id(tenant_scope, text(data, "interviewee"),
                                               text(data, "interviewee_typed")),
                interviewer_id=await person_id(tenant_scope, text(data, "interviewer"),
                                               text(data, "interviewer_typed")),
                expert_ids=await _experts(tenant_scope, data), version_id=text(data, "version"),
                title=text(data, "title"),
                duration_minutes=int(text(data, "duration_minutes") or 60),
                service=await service_state(request, tenant_row, starts_at),
                allow_overlap=text(data, "allow_overlap") == "1", ends_at=ends_at)
        except InterviewOverlap as exc:
            return await _setup_page(request, tenant_scope, status_code=409, error=str(exc), form=data, overlap=True)
        except (InterviewProblem, ValueError) as exc:
            message = str(exc) if isinstance(exc, InterviewProblem) else _("Check the values you entered.")
            return await _setup_page(request, tenant_scope, status_code=400, error=message, form=data)
        except NotFoundException:
            return await _setup_page(request, tenant_scope, status_code=400,
                                     error=_("Choose a question set."), form=data)
        await notify(tenant_scope, request.app.state.settings, request.app.state.tasks, tenant_row, interview,
                     "scheduled")
        await audit.record("interview.scheduled", tenant_id=tenant_scope.tenant_id, actor=request.user,
                           target=str(interview.id), ip=audit.client_ip(request))
        flash(request, N_("The interview was scheduled; the invitations are being sent by mail."))
        return Redirect(f"/t/{tenant_row.slug}/interviews/{interview.id}")

    @get("/{interview_id:uuid}")
    async def interview_page(self, request: Request, tenant_scope: NamedDependency[TenantScope],
                             tenant_row: NamedDependency[Tenant], interview_id: FromPath[UUID]) -> Template:
        interview = await visible_interview(tenant_scope, request.user, interview_id)
        return await _interview_page(request, tenant_scope, tenant_row, interview)

    @get("/{interview_id:uuid}/analysis-state", guards=[requires_staff])
    async def analysis_fragment(self, request: Request, tenant_scope: NamedDependency[TenantScope],
                                tenant_row: NamedDependency[Tenant], interview_id: FromPath[UUID]) -> Template:
        """The analysis state alone (static/analysis_state.js refreshes the interview page with it)."""
        interview = await visible_interview(tenant_scope, request.user, interview_id)
        return Template(template_name="interviews/analysis_state.html", media_type=MediaType.HTML,
                        context={"tenant": tenant_row, "interview": interview,
                                 **await _analysis_context(request, tenant_scope, interview)})

    @post("/{interview_id:uuid}/reschedule", guards=[requires_admin], media_type=MediaType.HTML)
    async def move_interview(self, request: Request, tenant_scope: NamedDependency[TenantScope],
                             tenant_row: NamedDependency[Tenant], interview_id: FromPath[UUID], data: Form) -> Any:
        interview = await tenant_scope.get(Interview, interview_id)
        try:
            starts_at = tokyo_to_utc(text(data, "starts_at"))
            await reschedule(tenant_scope, interview, starts_at,
                             service=await service_state(request, tenant_row, starts_at),
                             allow_overlap=text(data, "allow_overlap") == "1")
        except InterviewProblem as exc:
            return await _refused(request, tenant_scope, tenant_row, interview, str(exc),
                                  409 if isinstance(exc, InterviewOverlap) else 400,
                                  typed={"starts_at": text(data, "starts_at")})
        await notify(tenant_scope, request.app.state.settings, request.app.state.tasks, tenant_row, interview,
                     "rescheduled")
        await audit.record("interview.rescheduled", tenant_id=tenant_scope.tenant_id, actor=request.user,
                           target=str(interview.id), ip=audit.client_ip(request))
        flash(request, N_("The interview was moved; the participants are being told by mail."))
        return Redirect(f"/t/{tenant_row.slug}/interviews/{interview.id}")

    @post("/{interview_id:uuid}/cancel", guards=[requires_admin], media_type=MediaType.HTML)
    async def cancel_interview(self, request: Request, tenant_scope: NamedDependency[TenantScope],
                               tenant_row: NamedDependency[Tenant], interview_id: FromPath[UUID]) -> Any:
        interview = await tenant_scope.get(Interview, interview_id)
        try:
            await cancel(tenant_scope, interview)
        except InterviewProblem as exc:
            return await _refused(request, tenant_scope, tenant_row, interview, str(exc), 409)
        await notify(tenant_scope, request.app.state.settings, request.app.state.tasks, tenant_row, interview,
                     "cancelled")
        await audit.record("interview.cancelled", tenant_id=tenant_scope.tenant_id, actor=request.user,
                           target=str(interview.id), ip=audit.client_ip(request))
        flash(request, N_("The interview was cancelled; the participants are being told by mail."))
        return Redirect(f"/t/{tenant_row.slug}/interviews/{interview.id}")

    @post("/{interview_id:uuid}/start")
    async def start_interview(self, request: Request, tenant_scope: NamedDependency[TenantScope],
                              tenant_row: NamedDependency[Tenant], interview_id: FromPath[UUID]) -> Redirect:
        interview = await visible_interview(tenant_scope, request.user, interview_id)
        if request.user.role != "interviewee":
            await advance(tenant_scope, interview, "in_progress")
        return Redirect(f"/t/{tenant_row.slug}/interviews/{interview.id}")

    @post("/{interview_id:uuid}/evaluation", media_type=MediaType.HTML)
    async def evaluate(self, request: Request, tenant_scope: NamedDependency[TenantScope],
                       tenant_row: NamedDependency[Tenant], interview_id: FromPath[UUID], data: Form) -> Any:
        interview = await visible_interview(tenant_scope, request.user, interview_id)
        scores = {k[len("score_"):]: v for k, v in data.items() if k.startswith("score_")}
        try:
            await save_evaluation(tenant_scope, interview, request.user, scores, text(data, "comment"))
        except EvaluationProblem as exc:
            return await _refused(request, tenant_scope, tenant_row, interview, str(exc), 400,
                                  typed={"scores": scores, "comment": text(data, "comment")})
        await audit.record("evaluation.saved", tenant_id=tenant_scope.tenant_id, actor=request.user,
                           target=str(interview.id), ip=audit.client_ip(request))
        flash(request, N_("Your evaluation was saved."))
        return Redirect(f"/t/{tenant_row.slug}/interviews/{interview.id}")

    @post("/{interview_id:uuid}/lock", guards=[requires_admin])
    async def lock(self, request: Request, tenant_scope: NamedDependency[TenantScope],
                   tenant_row: NamedDependency[Tenant], interview_id: FromPath[UUID]) -> Redirect:
        interview = await tenant_scope.get(Interview, interview_id)
        count = await lock_evaluations(tenant_scope, interview)
        await audit.record("evaluation.locked", tenant_id=tenant_scope.tenant_id, actor=request.user,
                           target=str(interview.id), detail={"count": count}, ip=audit.client_ip(request))
        flash(request, N_("The evaluations were locked."))
        return Redirect(f"/t/{tenant_row.slug}/interviews/{interview.id}")


async def _interview_page(request: Request, scope: TenantScope, tenant_row: Tenant, interview: Interview, *,
                          status_code: int = 200, error: str | None = None,
                          typed: dict[str, Any] | None = None) -> Template:
    """The interview's page for the signed-in user (the interviewee's own simpler one); after a
    refused form, with `error` and what was `typed` (`starts_at`, or `scores` and `comment`)."""
    version = await scope.get(QuestionSetVersion, interview.question_set_version)
    recordings = await scope.objects(Recording).where(Recording.interview == interview.id).order_by(
        Recording.created_at)
    if request.user.role == "interviewee":
        return await page(request, "interviews/interview_guest.html", status_code=status_code, error=error,
                          interview=interview, when=in_tokyo(interview.starts_at),
                          until=in_tokyo(window_of(interview)[1]),
                          received=sum(r.state == "complete" for r in recordings), state_label=guest_state_label)
    mine = await evaluation_of(scope, interview, request.user)
    # Experts score blind: until their own is saved, they see no one else's scores.
    scores_hidden = not await may_see_scores(scope, request.user, interview)
    evaluations = [] if scores_hidden else await scope.objects(Evaluation).where(Evaluation.interview == interview.id)
    return await page(
        request, "interviews/interview.html", status_code=status_code, interview=interview,
        when=in_tokyo(interview.starts_at), until=in_tokyo(window_of(interview)[1]), version=version,
        questions=questions_of(version), items=items_of(version), recordings=recordings, browser_plays=browser_plays,
        evaluations=evaluations, scores_of=scores_of,
        people=await _people(scope, [interview.interviewee, interview.interviewer, *experts_of(interview),
                                     *(e.evaluator for e in evaluations)]),
        experts=experts_of(interview), mine=mine, my_role=evaluator_role(request.user, interview),
        scores_hidden=scores_hidden,
        panels=await panels_for(request, tenant_row, interview, scores_hidden=scores_hidden), state_label=state_label,
        **await _analysis_context(request, scope, interview),
        declined=await declined_at(scope, interview), error=error, typed=typed or {})


async def _refused(request: Request, scope: TenantScope, tenant_row: Tenant, interview: Interview, message: str,
                   status: int, typed: dict[str, Any] | None = None) -> Any:
    """A refused form on the interview page: the page again with `message` and what was typed
    (never a message carried in the URL, which anyone could write), or problem JSON for an API client."""
    if wants_html(request):
        return await _interview_page(request, scope, tenant_row, interview, status_code=status, error=message,
                                     typed=typed)
    return problem(status, message)
