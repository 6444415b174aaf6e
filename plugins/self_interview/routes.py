"""The self-interview's pages and endpoints, under /t/{tenant}/self_interview/.

GET  /{id}                      the interviewee's page: check, practice, the questions (flow.js)
GET  /{id}/state                where the interviewee stands (flow.FlowState as JSON)
GET  /{id}/speech/{key}         the avatar's line for a question: text, audio address, mouth timings
GET  /{id}/speech/{key}/audio   its audio, made on the server (speech_synthesis.spoken_text)
POST /{id}/follow-ups/{key}     generate the follow-up questions of an uploaded answer (once)
POST /{id}/finish               the interviewee finishes; refused until every answer is uploaded
GET  /{id}/review               the interviewer's review, question by question, with the evaluation form
GET  /accommodations            the admin's accommodations per interviewee; POST /accommodations/{user}
GET  /flow.js                   the interviewee page's script (avatar, recorder, upload)
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote
from uuid import UUID

from litestar import MediaType, Request, Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import File, Redirect

from core import audit
from core.auth.guards import requires_admin, requires_staff
from core.consent import has_consented
from core.db.constraints import is_unique_violation, write_transaction
from core.interviews.api import (Form, Interview, QuestionSetVersion, evaluation_of, items_of, link_closed_page,
                                 mark_finished,
                                 participant_block, scores_of, text, transcript_of)
from core.tables import Tenant, User, json_value
from core.tenancy import TenantScope
from core.usage import record_usage
from core.web import i18n
from core.web.i18n import N_
from core.web.i18n import gettext as _
from core.web.problem import problem
from core.web.rendering import page
from plugins.self_interview.flow import (AccommodationProblem, FlowState, Step, accommodation_of, flow_state,
                                         generated_of, set_accommodation, takes_by_key)
from plugins.self_interview.meters import COMPLETED, FOLLOW_UPS
from plugins.self_interview.tables import Accommodation, Finished, GeneratedQuestion

SCRIPT = Path(__file__).parent / "static" / "flow.js"
CONSENT_PURPOSE = "recording"
# An answer's transcript is waited for this long after its upload completed; then the follow-ups
# are generated without it (the generator answers an empty transcript with none or a generic one).
TRANSCRIPT_WAIT_S = 20.0
SPOKEN_LINES = {
    "practice": N_("This is a practice question and is not recorded. Please tell us your name."),
    "thanks": N_("Thank you for your answer."),
}


def language_of(person: User) -> str:
    return person.language if person.language in i18n.LANGUAGES else "ja"


async def _interview(scope: TenantScope, interview_id: UUID) -> Interview:
    interview = await scope.get(Interview, interview_id)
    if interview.kind != "self":
        raise NotFoundException(_("There is no self-interview here."))
    return interview


async def _as_interviewee(request: Request, scope: TenantScope, interview_id: UUID) -> Interview:
    """The interview of the signed-in interviewee; 404 for anyone else, as for another tenant's."""
    interview = await _interview(scope, interview_id)
    if str(request.user.id) != str(interview.interviewee) or interview.state == "cancelled":
        raise NotFoundException(_("There is no self-interview here."))
    return interview


def _may_review(user: User, interview: Interview) -> bool:
    return user.role == "admin" or str(user.id) == str(interview.interviewer) or str(user.id) in {
        str(e) for e in json_value(interview.experts) or []}


@get("/{interview_id:uuid}", name="self_interview_page", media_type=MediaType.HTML)
async def interviewee_page(request: Request, tenant_scope: NamedDependency[TenantScope],
                           tenant_row: NamedDependency[Tenant], interview_id: FromPath[UUID]) -> Any:
    interview = await _interview(tenant_scope, interview_id)
    here = f"/t/{tenant_row.slug}/self_interview/{interview.id}"
    if str(request.user.id) != str(interview.interviewee):
        if _may_review(request.user, interview):
            return Redirect(here + "/review")
        raise NotFoundException(_("There is no self-interview here."))
    blocked = participant_block(request, interview)
    if blocked is not None:
        return await link_closed_page(request, tenant_row, *blocked)
    if not await has_consented(tenant_scope.tenant_id, request.user.id, CONSENT_PURPOSE):
        return Redirect(f"/t/{tenant_row.slug}/interviews/{interview.id}/consent?next_page={quote(here)}")
    state = await flow_state(tenant_scope, interview)
    open_uploads = [str(r.id) for takes in (await takes_by_key(tenant_scope, interview.id)).values()
                    for r in takes if r.state == "uploading"]
    rendered = await page(request, "self_interview/flow.html", interview=interview, here=here, state=state,
                          language=language_of(request.user), open_uploads=open_uploads)
    lines = [s.text for s in state.steps[state.current:]] + [_(text) for text in SPOKEN_LINES.values()]
    rendered.background = BackgroundTask(_voice_ahead, tenant_scope.tenant_id, lines, language_of(request.user))
    return rendered


