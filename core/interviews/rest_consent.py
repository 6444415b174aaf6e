"""REST API v1: the interviewee's consent for an interview
(`/api/v1/t/{tenant}/interviews/{id}/consent`): whether they consented, and an admin's declaration
that an HR system obtained it itself (stored as a consent record with that `source`, as the bulk
import does, and audited), so a recording can be uploaded without the consent page."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from core import audit
from core.auth.guards import requires_admin
from core.consent import current_consent, has_consented, record_consent
from core.interviews.tables import Interview
from core.rest.auth import requires_scope
from core.rest.problems import ApiError, FieldError, problem_responses
from core.tenancy import TenantScope
from core.text_input import MULTI_LINE_PATTERN, TextProblem, clean_text
from core.web.i18n import gettext as _

PURPOSES = ("recording", "training")
Purpose = Annotated[Literal["recording", "training"],
                    msgspec.Meta(description="recording: video and audio are captured and analysed; training: "
                                             "the interview may train the AI model")]


class ConsentState(msgspec.Struct):
    """Whether the interviewee accepted the current text (`version`) of the purpose."""

    purpose: Purpose
    version: int
    consented: bool


class ConsentList(msgspec.Struct):
    """The interviewee's consent, one entry per purpose."""

    interviewee: UUID
    items: list[ConsentState]


class ConsentDeclaration(msgspec.Struct, forbid_unknown_fields=True):
    """An admin declares that the interviewee consented outside mendan, and how (`source`: who
    obtained it, when, where the proof is kept)."""

    purposes: Annotated[list[Purpose], msgspec.Meta(min_length=1, max_length=2, examples=[["recording"]])]
    source: Annotated[str, msgspec.Meta(max_length=1000, pattern=MULTI_LINE_PATTERN,
                                        examples=["ATS の同意画面で取得（2026-04-01、採用管理システム記録）"])]


class ConsentRecorded(msgspec.Struct):
    """A kept consent: the purpose, the text's version, when it was recorded and its declared source."""

    purpose: Purpose
    version: int
    accepted_at: datetime
    source: str


class ConsentRecordList(msgspec.Struct):
    interviewee: UUID
    items: list[ConsentRecorded]


@get("/interviews/{interview_id:uuid}/consent", summary="Read the interviewee's consent",
     operation_id="getInterviewConsent",
     description="For each purpose, whether the interview's interviewee accepted its current text. Admins; "
                 "scope `read`.",
     guards=[requires_scope("read"), requires_admin], responses=problem_responses(403))
async def get_consent(tenant_scope: NamedDependency[TenantScope], interview_id: FromPath[UUID]) -> ConsentList:
    interview = await tenant_scope.get(Interview, interview_id)
    items = []
    for purpose in PURPOSES:
        text = await current_consent(tenant_scope.tenant_id, purpose)
        consented = await has_consented(tenant_scope.tenant_id, interview.interviewee, purpose)
        items.append(ConsentState(purpose=purpose, version=text.version, consented=consented))
    return ConsentList(interviewee=interview.interviewee, items=items)


@post("/interviews/{interview_id:uuid}/consent", summary="Declare the interviewee's consent",
      operation_id="declareInterviewConsent",
      description="Records that the interview's interviewee consented to the current text of each purpose, "
                  "obtained outside mendan as `source` says (required; kept with the record and in the audit "
                  "trail). Declaring again keeps the first record. Then a recording can be uploaded. Admins; "
                  "scope `admin`.",
      guards=[requires_scope("admin"), requires_admin], responses=problem_responses(403, 422))
async def declare_consent(request: Request, tenant_scope: NamedDependency[TenantScope], interview_id: FromPath[UUID],
                          data: JSONBody[ConsentDeclaration]) -> Response[ConsentRecordList]:
    interview = await tenant_scope.get(Interview, interview_id)
    try:  # line breaks are folded into spaces; other control characters (NUL: PostgreSQL) are refused
        source = " ".join(clean_text(data.source, label=_("Consent source"), max_length=1000, multiline=True).split())
    except TextProblem as exc:
        raise ApiError(422, errors=[FieldError("source", str(exc))]) from None
    if not source:
        raise ApiError(422, errors=[FieldError("source", _("Say how consent was obtained (the consent source)."))])
    recorded = []
    for purpose in dict.fromkeys(data.purposes):
        text = await current_consent(tenant_scope.tenant_id, purpose)
        row = await record_consent(tenant_scope.tenant_id, interview.interviewee, purpose, text.version,
                                   ip=audit.client_ip(request), source=source)
        recorded.append(ConsentRecorded(purpose=purpose, version=row.version, accepted_at=row.accepted_at,
                                        source=row.source))
    await audit.record("consent.declared", tenant_id=tenant_scope.tenant_id, actor=request.user,
                       target=str(interview.interviewee),
                       detail={"interview": str(interview.id), "purposes": list(dict.fromkeys(data.purposes)),
                               "source": source, "via": "api"}, ip=audit.client_ip(request))
    return Response(ConsentRecordList(interviewee=interview.interviewee, items=recorded), status_code=201)


API_HANDLERS = [get_consent, declare_consent]
