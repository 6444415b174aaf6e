"""Pages of the AI model plugin, mounted under /t/{tenant}/ai_model/."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any
from uuid import UUID

import structlog
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.exceptions import ValidationException
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template

from core import audit, csv_output
from core.auth.guards import requires_admin, requires_staff
from core.hours import service_guard
from core.features import FeatureLabel, feature_labels, feature_name, insufficient_data_text
from core.interviews.api import Interview, QuestionSetVersion, in_tokyo, items_of
from core.plugins import NavItem
from core.tables import Tenant, User, json_value
from core.tenancy import TenantScope
from core.web.i18n import current_language, gettext as _
from core.web.rendering import page
from plugins.ai_model import actions, service
from plugins.ai_model.tables import ModelVersion, Prediction
from plugins.ai_model.texts import failure_text, skip_text, warning_text

log = structlog.get_logger("mendan.ai_model")

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]



def labels_of(host: Any) -> dict[str, FeatureLabel]:
    """Labels of every installed extractor's features (a model may use a plugin since switched off)."""
    return feature_labels(host.feature_extractors(None))


def explained(contributions: list[list[Any]], labels: dict[str, FeatureLabel]) -> list[dict[str, Any]]:
    """SHAP contributions as people read them: the label in the page language, its meaning, the value."""
    out = []
    for key, value in contributions:
        label = labels.get(key)
        out.append({"key": key, "name": feature_name(key, labels), "value": value,
                    "meaning": label.meaning() if label else ""})
    return out


async def item_names(scope: TenantScope, interview_id: Any) -> dict[str, tuple[str, int, int]]:
    """The interview's evaluation items as its question set version says: key -> (name, lowest, highest)."""
    interview = await scope.objects(Interview).where(Interview.id == interview_id).first()
    if interview is None:
        return {}
    version = await scope.objects(QuestionSetVersion).where(
        QuestionSetVersion.id == interview.question_set_version).first()
    return {i.key: (i.name, i.scale_min, i.scale_max) for i in items_of(version)} if version else {}


def face_extractors(host: Any) -> set[str]:
    """Names of the installed extractors that read video: their features describe a face."""
    return {e.name for e in host.feature_extractors(None) if e.input_kind == "video"}


async def latest_predictions(scope: TenantScope, interview_id: Any, labels: dict[str, FeatureLabel] | None = None,
                             face: set[str] | None = None) -> list[dict[str, Any]]:
    """The interview's current prediction per item (reviewed or not), newest first, explained with labels;
    `face_based` when its model reads features of an extractor in `face` (all of the model version's
    features, or for a model without a version here, those its explanation names)."""
    rows = await scope.objects(Prediction).where(Prediction.interview_id == interview_id).order_by(
        Prediction.created_at, ascending=False)
    own_items = await item_names(scope, interview_id)
    versions: dict[str, tuple[dict[str, Any], list[str]]] = {}  # version id -> (items, feature names)
    seen: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row.item_key in seen:
            continue
        version_id = str(row.model_version) if row.model_version else None
        if version_id and version_id not in versions:
            version = await scope.objects(ModelVersion).where(ModelVersion.id == row.model_version).first()
            versions[version_id] = (json_value(version.items) or {}, json_value(version.feature_names) or []) \
                if version else ({}, [])
        items, features = versions.get(version_id, ({}, []))
        name = own_items[row.item_key][0] if row.item_key in own_items else \
            items.get(row.item_key, {}).get("name", row.item_key)
        contributions = json_value(row.contributions) or []
        read = features or [key for key, _value in contributions]
        seen[row.item_key] = {"row": row, "name": name, "model": service.model_kind(row.source or ""),
                              "insufficient": insufficient_data_text(row.insufficient_data) if row.insufficient_data else "",
                              "contributions": explained(contributions, labels or {}),
                              "face_based": any(key.split(".", 1)[0] in (face or set()) for key in read)}
    return list(seen.values())


