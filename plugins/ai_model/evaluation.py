"""What the ai_model plugin tells other plugins about its models and predictions, through
the contract (mendan_model_versions, mendan_model_evaluation, mendan_prediction_records),
so that the AI-ethics options never import this plugin."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from core.tables import json_value
from core.tenancy import TenantScope
from plugins.ai_model.service import item_specs
from plugins.ai_model.tables import ModelVersion, Prediction


async def model_versions(tenant_id: Any) -> list[dict[str, Any]]:
    rows = await TenantScope(tenant_id).select(
        ModelVersion, ModelVersion.id, ModelVersion.number, ModelVersion.state, ModelVersion.active,
        ModelVersion.created_at, ModelVersion.n_interviews).order_by(ModelVersion.number, ascending=False)
    return [{**r, "id": str(r["id"])} for r in rows]


async def model_evaluation(tenant_id: Any, version_id: Any) -> dict[str, Any] | None:
    try:
        wanted = UUID(str(version_id))
    except ValueError:
        return None
    version = await TenantScope(tenant_id).objects(ModelVersion).where(ModelVersion.id == wanted).first()
    if version is None or version.state != "ready":
        return None
    snapshot = json_value(version.training_snapshot) or {}
    items = json_value(version.items) or {}
    return {
        "version": version.number,
        "feature_names": list(json_value(version.feature_names) or []),
        "items": {k: {"name": v["name"], "scale_min": v["scale_min"], "scale_max": v["scale_max"]}
                  for k, v in items.items() if not v.get("categorical")},
        "labels": snapshot.get("interviews", {}),
        "expert_scores": [{"interview_id": i, "expert_id": e, "scores": s} for i, e, s in snapshot.get("expert_scores", [])],
        "oof": snapshot.get("oof", {}),
    }


async def prediction_records(tenant_id: Any, since: datetime, until: datetime) -> dict[str, Any]:
    scope = TenantScope(tenant_id)
    rows = await scope.select(Prediction, Prediction.interview_id, Prediction.item_key, Prediction.value,
                              Prediction.source, Prediction.created_at).where(
        (Prediction.created_at >= since) & (Prediction.created_at < until) & Prediction.value.is_not_null())
    specs = await item_specs(scope)
    return {
        "items": {k: {"name": s.name, "scale_min": s.scale_min, "scale_max": s.scale_max} for k, s in specs.items()},
        "predictions": [{**r, "interview_id": str(r["interview_id"])} for r in rows],
    }
