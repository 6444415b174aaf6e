"""The live room's pages and endpoints, under /t/{tenant}/live_interview/.

GET  /{id}             the camera/microphone check, then the room (both people)
POST /{id}/evaluation  the interviewer saves the evaluation during or after the interview
GET  /{id}/status      how far the recording upload is, and who is still uploading how much
POST /{id}/end         the interviewer ends the interview: once the upload is complete, or
                       (`?anyway=1`, after confirming) giving up on uploads that stopped
GET  /room.js          the room's script
WS   /{id}/signal      signalling (plugins/live_interview/signalling.py)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote
from uuid import UUID

from litestar import MediaType, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import ClientException, NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import File, Redirect

from core import audit
from core.consent import has_consented
from core.interviews.api import (EvaluationProblem, Form, Interview, QuestionSetVersion, abandon_unfinished,
                                 describe_upload, evaluation_of, in_tokyo, items_of, link_closed_page,
                                 participant_block, questions_of, save_evaluation, scores_of, text,
                                 unfinished_uploads)
from core.tables import Tenant
from core.tenancy import TenantScope
from core.usage import record_usage
from core.web.problem import problem
from core.web.i18n import gettext as _
from core.web.rendering import page
from plugins.live_interview.meters import INTERVIEWS_HELD
from plugins.live_interview.room import CONSENT_PURPOSE, log_event, open_segments, room_role, upload_state
from plugins.live_interview.signalling import HUB, signal

SCRIPT = Path(__file__).parent / "static" / "room.js"


async def _interview_for(request: Request, scope: TenantScope, interview_id: UUID) -> tuple[Interview, str]:
    """The interview and the user's role in its room; 404 for anyone else, as for another tenant's."""
    interview = await scope.get(Interview, interview_id)
    role = room_role(request.user, interview)
    if role is None:
        raise NotFoundException(_("There is no live room for you here."))
    return interview, role


@get("/{interview_id:uuid}", name="live_interview_room", media_type=MediaType.HTML)
async def room_page(request: Request, tenant_scope: NamedDependency[TenantScope],
                    tenant_row: NamedDependency[Tenant], interview_id: FromPath[UUID]) -> Any:
    found = await tenant_scope.get(Interview, interview_id)
    if str(request.user.id) == str(found.interviewee) and found.kind == "live":
        blocked = participant_block(request, found)
        if blocked is not None:  # cancelled, ended, or outside the room's window around the slot
            return await link_closed_page(request, tenant_row, *blocked)
    interview, role = await _interview_for(request, tenant_scope, interview_id)
    here = f"/t/{tenant_row.slug}/live_interview/{interview.id}"
    if role == "interviewee" and not await has_consented(tenant_scope.tenant_id, request.user.id, CONSENT_PURPOSE):
        return Redirect(f"/t/{tenant_row.slug}/interviews/{interview.id}/consent?next_page={quote(here)}")
    version = await tenant_scope.get(QuestionSetVersion, interview.question_set_version)
    mine = await evaluation_of(tenant_scope, interview, request.user) if role == "interviewer" else None
    return await page(
        request, "live_interview/room.html", interview=interview, role=role, when=in_tokyo(interview.starts_at),
        questions=questions_of(version) if role == "interviewer" else [],
        items=items_of(version) if role == "interviewer" else [],
        scores=scores_of(mine) if mine else {}, comment=mine.comment if mine else "",
        locked=bool(mine and mine.locked), here=here,
        open_segments=await open_segments(tenant_scope, interview.id, request.user) if role == "interviewee" else [],
    )


@post("/{interview_id:uuid}/evaluation", name="live_interview_evaluation", status_code=200)
async def evaluate(request: Request, tenant_scope: NamedDependency[TenantScope], interview_id: FromPath[UUID],
                   data: Form) -> Response:
    interview, role = await _interview_for(request, tenant_scope, interview_id)
    if role != "interviewer":
        raise NotFoundException(_("There is no live room for you here."))
    scores = {k[len("score_"):]: v for k, v in data.items() if k.startswith("score_")}
    try:
        await save_evaluation(tenant_scope, interview, request.user, scores, text(data, "comment"))
    except EvaluationProblem as exc:
        raise ClientException(str(exc)) from exc
    await audit.record("evaluation.saved", tenant_id=tenant_scope.tenant_id, actor=request.user,
                       target=str(interview.id), detail={"from": "live_interview"}, ip=audit.client_ip(request))
    return Response({"saved": True, "message": _("The evaluation was saved.")})


@get("/{interview_id:uuid}/status", name="live_interview_status")
async def status(request: Request, tenant_scope: NamedDependency[TenantScope],
                 interview_id: FromPath[UUID]) -> dict[str, Any]:
    """The upload as the server holds it; `uploads` the unfinished ones (who, bytes received, of
    what size, whether still making progress)."""
    interview, _role = await _interview_for(request, tenant_scope, interview_id)
    state = await upload_state(tenant_scope, interview.id)
    unfinished = await unfinished_uploads(tenant_scope, interview.id,
                                          request.app.state.settings.upload_progress_seconds)
    return {"interview_state": interview.state, "complete": state.complete, "unfinished": state.unfinished,
            "bytes": state.bytes_received, "done": state.done, "uploads": [u.as_json() for u in unfinished]}


@post("/{interview_id:uuid}/end", name="live_interview_end", status_code=200)
async def end(request: Request, tenant_scope: NamedDependency[TenantScope], tenant_row: NamedDependency[Tenant],
              interview_id: FromPath[UUID], anyway: FromQuery[bool] = False) -> Response:
    """Spec 4.2.2 (1): the interview is not over before the recording's upload is complete. An
    upload still making progress is waited for (409, `waiting`: the page asks again); one that
    stopped, or nothing recorded at all, holds the end only until the interviewer confirms
    (`anyway`): the unfinished uploads are then abandoned, each with its reason."""
    interview, role = await _interview_for(request, tenant_scope, interview_id)
    if role != "interviewer":
        raise NotFoundException(_("There is no live room for you here."))
    state = await upload_state(tenant_scope, interview.id)
    unfinished = await unfinished_uploads(tenant_scope, interview.id,
                                          request.app.state.settings.upload_progress_seconds)
    # An upload that holds nothing and has stopped loses nothing when given up.
    holding = [u for u in unfinished if u.active or u.received > 0]
    if (holding or state.joining or not state.complete) and not anyway:
        # A segment whose last chunk is in is being joined (core.interviews.completion): complete in a moment.
        waiting = bool(state.joining) or any(u.active for u in holding)
        who = "; ".join(describe_upload(u) for u in holding)
        if waiting and not holding:
            message = _("The recording has arrived and is being put together; a moment, please.")
        elif waiting:
            message = _("Waiting for the recording upload to finish: %(who)s.") % {"who": who}
        elif holding:
            message = _("These uploads have stopped arriving: %(who)s. You can end the interview anyway; what has "
                        "not arrived is lost.") % {"who": who}
        else:
            message = _("Nothing has been recorded yet. You can end the interview anyway.")
        return problem(409, message, done=False, waiting=waiting, uploads=[u.as_json() for u in holding])
    abandoned = await abandon_unfinished(tenant_scope, interview.id) if unfinished else []
    if abandoned:
        await log_event(tenant_scope, interview, request.user, "uploads_abandoned",
                        recording_ids=[str(i) for i in abandoned])
    await log_event(tenant_scope, interview, request.user, "ended", bytes=state.bytes_received)
    await audit.record("live_interview.ended", tenant_id=tenant_scope.tenant_id, actor=request.user,
                       target=str(interview.id), detail={"bytes": state.bytes_received,
                                                         "abandoned": [str(i) for i in abandoned]},
                       ip=audit.client_ip(request))
    await record_usage(tenant_scope.tenant_id, INTERVIEWS_HELD, 1, act=str(interview.id))
    await HUB.broadcast(interview.id, {"type": "ended"})
    return Response({"done": True, "next": f"/t/{tenant_row.slug}/interviews/{interview.id}"})


@get("/room.js", name="live_interview_script", include_in_schema=False)
async def room_script() -> File:
    return File(path=SCRIPT, media_type="text/javascript", content_disposition_type="inline")


HANDLERS = [room_page, evaluate, status, end, room_script, signal]
