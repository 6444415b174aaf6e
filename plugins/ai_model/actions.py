"""What a person does to models and predictions, each audited: the pages and the REST API call
the same functions, so a build, an activation or a review means the same through either door."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar.exceptions import NotFoundException, PermissionDeniedException

from core import audit
from core.interviews.api import Interview, blinded_interview_ids, may_see, may_see_scores, visible_interview_ids
from core.runtime import runtime
from core.tenancy import TenantScope
from core.web.i18n import gettext as _
from plugins.ai_model import service
from plugins.ai_model.tables import ModelVersion, Prediction


class ScoresHidden(PermissionDeniedException):
    """The person is an expert of the interview who has not saved their evaluation yet: experts
    score blind, so the AI's scores stay hidden from them until then (`may_see_scores`)."""

    def __init__(self) -> None:
        super().__init__(detail=_("The AI's scores appear once you have saved your own evaluation of this interview."))


async def request_build(scope: TenantScope, user: Any, *, ip: str = "") -> UUID:
    """Queue the `ai_model.build` job for the tenant's current training set; returns the job's id."""
    job_id = await runtime().tasks.enqueue("ai_model.build", tenant_id=scope.tenant_id, requested_by=str(user.id))
    await audit.record("ai_model.build_requested", tenant_id=scope.tenant_id, actor=user, target=str(job_id), ip=ip)
    return job_id


async def activate(scope: TenantScope, version_id: Any, user: Any, *, ip: str = "") -> ModelVersion:
    """Make a ready version the active one (`service.activate`). ValueError for a version that is
    not ready; NotFoundException (404) for another tenant's or none."""
    version = await service.activate(scope, version_id)
    await audit.record("ai_model.activated", tenant_id=scope.tenant_id, actor=user, target=f"v{version.number}",
                       ip=ip)
    return version


async def review(scope: TenantScope, prediction_id: Any, user: Any, *, override: float | str | None,
                 comment: str, ip: str = "") -> Prediction:
    """A person confirms the AI's score (`override` None) or replaces it with their own
    (`service.review`). ReviewProblem, with the message in the request's language, for a
    confirmation without an AI score or an override off the item's scale; nothing is stored then.
    NotFoundException (404) for another tenant's prediction, one whose interview is gone, or one of
    an interview `user` takes no part in; ScoresHidden (403) for an expert who has not evaluated it."""
    prediction = await visible_prediction(scope, user, prediction_id)
    if override is None and prediction.value is None:
        raise service.ReviewProblem(_("There is no AI score to confirm; enter your own score."))
    reviewed = await service.review(scope, prediction_id, user, override=override, comment=comment)
    await audit.record(f"ai_model.prediction_{reviewed.status}", tenant_id=scope.tenant_id, actor=user,
                       target=str(prediction_id),
                       detail={"item": reviewed.item_key, "ai": reviewed.value, "override": reviewed.override_value},
                       ip=ip)
    return reviewed


async def visible_prediction(scope: TenantScope, user: Any, prediction_id: Any) -> Prediction:
    """The prediction, if `user` may see its interview (`may_see`: admins, and the interview's
    interviewer and experts); NotFoundException otherwise, as for another tenant's. ScoresHidden
    for an expert of the interview who has not saved their evaluation (experts score blind)."""
    prediction = await scope.get(Prediction, prediction_id)
    interview = await scope.get(Interview, prediction.interview_id)
    if not may_see(user, interview):
        raise NotFoundException()
    if not await may_see_scores(scope, user, interview):
        raise ScoresHidden()
    return prediction


async def visible_predictions(scope: TenantScope, user: Any, query: Any) -> Any:
    """`query` (of Prediction) narrowed to the interviews `user` may see, less those whose scores
    are hidden from them until they have evaluated (`blinded_interview_ids`)."""
    ids = await visible_interview_ids(scope, user)
    blinded = await blinded_interview_ids(scope, user)
    if ids is not None:
        query = query.where(Prediction.interview_id.is_in([UUID(i) for i in ids - blinded] or [UUID(int=0)]))
    elif blinded:
        query = query.where(Prediction.interview_id.not_in([UUID(i) for i in blinded]))
    return query