async def fairness_reports(host: Any, tenant: Any) -> list[dict[str, str]]:
    """Where the tenant's AI-ethics reports are (`mendan_fairness_reports`): [{"href", "label"}] in
    the request's language; an answer that is not a NavItem is left out and logged."""
    language = current_language.get()
    links = []
    for key, answer in await host.call_for_tenant("mendan_fairness_reports", tenant=tenant):
        for item in answer if isinstance(answer, (list, tuple)) else [answer]:
            if isinstance(item, NavItem):
                links.append({"href": f"/t/{tenant.slug}/{item.path}", "label": item.label(language)})
            else:
                log.error("plugin_fairness_reports_failed", plugin=key, error=f"not a NavItem: {item!r}")
    return links


def _version_view(version: ModelVersion, labels: dict[str, FeatureLabel]) -> dict[str, Any]:
    items = json_value(version.items) or {}
    for meta in items.values():
        importance = meta.get("importance", {})
        top = max(importance.values(), default=0) or 1
        meta["bars"] = [(feature_name(name, labels), value, 100 * value / top) for name, value in importance.items()]
    skipped = json_value(version.skipped) or {}
    return {"row": version, "items": items,
            "warnings": [warning_text(w) for w in json_value(version.warnings) or []],
            "skipped": [(reason.get("item", key), skip_text(reason)) for key, reason in skipped.items()],
            "failure": failure_text(json_value(version.failure), version.error) if version.state == "failed" else "",
            "per_expert": json_value(version.per_expert) or {},
            "excluded": (json_value(version.training_snapshot) or {}).get("excluded", {})}


async def rescore_candidates(scope: TenantScope, version: ModelVersion) -> int:
    """Analysed interviews this version has not predicted yet: what a re-score would add to the bill."""
    analysed = {str(i) for i in await service.analysed_interviews(scope)}
    done = {str(r["interview_id"]) for r in await scope.select(Prediction, Prediction.interview_id).where(
        Prediction.model_version == version.id).distinct()}
    return len(analysed - done)


async def model_page_panels(request: Request, tenant: Tenant) -> list[dict[str, Any]]:
    """The panels the tenant's enabled plugins add to this page (`mendan_model_page_panels`), rendered;
    one that is not a Panel or whose template raises is left out and logged."""
    from litestar.utils.scope.state import ScopeState
    from markupsafe import Markup

    from core.interviews.api import Panel

    found = []
    for key, answer in await request.app.state.plugin_host.call_for_tenant("mendan_model_page_panels", tenant=tenant):
        for panel in answer if isinstance(answer, (list, tuple)) else [answer]:
            if isinstance(panel, Panel):
                found.append((key, panel))
            else:
                log.error("plugin_panel_failed", plugin=key, error=f"not a Panel: {panel!r}")
    token = ScopeState.from_scope(request.scope).csrf_token or ""
    csrf_input = Markup('<input type="hidden" name="_csrf_token" value="{}">').format(token)
    out = []
    for key, panel in sorted(found, key=lambda kp: kp[1].order):
        try:
            body = request.app.template_engine.get_template(panel.template).render(
                tenant=tenant, user=request.user, csrf_input=csrf_input, **panel.context) if panel.template else panel.html
            out.append({"title": panel.title(), "html": Markup(body)})
        except Exception as exc:
            log.exception("plugin_panel_failed", plugin=key, template=panel.template, error=repr(exc))
    return out


@get("/", guards=[requires_staff])
async def models_page(request: Request, tenant_scope: NamedDependency[TenantScope],
                      tenant_row: NamedDependency[Tenant]) -> Template:
    versions = await tenant_scope.objects(ModelVersion).order_by(ModelVersion.number, ascending=False)
    experts = {str(u.id): u for u in await tenant_scope.objects(User).where(User.role == "expert")}
    labels = labels_of(request.app.state.plugin_host)
    active = next((v for v in versions if v.active), None)
    return await page(request, "ai_model/models.html", versions=[_version_view(v, labels) for v in versions],
                      experts=experts, is_admin=request.user.role == "admin",
                      panels=await model_page_panels(request, tenant_row),
                      rescore_count=await rescore_candidates(tenant_scope, active) if active else 0)


@post("/build", guards=[requires_admin])
async def start_build(request: Request, tenant_scope: NamedDependency[TenantScope],
                      tenant_row: NamedDependency[Tenant]) -> Redirect:
    job_id = await actions.request_build(tenant_scope, request.user, ip=audit.client_ip(request))
    return Redirect(f"/t/{tenant_row.slug}/jobs/{job_id}")


