"""The AI model's REST API v1, under /api/v1/t/{tenant}/ai_model/ (docs/api.md, "Conventions").

POST /versions                         build a new version: 202 with the build job's URL (admins, scope write)
GET  /versions                         the versions, oldest first, a page at a time (staff, read)
GET  /versions/{id}                    one version with its per-item cross-validated metrics, ETag (staff, read)
POST /versions/{id}/activate           make it the active version; If-Match (admins, write)
GET  /predictions                      predictions with explanations; filters interview, status, time (staff, read)
GET  /predictions/{id}                 one prediction, ETag (staff, read)
POST /predictions/{id}/confirm         a person confirms the AI's score (staff, write)
POST /predictions/{id}/override        a person gives their own score with a reason (staff, write)

Each action is the page's own (plugins.ai_model.actions); predictions keep the result screen's
service hours, as their page does (spec table 5-1).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, Parameter

from core import audit
from core.auth.guards import requires_admin, requires_staff
from core.features import FeatureLabel, feature_name, insufficient_data_text
from core.hours import service_guard
from core.rest.auth import requires_scope
from core.rest.etags import require_if_match, tagged
from core.rest.pagination import CreatedAfter, CreatedBefore, CursorParam, Limit, StateParam, created_between, in_states, \
    paginate
from core.rest.problems import ApiError, FieldError, problem_responses
from core.tables import Tenant, json_value
from core.tenancy import TenantScope
from core.text_input import multi_line
from core.web.i18n import gettext as _
from plugins.ai_model import actions, service
from plugins.ai_model.routes import item_names, labels_of
from plugins.ai_model.tables import ModelVersion, Prediction
from plugins.ai_model.texts import failure_text, skip_text, warning_text

VERSION_STATES = ("building", "ready", "failed")
REVIEW_STATES = ("unconfirmed", "confirmed", "overridden")
# Predictions run at any time, but reading and reviewing them keeps the course's hours, as the result screen.
RESULT_SCREEN = service_guard("interactive")


def _described(kind: Any, description: str, **meta: Any) -> Any:
    return Annotated[kind, msgspec.Meta(description=description, **meta)]


class ItemMetrics(msgspec.Struct, omit_defaults=True):
    """How well the item's model predicted expert scores it never saw: every interview of the
    training set is predicted by a model trained on the other folds (cross-validation) and compared
    with the mean expert score. A metric the data cannot give (a constant prediction) is null."""

    mae: _described(float | None, "Mean absolute error, in points of the item's scale: lower is better.") = None
    rmse: _described(float | None, "Root mean squared error, in points: like mae, weighs large misses more.") = None
    spearman: _described(float | None, "Spearman's rank correlation, -1 to 1: does the model order the "
                                       "interviews as the experts did? Above 0.5 is useful.") = None
    r2: _described(float | None, "Coefficient of determination: the share of the experts' variation the "
                                 "model explains (1 is perfect, 0 is no better than the mean, may be negative).") = None
    within_one: _described(float | None, "Share (0-1) of interviews whose rounded prediction is within one "
                                         "point of the expert score (integer scales only).") = None
    accuracy: _described(float | None, "Share (0-1) of interviews whose class was predicted exactly "
                                       "(categorical items only).") = None


class FeatureImportance(msgspec.Struct):
    """How much the item's model relies on one feature (mean absolute SHAP value, in points)."""

    feature: _described(str, "The stored feature key `{extractor}.{name}`.", examples=["face_features.smile_ratio"])
    label: _described(str, "The feature's name in the request's language (the key where it has no label).")
    importance: _described(float, "Mean absolute SHAP contribution over the training set, in points.")


class ItemModel(msgspec.Struct):
    """One evaluation item's model in a version."""

    key: _described(str, "The evaluation item's key.", examples=["warmth"])
    name: str
    scale_min: int
    scale_max: int
    categorical: _described(bool, "True when the item is a class rather than a score.")
    n: _described(int, "Interviews with an expert score for this item that the model learnt from.")
    metrics: ItemMetrics
    importance: _described(list[FeatureImportance], "The 20 features the model relies on most, largest first.")


class SkippedItem(msgspec.Struct):
    """An evaluation item the build made no model for, and why."""

    key: str
    code: _described(str, "too_few, constant or training_error.", examples=["too_few"])
    detail: _described(str, "Why, in the request's language.")


class BuildFailure(msgspec.Struct):
    """Why a build failed."""

    code: _described(str, "no_data, no_features, no_item, interrupted or internal.", examples=["no_data"])
    detail: _described(str, "Why, in the request's language.")


