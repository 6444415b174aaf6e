"""Model building and prediction against the database: training sets, versions, predictions.

Labels are the mean expert score per evaluation item (core.interviews); features are
every stored feature of the tenant's enabled extractors (core.features), so any
plugin's feature family joins the model without this plugin knowing its names.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from uuid import UUID

import numpy as np
import pandas as pd
import structlog

from core.db.json_columns import json_value
from core.db.tables import FeatureValue
from core.features import quality_problem
from core.interviews.evaluations import expert_labels, scores_of
from core.interviews.question_sets import items_of
from core.interviews.tables import Evaluation, QuestionSetVersion
from core.runtime import runtime
from core.tasks import current_job_id, report_progress
from core.tenancy import TenantScope
from core.usage import record_usage
from plugins.ai_model.tables import ModelVersion, Prediction
from plugins.ai_model.training import ItemSpec, TrainingRefused, build, load_model, predict

log = structlog.get_logger("ai_model")

BUILDS = "ai_model.builds"
PREDICTIONS = "ai_model.predictions"



async def item_specs(scope: TenantScope) -> dict[str, ItemSpec]:
    """Every evaluation item the tenant has used, by key; the newest version's wording wins."""
    specs: dict[str, ItemSpec] = {}
    for version in await scope.objects(QuestionSetVersion).order_by(QuestionSetVersion.created_at):
        for item in items_of(version):
            specs[item.key] = ItemSpec(item.key, item.name, item.scale_min, item.scale_max)
    return specs


async def enabled_extractor_versions(tenant_id: Any) -> dict[str, str]:
    host = runtime().host
    return {e.name: e.version for e in host.feature_extractors(await host.enabled_keys(tenant_id))}


async def feature_table(scope: TenantScope, extractors: dict[str, str], interviews: list[UUID] | None = None) -> pd.DataFrame:
    """One row per interview, one column `{extractor}.{name}` per feature of the current extractor versions."""
    query = scope.select(FeatureValue, FeatureValue.interview_id, FeatureValue.extractor, FeatureValue.extractor_version,
                         FeatureValue.name, FeatureValue.value).where(FeatureValue.recording_id.is_null())
    if interviews is not None:
        query = query.where(FeatureValue.interview_id.is_in(interviews or [UUID(int=0)]))
    rows = [r for r in await query if extractors.get(r["extractor"]) == r["extractor_version"]]
    if not rows:
        return pd.DataFrame()
    frame = pd.DataFrame(rows)
    frame["column"] = frame["extractor"] + "." + frame["name"]
    frame["interview_id"] = frame["interview_id"].astype(str)
    return frame.pivot_table(index="interview_id", columns="column", values="value", aggfunc="last")


async def training_set(scope: TenantScope) -> tuple[pd.DataFrame, pd.DataFrame, list[ItemSpec], dict[str, str], dict[str, str]]:
    """(features, labels, items, excluded interview -> reason, extractor versions)."""
    extractors = await enabled_extractor_versions(scope.tenant_id)
    labels_by_interview = await expert_labels(scope)
    labels = pd.DataFrame.from_dict({str(k): v for k, v in labels_by_interview.items()}, orient="index")
    features = await feature_table(scope, extractors, list(labels_by_interview))
    excluded: dict[str, str] = {}
    for interview_id in labels.index:
        if interview_id not in features.index:
            excluded[interview_id] = "not analysed"
            continue
        problem = quality_problem(features.loc[interview_id].dropna().to_dict())
        if problem:
            excluded[interview_id] = problem
    keep = [i for i in labels.index if i not in excluded]
    specs = await item_specs(scope)
    items = [specs[key] for key in labels.columns if key in specs]
    return features.loc[keep] if keep else features.iloc[0:0], labels.loc[keep], items, excluded, extractors