@post("/versions/{version_id:uuid}/activate", guards=[requires_admin])
async def activate_version(request: Request, tenant_scope: NamedDependency[TenantScope],
                           tenant_row: NamedDependency[Tenant], version_id: FromPath[UUID]) -> Redirect:
    try:
        await actions.activate(tenant_scope, version_id, request.user, ip=audit.client_ip(request))
    except ValueError as exc:
        raise ValidationException(_("Only a ready model version can be activated.")) from exc
    return Redirect(f"/t/{tenant_row.slug}/ai_model/#rescore")


@post("/versions/{version_id:uuid}/rescore", guards=[requires_admin])
async def rescore_version(request: Request, tenant_scope: NamedDependency[TenantScope],
                          tenant_row: NamedDependency[Tenant], version_id: FromPath[UUID]) -> Redirect:
    """Re-score every analysed interview with the active version, as a job with progress."""
    version = await tenant_scope.get(ModelVersion, version_id)
    if not version.active:
        raise ValidationException(_("Only the active model version can re-score interviews."))
    job_id = await request.app.state.tasks.enqueue("ai_model.rescore", tenant_id=tenant_scope.tenant_id,
                                                   version_id=str(version.id))
    await audit.record("ai_model.rescore_requested", tenant_id=tenant_scope.tenant_id, actor=request.user,
                       target=f"v{version.number}", ip=audit.client_ip(request))
    return Redirect(f"/t/{tenant_row.slug}/jobs/{job_id}")


# Predictions run at any time, but their result screen keeps the course's hours (spec table 5-1).
RESULT_SCREEN = service_guard("interactive")


@post("/predictions/{prediction_id:uuid}/review", guards=[requires_staff, RESULT_SCREEN])
async def review_prediction(request: Request, tenant_scope: NamedDependency[TenantScope],
                            tenant_row: NamedDependency[Tenant], prediction_id: FromPath[UUID],
                            data: Form) -> Redirect:
    prediction = await actions.visible_prediction(tenant_scope, request.user, prediction_id)
    override = str(data.get("value", "")) if data.get("action") == "override" else None
    try:
        await actions.review(tenant_scope, prediction_id, request.user, override=override,
                             comment=str(data.get("comment", "")), ip=audit.client_ip(request))
    except service.ReviewProblem as exc:
        raise ValidationException(str(exc)) from exc
    return Redirect(f"/t/{tenant_row.slug}/interviews/{prediction.interview_id}#ai-predictions")


@get("/predictions.csv", guards=[requires_staff, RESULT_SCREEN])
async def export_predictions(request: Request, tenant_scope: NamedDependency[TenantScope]) -> Response[str]:
    """Every prediction of the interviews the user may see (all for an admin); one not yet
    reviewed by a person says so in the `status` column.

    `insufficient_data` and `explanation` are in the page language: feature labels with their
    SHAP contribution ("笑顔の割合 +0.42; ..."), largest effect first; `created_at` is Japan time
    (ISO 8601 with its +09:00 offset).
    """
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["interview_id", "item", "ai_score", "status", "reviewed_score", "source", "insufficient_data",
                     "explanation", "created_at"])
    labels = labels_of(request.app.state.plugin_host)
    query = await actions.visible_predictions(tenant_scope, request.user,
                                              tenant_scope.objects(Prediction).order_by(Prediction.created_at))
    rows = await query
    for r in rows:
        reviewed = r.override_value if r.status == "overridden" else (r.value if r.status == "confirmed" else "")
        explanation = "; ".join(f"{c['name']} {c['value']:+.2f}" for c in explained(json_value(r.contributions) or [], labels))
        writer.writerow(csv_output.row([r.interview_id, r.item_key, "" if r.value is None else round(r.value, 3),
                                        "UNCONFIRMED" if r.status == "unconfirmed" else r.status, reviewed, r.source,
                                        insufficient_data_text(r.insufficient_data) if r.insufficient_data else "",
                                        explanation, in_tokyo(r.created_at).isoformat()]))
    return Response(out.getvalue(), media_type="text/csv",
                    headers={"content-disposition": 'attachment; filename="ai_predictions.csv"'})


HANDLERS = [models_page, start_build, activate_version, rescore_version, review_prediction, export_predictions]