class VersionSummary(msgspec.Struct):
    """A model version: one per build job."""

    id: UUID
    number: _described(int, "1, 2, 3... per tenant.")
    state: _described(str, "building, ready or failed.", examples=["ready"])
    active: _described(bool, "True for the version that predicts new interviews (one at most).")
    n_interviews: _described(int, "Interviews the version learnt from.")
    created_at: datetime


class VersionPage(msgspec.Struct):
    """One page of model versions, oldest first; `next_cursor` is null on the last page."""

    items: list[VersionSummary]
    next_cursor: str | None


class Version(msgspec.Struct):
    """A model version with its per-item models and their cross-validated metrics."""

    id: UUID
    number: int
    state: _described(str, "building, ready or failed.", examples=["ready"])
    active: bool
    n_interviews: int
    created_at: datetime
    items: list[ItemModel]
    skipped: list[SkippedItem]
    warnings: _described(list[str], "Notes about the build in the request's language (e.g. fewer "
                                    "interviews than recommended).")
    failure: BuildFailure | None


class BuildStarted(msgspec.Struct):
    """A build job was queued; follow it at `job_url` (state and progress). When it is done the
    new version is listed under /versions (the first ready version becomes active by itself)."""

    job_id: UUID
    job_url: _described(str, "The job's resource: /api/v1/t/{tenant}/jobs/{id}.")


class Contribution(msgspec.Struct):
    """One feature's push on the predicted score (its SHAP value)."""

    feature: _described(str, "The stored feature key `{extractor}.{name}`.", examples=["face_features.smile_ratio"])
    label: _described(str, "The feature's name in the request's language.", examples=["笑顔の割合"])
    meaning: _described(str, "What the feature measures, one sentence in the request's language (may be empty).")
    unit: _described(str, "The feature's unit (s, /min, °), or empty.")
    contribution: _described(float, "Points this feature added to (or, negative, took from) the score, "
                                    "starting from `base_value`.")


class Explanation(msgspec.Struct):
    """Why the model gave this score: `base_value` plus the contributions of all features is the
    score; the largest five are listed, largest effect first."""

    base_value: _described(float, "The model's average score before any feature of this interview.")
    contributions: list[Contribution]


class ItemRef(msgspec.Struct):
    """The evaluation item a prediction scores."""

    key: str
    name: str
    scale_min: int
    scale_max: int


class PredictionOut(msgspec.Struct):
    """The AI's reference score of one evaluation item of one interview, and a person's review."""

    id: UUID
    interview_id: UUID
    item: ItemRef
    score: _described(float | None, "The predicted score on the item's scale; null when the data was "
                                    "insufficient (see `insufficient_data`).")
    insufficient_data: _described(str | None, "Why no score was given, in the request's language; null "
                                              "when there is a score.")
    source: _described(str, "What predicted it: `v3` (a model version of this tenant), a base model's name, "
                            "or `blend:v3+{name}`.", examples=["v3"])
    model_version_id: UUID | None
    status: _described(str, "unconfirmed (no person reviewed it), confirmed (a person agreed with the score) "
                            "or overridden (a person gave their own score).", examples=["unconfirmed"])
    reviewed_score: _described(float | None, "The score a person stands by: the AI's when confirmed, their own "
                                             "when overridden, null while unconfirmed.")
    reason: _described(str, "The reviewer's reason or comment.")
    reviewed_by: UUID | None
    reviewed_at: datetime | None
    created_at: datetime
    explanation: Explanation | None


class PredictionPage(msgspec.Struct):
    """One page of predictions, oldest first; `next_cursor` is null on the last page."""

    items: list[PredictionOut]
    next_cursor: str | None


class ConfirmBody(msgspec.Struct, forbid_unknown_fields=True):
    """A confirmation of the AI's score."""

    comment: multi_line(2000, description="An optional comment.") = ""


class OverrideBody(msgspec.Struct, forbid_unknown_fields=True):
    """A person's own score instead of the AI's."""

    score: Annotated[float, msgspec.Meta(ge=-1000, le=1000,
                                         description="Your score, on the item's scale (scale_min to scale_max).",
                                         examples=[4])]
    reason: multi_line(2000, min_length=1, description="Why your score differs from the AI's.")


def version_summary(row: ModelVersion) -> VersionSummary:
    return VersionSummary(id=row.id, number=row.number, state=row.state, active=row.active,
                          n_interviews=row.n_interviews, created_at=row.created_at)