async def _voice_ahead(tenant_id: Any, lines: list[str], language: str) -> None:
    """Render the lines still to come into the voice cache while the interviewee checks the camera,
    so each question's audio is ready when it is asked. A line that cannot be spoken is skipped:
    asked for, it answers with the reason."""
    from plugins.self_interview.speech_synthesis import SpeechSynthesisError, spoken_text

    for line in lines:
        try:
            await spoken_text(tenant_id, line, language)
        except SpeechSynthesisError:
            continue


@get("/{interview_id:uuid}/state", name="self_interview_state")
async def state_of(request: Request, tenant_scope: NamedDependency[TenantScope],
                   interview_id: FromPath[UUID]) -> dict[str, Any]:
    interview = await _as_interviewee(request, tenant_scope, interview_id)
    return (await flow_state(tenant_scope, interview)).as_json()


def _step(state: FlowState, key: str) -> Step:
    found = next((s for s in state.steps if s.key == key), None)
    if found is None:
        raise NotFoundException(_("There is no such question in this interview."))
    return found


async def _line(scope: TenantScope, interview: Interview, key: str) -> tuple[str, str]:
    """(text, language) the avatar says for `key`: a question of the plan, or a fixed line."""
    person = await scope.get(User, interview.interviewee)
    language = language_of(person)
    if key in SPOKEN_LINES:
        token = i18n.current_language.set(language)
        try:
            return _(SPOKEN_LINES[key]), language
        finally:
            i18n.current_language.reset(token)
    return _step(await flow_state(scope, interview), key).text, language


async def _spoken(scope: TenantScope, line: str, language: str) -> Any:
    """The line as the avatar speaks it, or a 422 problem saying why it cannot (the page then shows
    the subtitles without a voice)."""
    from plugins.self_interview.speech_synthesis import SpeechSynthesisError, spoken_text

    try:
        return await spoken_text(scope.tenant_id, line, language)
    except SpeechSynthesisError as exc:
        return problem(422, str(exc))


@get("/{interview_id:uuid}/speech/{key:str}", name="self_interview_speech")
async def speech(request: Request, tenant_scope: NamedDependency[TenantScope], tenant_row: NamedDependency[Tenant],
                 interview_id: FromPath[UUID], key: FromPath[str]) -> Any:
    """What the avatar says for `key`: its text (the subtitles), the audio's address, its length in
    seconds and the mouth's openness over time ([start_s, end_s, openness 0-1], ...)."""
    interview = await _as_interviewee(request, tenant_scope, interview_id)
    line, language = await _line(tenant_scope, interview, key)
    spoken = await _spoken(tenant_scope, line, language)
    if isinstance(spoken, Response):
        return spoken
    return {"key": key, "text": line, "audio": f"/t/{tenant_row.slug}/self_interview/{interview.id}/speech/{key}/audio",
            "duration_s": spoken.duration_s, "mouth": [list(m) for m in spoken.mouth], "voice": spoken.voice}


@get("/{interview_id:uuid}/speech/{key:str}/audio", name="self_interview_speech_audio")
async def speech_audio(request: Request, tenant_scope: NamedDependency[TenantScope], interview_id: FromPath[UUID],
                       key: FromPath[str]) -> Response:
    interview = await _as_interviewee(request, tenant_scope, interview_id)
    line, language = await _line(tenant_scope, interview, key)
    spoken = await _spoken(tenant_scope, line, language)
    if isinstance(spoken, Response):
        return spoken
    return Response(spoken.audio, media_type=spoken.media_type, headers={"Cache-Control": "private, max-age=3600"})


