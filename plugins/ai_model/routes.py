"""Pages of the AI model plugin, mounted under /t/{tenant}/ai_model/."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any
from uuid import UUID

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.exceptions import ValidationException
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template

from core import audit, csv_output
from core.db.json_columns import json_value
from core.auth.guards import requires_admin, requires_staff
from core.db.tables import Tenant, User
from core.hours import service_guard
from core.interviews.tables import Interview
from core.tenancy import TenantScope
from core.web.i18n import gettext as _
from core.web.rendering import page
from plugins.ai_model import service
from plugins.ai_model.tables import ModelVersion, Prediction

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]



async def latest_predictions(scope: TenantScope, interview_id: Any) -> list[dict[str, Any]]:
    """The interview's current prediction per item (reviewed or not), newest first."""
    rows = await scope.objects(Prediction).where(Prediction.interview_id == interview_id).order_by(
        Prediction.created_at, ascending=False)
    names: dict[str, dict[str, Any]] = {}
    seen: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row.item_key in seen:
            continue
        version_id = str(row.model_version) if row.model_version else None
        if version_id and version_id not in names:
            version = await scope.objects(ModelVersion).where(ModelVersion.id == row.model_version).first()
            names[version_id] = json_value(version.items) if version else {}
        name = names.get(version_id, {}).get(row.item_key, {}).get("name", row.item_key)
        seen[row.item_key] = {"row": row, "name": name, "contributions": json_value(row.contributions)}
    return list(seen.values())


def _version_view(version: ModelVersion) -> dict[str, Any]:
    items = json_value(version.items) or {}
    for meta in items.values():
        importance = meta.get("importance", {})
        top = max(importance.values(), default=0) or 1
        meta["bars"] = [(name, value, 100 * value / top) for name, value in importance.items()]
    return {"row": version, "items": items, "warnings": json_value(version.warnings) or [],
            "per_expert": json_value(version.per_expert) or {},
            "excluded": (json_value(version.training_snapshot) or {}).get("excluded", {})}


@get("/", guards=[requires_staff])
async def models_page(request: Request, tenant_scope: NamedDependency[TenantScope]) -> Template:
    versions = await tenant_scope.objects(ModelVersion).order_by(ModelVersion.number, ascending=False)
    experts = {str(u.id): u for u in await tenant_scope.objects(User).where(User.role == "expert")}
    return await page(request, "ai_model/models.html", versions=[_version_view(v) for v in versions],
                      experts=experts, is_admin=request.user.role == "admin")


@post("/build", guards=[requires_admin])
async def start_build(request: Request, tenant_scope: NamedDependency[TenantScope],
                      tenant_row: NamedDependency[Tenant]) -> Redirect:
    job_id = await request.app.state.tasks.enqueue("ai_model.build", tenant_id=tenant_scope.tenant_id,
                                                   requested_by=str(request.user.id))
    await audit.record("ai_model.build_requested", tenant_id=tenant_scope.tenant_id, actor=request.user,
                       target=str(job_id), ip=audit.client_ip(request))
    return Redirect(f"/t/{tenant_row.slug}/jobs/{job_id}")


@post("/versions/{version_id:uuid}/activate", guards=[requires_admin])
async def activate_version(request: Request, tenant_scope: NamedDependency[TenantScope],
                           tenant_row: NamedDependency[Tenant], version_id: FromPath[UUID]) -> Redirect:
    try:
        version = await service.activate(tenant_scope, version_id)
    except ValueError as exc:
        raise ValidationException(_("Only a ready model version can be activated.")) from exc
    await audit.record("ai_model.activated", tenant_id=tenant_scope.tenant_id, actor=request.user,
                       target=f"v{version.number}", ip=audit.client_ip(request))
    return Redirect(f"/t/{tenant_row.slug}/ai_model/")


# Predictions run at any time, but their result screen keeps the course's hours (spec table 5-1).
RESULT_SCREEN = service_guard("interactive")


@post("/predictions/{prediction_id:uuid}/review", guards=[requires_staff, RESULT_SCREEN])
async def review_prediction(request: Request, tenant_scope: NamedDependency[TenantScope],
                            tenant_row: NamedDependency[Tenant], prediction_id: FromPath[UUID],
                            data: Form) -> Redirect:
    prediction = await tenant_scope.get(Prediction, prediction_id)
    await tenant_scope.get(Interview, prediction.interview_id)
    override = None
    if data.get("action") == "override":
        try:
            override = float(str(data.get("value", "")).strip())
        except ValueError as exc:
            raise ValidationException(_("Enter your own score as a number.")) from exc
    elif prediction.value is None:
        raise ValidationException(_("There is no AI score to confirm; enter your own score."))
    reviewed = await service.review(tenant_scope, prediction_id, request.user, override=override,
                                    comment=str(data.get("comment", "")))
    await audit.record(f"ai_model.prediction_{reviewed.status}", tenant_id=tenant_scope.tenant_id,
                       actor=request.user, target=str(prediction_id),
                       detail={"item": reviewed.item_key, "ai": reviewed.value, "override": override},
                       ip=audit.client_ip(request))
    return Redirect(f"/t/{tenant_row.slug}/interviews/{prediction.interview_id}#ai-predictions")


@get("/predictions.csv", guards=[requires_staff, RESULT_SCREEN])
async def export_predictions(tenant_scope: NamedDependency[TenantScope]) -> Response[str]:
    """Every prediction; one not yet reviewed by a person says so in the `status` column."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["interview_id", "item", "ai_score", "status", "reviewed_score", "source", "insufficient_data",
                     "created_at"])
    rows = await tenant_scope.objects(Prediction).order_by(Prediction.created_at)
    for r in rows:
        reviewed = r.override_value if r.status == "overridden" else (r.value if r.status == "confirmed" else "")
        writer.writerow(csv_output.row([r.interview_id, r.item_key, "" if r.value is None else round(r.value, 3),
                                        "UNCONFIRMED" if r.status == "unconfirmed" else r.status, reviewed, r.source,
                                        r.insufficient_data, r.created_at.isoformat()]))
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": 'attachment; filename="ai_predictions.csv"'})


HANDLERS = [models_page, start_build, activate_version, review_prediction, export_predictions]