def _per_expert_metrics(oof: dict[str, dict[str, float]], expert_scores: list[tuple[str, str, dict[str, int]]]) -> dict:
    """How the cross-validated predictions compare with each expert's own scores.

    Shown to admins only, with the spec's caution (4.2.1 (8)): it describes the model,
    and must not be used to judge the expert.
    """
    out: dict[str, dict[str, dict[str, float]]] = {}
    for item_key, predictions in oof.items():
        pairs: dict[str, list[tuple[float, float]]] = {}
        for interview_id, expert_id, scores in expert_scores:
            if item_key in scores and interview_id in predictions:
                pairs.setdefault(expert_id, []).append((predictions[interview_id], float(scores[item_key])))
        out[item_key] = {
            expert: {"n": len(p), "mae": float(np.mean([abs(a - b) for a, b in p]))}
            for expert, p in pairs.items()
        }
    return out


async def next_version_number(scope: TenantScope) -> int:
    rows = await scope.select(ModelVersion, ModelVersion.number).order_by(ModelVersion.number, ascending=False).limit(1)
    return (rows[0]["number"] + 1) if rows else 1


async def build_model(tenant_id: str, requested_by: str | None = None) -> str:
    """The `ai_model.build` actor: a new model version from the tenant's current training set."""
    rt = runtime()
    scope = TenantScope(UUID(tenant_id))
    job_id = current_job_id.get()
    version = ModelVersion(tenant=scope.tenant_id, number=await next_version_number(scope),
                           created_by=requested_by, job_id=job_id)
    await version.save()
    report_progress(2, "collecting the training set")
    try:
        features, labels, items, excluded, extractors = await training_set(scope)
        result = build(features, labels, items, threads=2,
                       progress=lambda p, m: report_progress(5 + int(p * 0.9), m))
    except TrainingRefused as exc:
        await ModelVersion.update({ModelVersion.state: "failed", ModelVersion.error: str(exc)}).where(
            ModelVersion.id == version.id)
        raise
    tenant = await _tenant(scope.tenant_id)
    tk = rt.storage.tenant_key(tenant)
    prefix = f"ai_model/{version.id}"
    for key, item_result in result.items.items():
        with rt.storage.writer(tk, f"{prefix}/{key}.cbm") as out:
            out.write(item_result.model_bytes)
    experts = [(str(e.interview), str(e.evaluator), scores_of(e))
               for e in await scope.objects(Evaluation).where(Evaluation.evaluator_role == "expert")]
    oof = {key: r.oof for key, r in result.items.items()}
    used = set(result.feature_names)
    await ModelVersion.update({
        ModelVersion.state: "ready",
        ModelVersion.n_interviews: result.n_interviews,
        ModelVersion.feature_names: result.feature_names,
        ModelVersion.extractor_versions: {n: v for n, v in extractors.items() if any(f.startswith(n + ".") for f in used)},
        ModelVersion.items: {
            key: {"name": r.item.name, "scale_min": r.item.scale_min, "scale_max": r.item.scale_max,
                  "categorical": r.item.categorical, "n": r.n, "metrics": r.metrics,
                  "importance": dict(sorted(r.importance.items(), key=lambda kv: -kv[1])[:20])}
            for key, r in result.items.items()
        },
        ModelVersion.per_expert: _per_expert_metrics(oof, experts),
        ModelVersion.training_snapshot: {
            "interviews": labels.round(4).to_dict(orient="index"),
            "excluded": excluded,
        },
        ModelVersion.warnings: result.warnings,
        ModelVersion.artifact_key: prefix,
    }).where(ModelVersion.id == version.id)
    await record_usage(scope.tenant_id, BUILDS, 1, act=str(version.id))
    if await scope.count(ModelVersion).where(ModelVersion.active == True) == 0:  # noqa: E712
        await activate(scope, version.id)
    log.info("ai_model.built", version=version.number, interviews=result.n_interviews)
    return f"model version {version.number}"


async def _tenant(tenant_id: UUID):
    from core.db.tables import Tenant

    return await Tenant.objects().where(Tenant.id == tenant_id).first()


async def activate(scope: TenantScope, version_id: Any) -> ModelVersion:
    """Make one ready version the active one (activation and roll-back alike)."""
    version = await scope.get(ModelVersion, version_id)
    if version.state != "ready":
        raise ValueError("only a ready model version can be activated")
    await scope.update(ModelVersion, {ModelVersion.active: False}).where(ModelVersion.active == True)  # noqa: E712
    await scope.update(ModelVersion, {ModelVersion.active: True}).where(ModelVersion.id == version.id)
    version.active = True
    return version