def version_of(row: ModelVersion, labels: dict[str, FeatureLabel]) -> Version:
    """The version as GET /versions/{id} answers it (and its ETag is made of), texts in the request's language."""
    items = []
    for key, meta in (json_value(row.items) or {}).items():
        metrics = ItemMetrics(**{k: v for k, v in (meta.get("metrics") or {}).items()
                                 if k in ItemMetrics.__struct_fields__})
        importance = [FeatureImportance(feature=f, label=feature_name(f, labels), importance=v)
                      for f, v in (meta.get("importance") or {}).items()]
        items.append(ItemModel(key=key, name=meta["name"], scale_min=meta["scale_min"], scale_max=meta["scale_max"],
                               categorical=bool(meta.get("categorical")), n=int(meta.get("n", 0)), metrics=metrics,
                               importance=importance))
    skipped = [SkippedItem(key=key, code=str(reason.get("code", "")), detail=skip_text(reason))
               for key, reason in (json_value(row.skipped) or {}).items()]
    failure = None
    if row.state == "failed":
        stored = json_value(row.failure) or {}
        failure = BuildFailure(code=str(stored.get("code", "internal")), detail=failure_text(stored, row.error))
    return Version(id=row.id, number=row.number, state=row.state, active=row.active, n_interviews=row.n_interviews,
                   created_at=row.created_at, items=items, skipped=skipped,
                   warnings=[warning_text(w) for w in json_value(row.warnings) or []], failure=failure)


class _ItemNames:
    """The evaluation items of predictions' interviews (their question set versions), else of the
    model versions that predicted them: read once per page."""

    def __init__(self, scope: TenantScope) -> None:
        self.scope = scope
        self.by_interview: dict[Any, dict[str, ItemRef]] = {}
        self.by_version: dict[Any, dict[str, ItemRef]] = {}

    async def of(self, row: Prediction) -> ItemRef:
        if row.interview_id not in self.by_interview:
            self.by_interview[row.interview_id] = {
                key: ItemRef(key, *named) for key, named in (await item_names(self.scope, row.interview_id)).items()}
        found = self.by_interview[row.interview_id].get(row.item_key)
        if found is not None:
            return found
        if row.model_version not in self.by_version:
            model = await self.scope.objects(ModelVersion).where(ModelVersion.id == row.model_version).first() \
                if row.model_version else None
            self.by_version[row.model_version] = {
                k: ItemRef(k, m["name"], m["scale_min"], m["scale_max"])
                for k, m in (json_value(model.items) or {}).items()} if model else {}
        # An item neither its interview's question set nor its model knows any more: named by its key.
        return self.by_version[row.model_version].get(row.item_key) or ItemRef(row.item_key, row.item_key, 0, 0)


def prediction_of(row: Prediction, item: ItemRef, labels: dict[str, FeatureLabel]) -> PredictionOut:
    """The prediction as GET /predictions/{id} answers it, explanation labels in the request's language."""
    explanation = None
    if row.value is not None:
        contributions = []
        for key, value in json_value(row.contributions) or []:
            label = labels.get(key)
            contributions.append(Contribution(feature=key, label=feature_name(key, labels), contribution=value,
                                              meaning=label.meaning() if label else "",
                                              unit=label.unit if label else ""))
        explanation = Explanation(base_value=row.base_value or 0.0, contributions=contributions)
    reviewed = row.override_value if row.status == "overridden" else row.value if row.status == "confirmed" else None
    return PredictionOut(
        id=row.id, interview_id=row.interview_id, item=item, score=row.value,
        insufficient_data=insufficient_data_text(row.insufficient_data) if row.insufficient_data else None,
        source=row.source or "", model_version_id=row.model_version, status=row.status, reviewed_score=reviewed,
        reason=row.comment or "", reviewed_by=row.reviewed_by, reviewed_at=row.reviewed_at, created_at=row.created_at,
        explanation=explanation)


async def _prediction(request: Request, scope: TenantScope, prediction_id: UUID) -> PredictionOut:
    try:
        row = await actions.visible_prediction(scope, request.user, prediction_id)
    except actions.ScoresHidden as exc:
        raise ApiError(403, "evaluate_first", exc.detail) from None
    return prediction_of(row, await _ItemNames(scope).of(row), labels_of(request.app.state.plugin_host))


@post("/versions", status_code=202, summary="Build a model version", operation_id="buildModelVersion",
      description="Queues a build of a new model version from every analysed interview with expert evaluations "
                  "(at least 10 per item; 50-100 recommended). Answers 202 with the job to follow; the new "
                  "version's `state` says how it ended. Admins; scope `write`.",
      guards=[requires_scope("write"), requires_admin], responses=problem_responses(403))