@post("/{interview_id:uuid}/follow-ups/{key:str}", name="self_interview_follow_ups", status_code=200)
async def make_follow_ups(request: Request, tenant_scope: NamedDependency[TenantScope],
                          interview_id: FromPath[UUID], key: FromPath[str]) -> Response:
    """Generate the follow-up questions of the answer to fixed question `key`, once: asked again,
    it answers with the state as it is. 202 while the answer's transcript is awaited (ask again)."""
    from plugins.self_interview.followups import follow_ups

    interview = await _as_interviewee(request, tenant_scope, interview_id)
    state = await flow_state(tenant_scope, interview)
    step = _step(state, key)
    if step.generated or step.follow_ups == 0 or any(g.source_key == key
                                                     for g in await generated_of(tenant_scope, interview.id)):
        return Response(state.as_json())
    takes = [r for r in (await takes_by_key(tenant_scope, interview.id)).get(key, []) if r.state == "complete"]
    if not takes:
        return problem(409, _("The answer to this question has not been uploaded completely yet."))
    answer = takes[-1]
    stored = await transcript_of(tenant_scope, answer.id)
    waited = (datetime.now(timezone.utc) - (answer.completed_at or datetime.now(timezone.utc))).total_seconds()
    if stored is None and waited < TRANSCRIPT_WAIT_S:
        return Response({"pending": True}, status_code=202)
    person = await tenant_scope.get(User, interview.interviewee)
    made = await follow_ups(tenant_id=tenant_scope.tenant_id, question=step.text, transcript=stored or "",
                            language=language_of(person), limit=step.follow_ups)
    try:
        # All or none, under the unique (interview, key): a concurrent request that stored its
        # follow-ups first wins, and this one answers with those.
        async with write_transaction():
            for n, item in enumerate(made[:step.follow_ups], start=1):
                await tenant_scope.add(GeneratedQuestion(
                    interview=interview.id, key=f"{key}.f{n}", source_key=key, source_recording=answer.id,
                    text=item.text, reason=item.reason, provider=item.provider,
                    source_phrase=item.source_phrase or ""))
    except Exception as exc:
        if not is_unique_violation(exc):
            raise
        return Response((await flow_state(tenant_scope, interview)).as_json())
    if made:
        await record_usage(tenant_scope.tenant_id, FOLLOW_UPS, len(made[:step.follow_ups]),
                           act=f"{interview.id}:{key}")
        # Voiced now, while the avatar's acknowledgement plays, so the question is asked at once.
        await _voice_ahead(tenant_scope.tenant_id, [item.text for item in made[:step.follow_ups]],
                           language_of(person))
    await audit.record("self_interview.follow_ups_generated", tenant_id=tenant_scope.tenant_id, actor=request.user,
                       target=str(interview.id), detail={"question": key, "count": len(made[:step.follow_ups])},
                       ip=audit.client_ip(request))
    return Response((await flow_state(tenant_scope, interview)).as_json())


@post("/{interview_id:uuid}/finish", name="self_interview_finish", status_code=200)
async def finish(request: Request, tenant_scope: NamedDependency[TenantScope], tenant_row: NamedDependency[Tenant],
                 interview_id: FromPath[UUID]) -> Response:
    """The interview is over only when every question has an answer uploaded in full (spec 4.2.2 (1))."""
    interview = await _as_interviewee(request, tenant_scope, interview_id)
    state = await flow_state(tenant_scope, interview)
    if state.current < len(state.steps):
        return problem(409, _("Answer every question before finishing."), done=False)
    if not state.uploads_complete:
        return problem(409, _("Your answers are still being sent; the interview can be finished once every "
                              "answer has arrived."), done=False)
    await mark_finished(tenant_scope, interview)  # no new recordings after this, retakes included
    if not state.finished and await _claim_finish(tenant_scope, interview.id):
        await record_usage(tenant_scope.tenant_id, COMPLETED, 1, act=str(interview.id))
        await audit.record("self_interview.finished", tenant_id=tenant_scope.tenant_id, actor=request.user,
                           target=str(interview.id), detail={"answers": len(state.steps)},
                           ip=audit.client_ip(request))
    return Response({"done": True})


