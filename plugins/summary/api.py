"""The interview's summary in the REST API v1, under /api/v1/t/{tenant}/summary/ (docs/api.md,
"Conventions"); read-only, in the tenant's service hours as the result page that shows it.

GET /interviews/{id}   the summary of the whole interview and of each answer, each sentence with the
                       recording and the second it was said; 404 `summary_not_found` until a
                       recording of the interviewee is transcribed

It is the summary the interview page shows (`routes.summarised`): made on the first read and
stored, billed once per interview (meter `summary.interviews`), made again when a transcript changes.
Who may read it is who may read it on the page (`routes.may_read`); anyone else gets 404.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from core.auth.guards import requires_staff
from core.interviews.api import Interview
from core.rest.auth import requires_scope
from core.rest.etags import tagged
from core.rest.problems import ApiError, problem_responses
from core.tenancy import TenantScope
from core.web.i18n import gettext as _
from plugins.summary.routes import may_read, summarised
from plugins.summary.summaries import Summary


class SentenceOut(msgspec.Struct):
    """One sentence of a summary and where it was said."""

    text: str
    start: Annotated[float, msgspec.Meta(ge=0, description="Seconds from the start of its recording where the "
                                                           "sentence begins (play from here).")]
    recording_id: Annotated[UUID | None, msgspec.Meta(description="The recording it was said in.")]


class SummaryOut(msgspec.Struct):
    """Sentences in spoken order, and who made them."""

    language: Annotated[str, msgspec.Meta(description="ISO 639-1 code.", examples=["ja"])]
    provider: Annotated[str, msgspec.Meta(description="The summariser: `extractive:lexrank`, "
                                                      "`chat-completions:{model}`, or another plugin's.",
                                                      examples=["extractive:lexrank"])]
    sentences: list[SentenceOut]


class AnswerSummary(msgspec.Struct):
    """The summary of one answer: one recording of the interviewee."""

    recording_id: UUID
    question_key: Annotated[str | None, msgspec.Meta(description="The question it answers (`q1` is the first), "
                                                                 "where it answers one.")]
    summary: SummaryOut


class InterviewSummary(msgspec.Struct):
    """The interview's summary: the whole interview, then each answer in interview order."""

    interview_id: UUID
    summary: SummaryOut
    answers: list[AnswerSummary]


def summary_out(summary: Summary, recording_id: str | None = None) -> SummaryOut:
    """A summary as the API shows it; the sentences of one answer's summary are all said in `recording_id`."""
    return SummaryOut(language=summary.language, provider=summary.provider, sentences=[
        SentenceOut(text=s.text, start=s.start, recording_id=UUID(s.recording_id or recording_id)
                    if (s.recording_id or recording_id) else None) for s in summary.sentences])


@get("/interviews/{interview_id:uuid}", summary="Read an interview's summary", operation_id="getInterviewSummary",
     description="The summary of the interviewee's answers, whole and per answer, each sentence with the second "
                 "it was said, and its `ETag`. 404 `summary_not_found` until a recording of the interviewee is "
                 "transcribed. Made on the first read and kept (billed once per interview). Admins and the "
                 "interview's interviewer and experts; scope `read`; the tenant's service hours.",
     guards=[requires_scope("read"), requires_staff], responses=problem_responses(403, 503))
async def interview_summary(request: Request, tenant_scope: NamedDependency[TenantScope],
                            interview_id: FromPath[UUID]) -> Response[InterviewSummary]:
    interview = await tenant_scope.get(Interview, interview_id)
    if not may_read(request.user, interview):
        raise ApiError(404)
    result, answers = await summarised(tenant_scope, interview)
    if not answers:
        raise ApiError(404, "summary_not_found", _("No transcript of the interviewee yet: the summary follows once the "
                                                 "recordings are transcribed."))
    return tagged(request, InterviewSummary(
        interview_id=interview.id, summary=summary_out(result["interview"]),
        answers=[AnswerSummary(recording_id=recording.id, question_key=recording.question_key,
                               summary=summary_out(answer, str(recording.id))) for recording, answer in answers]))


API_HANDLERS = [interview_summary]