async def build_version(request: Request, tenant_scope: NamedDependency[TenantScope],
                        tenant_row: NamedDependency[Tenant]) -> Response[BuildStarted]:
    job_id = await actions.request_build(tenant_scope, request.user, ip=audit.client_ip(request))
    url = f"/api/v1/t/{tenant_row.slug}/jobs/{job_id}"
    return Response(BuildStarted(job_id=job_id, job_url=url), status_code=202, headers={"Location": url})


@get("/versions", summary="List model versions", operation_id="listModelVersions",
     description="The tenant's model versions, oldest first, a page at a time; filter by `state` and creation "
                 "time. Staff; scope `read`.",
     guards=[requires_scope("read"), requires_staff], responses=problem_responses(403, 422))
async def list_versions(tenant_scope: NamedDependency[TenantScope], limit: Limit = 20, cursor: CursorParam = None,
                        state_filter: StateParam = None,
                        created_after: CreatedAfter = None, created_before: CreatedBefore = None) -> VersionPage:
    query = in_states(tenant_scope.objects(ModelVersion), ModelVersion.state, state_filter, VERSION_STATES)
    query = created_between(query, ModelVersion, created_after, created_before)
    rows, next_cursor = await paginate(query, ModelVersion, limit=limit, cursor=cursor)
    return VersionPage(items=[version_summary(v) for v in rows], next_cursor=next_cursor)


@get("/versions/{version_id:uuid}", summary="Read a model version with its metrics", operation_id="getModelVersion",
     description="One model version with each item's cross-validated metrics and most important features, "
                 "and its `ETag` (send it as `If-Match` to activate). Staff; scope `read`.",
     guards=[requires_scope("read"), requires_staff], responses=problem_responses(403))
async def get_version(request: Request, tenant_scope: NamedDependency[TenantScope],
                      version_id: FromPath[UUID]) -> Response[Version]:
    row = await tenant_scope.get(ModelVersion, version_id)
    return tagged(request, version_of(row, labels_of(request.app.state.plugin_host)))


@post("/versions/{version_id:uuid}/activate", status_code=200, summary="Activate a model version",
      operation_id="activateModelVersion",
      description="Makes a ready version the one that predicts new interviews (activation and roll-back alike). "
                  "Send `If-Match` with the version's `ETag`: 412 when the version changed since it was read "
                  "(e.g. another version was activated meanwhile), 428 without it; 409 `version_not_ready` for "
                  "a version that is building or failed. Existing interviews keep their scores until re-scored "
                  "on the model page. Admins; scope `write`.",
      guards=[requires_scope("write"), requires_admin], responses=problem_responses(403, 409, 412, 428))
async def activate_version(request: Request, tenant_scope: NamedDependency[TenantScope],
                           version_id: FromPath[UUID]) -> Response[Version]:
    labels = labels_of(request.app.state.plugin_host)
    require_if_match(request, version_of(await tenant_scope.get(ModelVersion, version_id), labels))
    try:
        await actions.activate(tenant_scope, version_id, request.user, ip=audit.client_ip(request))
    except ValueError:
        raise ApiError(409, "version_not_ready", _("Only a ready model version can be activated.")) from None
    return tagged(request, version_of(await tenant_scope.get(ModelVersion, version_id), labels))


@get("/predictions", summary="List predictions with explanations", operation_id="listPredictions",
     description="The AI's reference scores, one per evaluation item and interview, each with its explanation, "
                 "oldest first, a page at a time; filter by `interview_id`, `status` and creation time. "
                 "Experts score blind: an interview they have not evaluated yet is left out. "
                 "Staff; scope `read`; the tenant's service hours.",
     guards=[requires_scope("read"), requires_staff, RESULT_SCREEN], responses=problem_responses(403, 422, 503))
async def list_predictions(request: Request, tenant_scope: NamedDependency[TenantScope], limit: Limit = 20,
                           cursor: CursorParam = None,
                           interview_id: Annotated[UUID | None, Parameter(description="Only this interview's.")] = None,
                           status: Annotated[str | None, Parameter(
                               max_length=16, description="unconfirmed, confirmed or overridden.")] = None,
                           created_after: CreatedAfter = None, created_before: CreatedBefore = None) -> PredictionPage:
    query = in_states(await actions.visible_predictions(tenant_scope, request.user, tenant_scope.objects(Prediction)),
                      Prediction.status, status, REVIEW_STATES)
    if interview_id is not None:
        query = query.where(Prediction.interview_id == interview_id)
    query = created_between(query, Prediction, created_after, created_before)
    rows, next_cursor = await paginate(query, Prediction, limit=limit, cursor=cursor)
    items, labels = _ItemNames(tenant_scope), labels_of(request.app.state.plugin_host)
    return PredictionPage(items=[prediction_of(r, await items.of(r), labels) for r in rows], next_cursor=next_cursor)


