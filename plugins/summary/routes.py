"""The summary on the interview result page, under /t/{tenant}/summary/ (interactive hours: the
host's service guard answers 503 outside the tenant's service hours, and the page says so).

GET /interviews/{id}   the summary as an HTML fragment, fetched by the interview page's panel
GET /summary.js        the panel's script: loads the fragment; a sentence plays the video from where it was said
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

from litestar import MediaType, Request, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import File, Template

from core.auth.guards import requires_login
from core.interviews.api import Interview, Recording, transcripts_of_interview
from core.tables import Tenant, json_value
from core.tenancy import TenantScope
from core.web.i18n import gettext as _
from plugins.summary.summaries import interview_summary

SCRIPT = Path(__file__).parent / "static" / "summary.js"


def may_read(user: Any, interview: Any) -> bool:
    """Admins, and the interview's interviewer and expert evaluators (as on the interview page)."""
    if user.role == "admin":
        return True
    experts = {str(e) for e in json_value(interview.experts) or []}
    return user.role in ("interviewer", "expert") and (
        str(user.id) == str(interview.interviewer) or str(user.id) in experts)


def interviewees(interview: Any, recording: Any) -> bool:
    """The interviewee's own recordings: in a live interview what the interviewee's browser uploaded."""
    return interview.kind != "live" or str(recording.uploaded_by) == str(interview.interviewee)


@get("/interviews/{interview_id:uuid}", name="summary_fragment", guards=[requires_login], media_type=MediaType.HTML)
async def fragment(request: Request, tenant_scope: NamedDependency[TenantScope], tenant_row: NamedDependency[Tenant],
                   interview_id: FromPath[UUID]) -> Template:
    interview = await tenant_scope.get(Interview, interview_id)
    # 404, not 403, for anyone who may not read it (an interviewee, staff of other interviews), as for
    # another tenant's or none: the route guards on sign-in only, so no answer tells that it exists.
    if not may_read(request.user, interview):
        raise NotFoundException(_("Interview not found."))
    result, answers = await summarised(tenant_scope, interview)
    return Template(template_name="summary/fragment.html", context={
        "interview_summary": result["interview"], "provider": provider_name(result["interview"].provider),
        "transcribed": bool(answers),
        "answers": [(index, recording, summary) for index, (recording, summary) in enumerate(answers, 1)]})


def provider_name(provider: str) -> str:
    """The summariser that made a summary, in words in the request's language (its stored name,
    "extractive:lexrank" or "chat-completions:<model>", is a code); another's name as it is."""
    if provider.startswith("extractive:"):
        return _("picking the key sentences of the answers")
    if provider.startswith("chat-completions:"):
        return _("the language model %(model)s") % {"model": provider.split(":", 1)[1]}
    return provider


async def summarised(scope: TenantScope, interview: Any) -> tuple[dict[str, Any], list[tuple[Any, Any]]]:
    """(`interview_summary`'s result, [(recording, its answer's Summary)] in interview order) for the
    interviewee's transcribed recordings; no answers when none is transcribed yet. The page's
    fragment and the REST API show this same summary."""
    recordings = {r.id: r for r in await scope.objects(Recording).where(Recording.interview == interview.id)}
    stored = [s for s in await transcripts_of_interview(scope, interview.id)
              if s.recording_id in recordings and interviewees(interview, recordings[s.recording_id])]
    result = await interview_summary(scope.tenant_id, interview.id,
                                     [(str(s.recording_id), s.transcript) for s in stored])
    return result, [(recordings[s.recording_id], result["answers"][str(s.recording_id)]) for s in stored]


@get("/summary.js", name="summary_script", include_in_schema=False)
async def script() -> File:
    return File(path=SCRIPT, media_type="text/javascript", content_disposition_type="inline")


HANDLERS = [fragment, script]