async def _claim_finish(scope: TenantScope, interview_id: UUID) -> bool:
    """Store the interview's Finished row; False when a concurrent finish stored it first (the
    unique index on its interview), so only one request bills and audits."""
    try:
        await scope.add(Finished(interview=interview_id))
    except Exception as exc:
        if not is_unique_violation(exc):
            raise
        return False
    return True


@get("/{interview_id:uuid}/review", name="self_interview_review", media_type=MediaType.HTML,
     guards=[requires_staff])
async def review(request: Request, tenant_scope: NamedDependency[TenantScope], tenant_row: NamedDependency[Tenant],
                 interview_id: FromPath[UUID]) -> Any:
    """Question by question: the question (fixed, or generated with its reason), the answer's
    video and transcript; the evaluation form of a live interview beside them."""
    interview = await _interview(tenant_scope, interview_id)
    if not _may_review(request.user, interview):
        raise NotFoundException(_("There is no self-interview here."))
    state = await flow_state(tenant_scope, interview)
    takes = await takes_by_key(tenant_scope, interview.id)
    answers = []
    for step in state.steps:
        # Earlier takes are superseded by the last one (kept, but out of analysis): counted here.
        uploaded = [r for r in takes.get(step.key, []) if r.state in ("complete", "superseded")]
        answer = next((r for r in reversed(uploaded) if r.state == "complete"), None)
        stored = await transcript_of(tenant_scope, answer.id) if answer else None
        answers.append({"step": step, "recording": answer, "earlier_takes": max(0, len(uploaded) - 1),
                        "transcript": " ".join(s.text for s in stored.segments) if stored else None})
    version = await tenant_scope.get(QuestionSetVersion, interview.question_set_version)
    mine = await evaluation_of(tenant_scope, interview, request.user)
    return await page(request, "self_interview/review.html", interview=interview, answers=answers,
                      finished=state.finished, items=items_of(version), scores=scores_of(mine) if mine else {},
                      comment=mine.comment if mine else "", locked=bool(mine and mine.locked))


@get("/accommodations", name="self_interview_accommodations", media_type=MediaType.HTML, guards=[requires_admin])
async def accommodations(request: Request, tenant_scope: NamedDependency[TenantScope]) -> Any:
    return await _accommodations_page(request, tenant_scope)


async def _accommodations_page(request: Request, scope: TenantScope, status_code: int = 200,
                               error: str | None = None) -> Any:
    people = await scope.objects(User).where(User.role == "interviewee").order_by(User.display_name)
    rows = {str(a.interviewee): a for a in await scope.objects(Accommodation)}
    return await page(request, "self_interview/accommodations.html", status_code=status_code, people=people,
                      rows=rows, error=error)


@post("/accommodations/{user_id:uuid}", name="self_interview_accommodation_set", media_type=MediaType.HTML,
      guards=[requires_admin])
async def accommodation_set(request: Request, tenant_scope: NamedDependency[TenantScope],
                            tenant_row: NamedDependency[Tenant], user_id: FromPath[UUID], data: Form) -> Any:
    person = await tenant_scope.get(User, user_id)
    if person.role != "interviewee":
        raise NotFoundException(_("There is no such interviewee."))
    before = await accommodation_of(tenant_scope, person.id)
    try:
        factor = float(text(data, "extra_time_factor") or 1.0)
        retakes = int(text(data, "extra_retakes") or 0)
        await set_accommodation(tenant_scope, person, request.user, factor, retakes)
    except ValueError as exc:
        message = str(exc) if isinstance(exc, AccommodationProblem) else _("Check the values you entered.")
        return await _accommodations_page(request, tenant_scope, status_code=400, error=message)
    await audit.record("self_interview.accommodation_set", tenant_id=tenant_scope.tenant_id, actor=request.user,
                       target=str(person.id), ip=audit.client_ip(request),
                       detail={"extra_time_factor": [before[0], factor], "extra_retakes": [before[1], retakes]})
    return Redirect(f"/t/{tenant_row.slug}/self_interview/accommodations")


@get("/flow.js", name="self_interview_script", include_in_schema=False)
async def flow_script() -> File:
    return File(path=SCRIPT, media_type="text/javascript", content_disposition_type="inline")


HANDLERS = [interviewee_page, state_of, speech, speech_audio, make_follow_ups, finish, review, accommodations,
            accommodation_set, flow_script]