@get("/predictions/{prediction_id:uuid}", summary="Read a prediction", operation_id="getPrediction",
     description="One prediction with its explanation and review, and its `ETag`. Admins, and the interview's "
                 "interviewer and experts (another interview answers 404; an expert who has not saved their "
                 "evaluation of it, 403 `evaluate_first`); scope `read`; the "
                 "tenant's service hours.",
     guards=[requires_scope("read"), requires_staff, RESULT_SCREEN], responses=problem_responses(403, 503))
async def get_prediction(request: Request, tenant_scope: NamedDependency[TenantScope],
                         prediction_id: FromPath[UUID]) -> Response[PredictionOut]:
    return tagged(request, await _prediction(request, tenant_scope, prediction_id))


async def _reviewed(request: Request, scope: TenantScope, prediction_id: UUID, *, override: float | None,
                    comment: str) -> Response[PredictionOut]:
    """The review through the page's own action; `If-Match`, where sent, must name the current ETag."""
    if request.headers.get("if-match"):
        require_if_match(request, await _prediction(request, scope, prediction_id))
    try:
        await actions.review(scope, prediction_id, request.user, override=override, comment=comment,
                             ip=audit.client_ip(request))
    except actions.ScoresHidden as exc:
        raise ApiError(403, "evaluate_first", exc.detail) from None
    except service.ReviewCommentProblem as exc:
        field = "comment" if override is None else "reason"
        raise ApiError(422, "validation_failed", str(exc), errors=[FieldError(field, str(exc))]) from None
    except service.ReviewProblem as exc:
        if override is None:
            raise ApiError(409, "no_score_to_confirm", str(exc)) from None
        raise ApiError(422, "score_out_of_range", str(exc), errors=[FieldError("score", str(exc))]) from None
    return tagged(request, await _prediction(request, scope, prediction_id))


@post("/predictions/{prediction_id:uuid}/confirm", status_code=200, summary="Confirm a prediction",
      operation_id="confirmPrediction",
      description="A person agrees with the AI's score: `status` becomes confirmed and `reviewed_score` the AI's "
                  "score; recorded with who and when, and audited. 409 `no_score_to_confirm` when the data was "
                  "insufficient for a score (override instead). `If-Match` is optional: sent, it must match "
                  "(412). 403 `evaluate_first` for an expert who has not evaluated the interview yet. "
                  "Staff; scope `write`; the tenant's service hours.",
      guards=[requires_scope("write"), requires_staff, RESULT_SCREEN],
      responses=problem_responses(403, 409, 412, 422, 503))
async def confirm_prediction(request: Request, tenant_scope: NamedDependency[TenantScope],
                             prediction_id: FromPath[UUID],
                             data: JSONBody[ConfirmBody | None] = None) -> Response[PredictionOut]:
    return await _reviewed(request, tenant_scope, prediction_id, override=None,
                           comment=data.comment if data else "")


@post("/predictions/{prediction_id:uuid}/override", status_code=200, summary="Override a prediction",
      operation_id="overridePrediction",
      description="A person gives their own score instead of the AI's, with a reason: `status` becomes overridden "
                  "and `reviewed_score` their score; audited. 422 `score_out_of_range` for a score off the item's "
                  "scale. `If-Match` is optional: sent, it must match (412). 403 `evaluate_first` for an expert "
                  "who has not evaluated the interview yet. Staff; scope `write`; the tenant's service hours.",
      guards=[requires_scope("write"), requires_staff, RESULT_SCREEN],
      responses=problem_responses(403, 412, 422, 503))
async def override_prediction(request: Request, tenant_scope: NamedDependency[TenantScope],
                              prediction_id: FromPath[UUID],
                              data: JSONBody[OverrideBody]) -> Response[PredictionOut]:
    return await _reviewed(request, tenant_scope, prediction_id, override=data.score, comment=data.reason)


API_HANDLERS = [build_version, list_versions, get_version, activate_version, list_predictions, get_prediction,
                confirm_prediction, override_prediction]