async def active_version(scope: TenantScope) -> ModelVersion | None:
    return await scope.objects(ModelVersion).where(ModelVersion.active == True).first()  # noqa: E712


async def predict_interview(tenant_id: str, interview_id: str) -> str:
    """The `ai_model.predict` actor: a prediction per evaluation item with the active model."""
    rt = runtime()
    scope = TenantScope(UUID(tenant_id))
    host = rt.host
    enabled = await host.enabled_keys(scope.tenant_id)
    version = await active_version(scope)
    if version is not None:
        tk = rt.storage.tenant_key(await _tenant(scope.tenant_id))
        source, feature_names, items = f"v{version.number}", json_value(version.feature_names), json_value(version.items)

        def model_bytes(key: str) -> bytes:
            return b"".join(rt.storage.read(tk, f"{version.artifact_key}/{key}.cbm"))
    else:
        offered = await host.call_for_tenant("mendan_base_model", enabled=enabled, tenant_id=scope.tenant_id)
        if not offered:
            return "no active model"
        base = offered[0][1]
        source, feature_names, items, model_bytes = base.name, list(base.feature_names), dict(base.items), base.model_bytes
    table = await feature_table(scope, await enabled_extractor_versions(scope.tenant_id), [UUID(interview_id)])
    row = table.loc[interview_id].dropna().to_dict() if interview_id in table.index else {}
    problem = "not analysed" if not row else quality_problem(row)
    # Predictions not yet reviewed by a person are replaced; reviewed ones stay as history.
    await scope.delete(Prediction).where(
        (Prediction.interview_id == UUID(interview_id)) & (Prediction.status == "unconfirmed"))
    made = []
    for key, meta in items.items():
        spec = ItemSpec(key, meta["name"], meta["scale_min"], meta["scale_max"], meta.get("categorical", False))
        prediction = Prediction(tenant=scope.tenant_id, interview_id=UUID(interview_id), item_key=key,
                                model_version=version.id if version else None, source=source)
        if problem:
            prediction.insufficient_data = problem
        else:
            p = predict(load_model(model_bytes(key), spec.categorical), spec, feature_names, row)
            prediction.value = p.value
            prediction.contributions = [[name, value] for name, value in p.contributions]
            prediction.base_value = p.base_value
        await prediction.save()
        made.append(prediction)
    if not problem:
        await record_usage(scope.tenant_id, PREDICTIONS, 1, act=f"{interview_id}:{source}")
    for prediction in made:
        await host.call_for_tenant("mendan_prediction_made", enabled=enabled, tenant_id=scope.tenant_id,
                                   prediction=prediction)
    log.info("ai_model.predicted", interview_id=interview_id, items=len(made), source=source,
             insufficient=bool(problem))
    return f"{len(made)} predictions" + (f" (insufficient data: {problem})" if problem else "")


async def review(scope: TenantScope, prediction_id: Any, user: Any, *, override: float | None, comment: str) -> Prediction:
    """A person confirms the AI's score, or replaces it with their own; recorded either way."""
    prediction = await scope.get(Prediction, prediction_id)
    values = {
        Prediction.status: "overridden" if override is not None else "confirmed",
        Prediction.override_value: override,
        Prediction.reviewed_by: user.id,
        Prediction.reviewed_at: datetime.now(timezone.utc),
        Prediction.comment: comment[:2000],
    }
    await scope.update(Prediction, values).where(Prediction.id == prediction.id)
    return await scope.get(Prediction, prediction_id)


async def unevaluated_analysed_interviews(scope: TenantScope) -> list[UUID]:
    """Interviews with stored features that no expert has evaluated: what the model is for."""
    labelled = {str(k) for k in await expert_labels(scope)}
    rows = await scope.select(FeatureValue, FeatureValue.interview_id).distinct()
    return [r["interview_id"] for r in rows if str(r["interview_id"]) not in labelled]
