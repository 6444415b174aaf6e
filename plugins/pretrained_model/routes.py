"""The tenant page (/t/{tenant}/pretrained_model/, admins) and the vendor workspace
(/ops/pretrained_model/, operators). Every decision is audited."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any, AsyncIterator
from uuid import UUID

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, FromPath
from litestar.response import Redirect, ServerSentEvent, Template
from litestar.response.sse import ServerSentEventMessage

from core import audit
from core.auth.guards import requires_admin
from core.job_heartbeat import shown_state
from core.job_texts import job_texts
from core.tables import Job, Tenant, json_value
from core.tenancy import TenantScope
from core.web.i18n import current_language
from core.web.i18n import gettext as _
from core.web.rendering import page
from plugins.pretrained_model import service
from plugins.pretrained_model.service import VendorProblem
from plugins.pretrained_model.tables import VendorVersion

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
Upload = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)]


def origin_labels() -> dict[str, str]:
    return {"imported": _("imported"), "donated": _("donated"), "generated": _("generated")}


def card_labels() -> dict[str, str]:
    return {"intended_use_ja": _("Intended use (Japanese)"), "intended_use_en": _("Intended use (English)"),
            "limits_ja": _("Limits (Japanese)"), "limits_en": _("Limits (English)"), "licence": _("Licence")}


def card_view(version: VendorVersion) -> dict[str, Any]:
    """A version's model card in the request's language: what a tenant reads before use."""
    language = current_language.get()
    card = json_value(version.card) or {}
    items = json_value(version.items) or {}
    return {
        "number": version.number, "generated": version.generated, "published": version.published,
        "n": version.n_material, "period_from": version.period_from, "period_to": version.period_to,
        "origins": {origin_labels().get(k, k): n for k, n in (json_value(version.origins) or {}).items()}, "features": json_value(version.feature_names) or [],
        "items": [{"key": k, "name": m["name_ja"] if language == "ja" else m["name_en"],
                   "scale_min": m["scale_min"], "scale_max": m["scale_max"], "n": m["n"], "metrics": m["metrics"]}
                  for k, m in items.items()],
        "intended_use": card.get(f"intended_use_{language}", card.get("intended_use_en", "")),
        "limits": card.get(f"limits_{language}", card.get("limits_en", "")),
        "licence": card.get("licence", ""),
    }


# -- the tenant's page ------------------------------------------------------------------------

# The AI-ethics option that monitors a tenant's predictions, met through its navigation item
# (plugins never import each other): the card points there when the tenant has it.
PREDICTION_MONITORING = "ethics_prediction"


async def ethics_monitoring(request: Request, tenant: Tenant) -> dict[str, str] | None:
    """{"href", "label"} of the prediction-fairness monitoring the reader may open, or None when the
    tenant does not have that option (or the reader may not see protected attributes)."""
    host = request.app.state.plugin_host
    language = current_language.get()
    for key, items in await host.call_for_tenant("mendan_nav_items", tenant=tenant, user=request.user):
        if key == PREDICTION_MONITORING:
            for item in items or []:
                return {"href": f"/t/{tenant.slug}/{item.path}", "label": item.label(language)}
    return None


async def _tenant_page(request: Request, scope: TenantScope, error: str = "", status_code: int = 200):
    version = await service.published_version()
    choice = await service.choice_of(scope)
    accepted = None
    if choice is not None and choice.version is not None:
        accepted = await VendorVersion.objects().where(VendorVersion.id == choice.version).first()
    return await page(
        request, "pretrained_model/tenant.html", status_code=status_code, error=error,
        card=card_view(version) if version else None, version=version, accepted=accepted, choice=choice,
        own_items=list((await service.tenant_items(scope)).values()), mapping=await service.mapping_of(scope),
        comparison=await service.comparison(scope.tenant_id),
        ethics_link=await ethics_monitoring(request, request.state["tenant"]))


@get("/", guards=[requires_admin])
async def tenant_page(request: Request, tenant_scope: NamedDependency[TenantScope]) -> Template:
    return await _tenant_page(request, tenant_scope)


@post("/mapping", guards=[requires_admin])
async def save_mapping(request: Request, tenant_scope: NamedDependency[TenantScope],
                       tenant_row: NamedDependency[Tenant], data: Form) -> Any:
    version = await service.published_version()
    if version is None or str(data.get("version_id", "")) != str(version.id):
        return await _tenant_page(request, tenant_scope, _("The published model changed: read its card again."), 409)
    mapping = {k[5:]: str(v) for k, v in data.items() if k.startswith("item:")}
    try:
        await service.save_mapping(tenant_scope, version, mapping, user=request.user)
    except VendorProblem as exc:
        return await _tenant_page(request, tenant_scope, str(exc), 400)
    await audit.record("pretrained_model.mapped", tenant_id=tenant_scope.tenant_id, actor=request.user,
                       target=f"vendor-v{version.number}", detail={"mapping": mapping}, ip=audit.client_ip(request))
    return Redirect(f"/t/{tenant_row.slug}/pretrained_model/")


@post("/choice", guards=[requires_admin])
async def save_choice(request: Request, tenant_scope: NamedDependency[TenantScope],
                      tenant_row: NamedDependency[Tenant], data: Form) -> Any:
    use = str(data.get("use", ""))
    weights: dict[str, float] = {}
    measured_on = None
    if use == "blend":
        measured = await service.comparison(tenant_scope.tenant_id)
        weights = service.blend_weights(measured)
        if not weights:
            return await _tenant_page(request, tenant_scope,
                                      _("A blend needs both models measured on your evaluated interviews."), 400)
        measured_on = measured["own_version"]
    try:
        await service.choose(tenant_scope, use, weights, user=request.user, measured_on=measured_on)
    except VendorProblem as exc:
        return await _tenant_page(request, tenant_scope, str(exc), 400)
    await audit.record("pretrained_model.chosen", tenant_id=tenant_scope.tenant_id, actor=request.user,
                       target=use, detail={"weights": weights, "measured_on": measured_on}, ip=audit.client_ip(request))
    return Redirect(f"/t/{tenant_row.slug}/pretrained_model/")


TENANT_HANDLERS = [tenant_page, save_mapping, save_choice]


# -- the vendor workspace (operators) -----------------------------------------------------------

TRAIN_ACTOR = "pretrained_model.train"


async def _ops_page(request: Request, error: str = "", status_code: int = 200, typed_version: str = "",
                   typed_card: dict[str, str] | None = None):
    """The workspace; a refused card re-renders with what the operator typed (`typed_card` of `typed_version`)."""
    versions = await VendorVersion.objects().where(VendorVersion.state == "ready").order_by(
        VendorVersion.number, ascending=False)
    jobs = await Job.objects().where((Job.actor == TRAIN_ACTOR) & Job.tenant.is_null()).order_by(
        Job.created_at, ascending=False).limit(5)
    queued = str(request.query_params.get("queued", ""))
    return await page(request, "pretrained_model/ops.html", status_code=status_code, error=error,
                      items=list((await service.vendor_items()).values()), material=await service.material_summary(),
                      versions=[(v, card_view(v)) for v in versions], card_fields=card_labels(),
                      origins=origin_labels(), jobs=jobs, typed_version=typed_version, typed_card=typed_card or {}, queued=next((j for j in jobs if str(j.id) == queued), None))


def _number(value: Any) -> float:
    try:
        return float(str(value).strip())
    except ValueError:
        return float("nan")


@get("/")
async def ops_page(request: Request) -> Template:
    return await _ops_page(request)


@post("/items")
async def ops_save_item(request: Request, data: Form) -> Any:
    try:
        item = await service.save_item(str(data.get("key", "")), str(data.get("name_ja", "")),
                                       str(data.get("name_en", "")), _number(data.get("scale_min")),
                                       _number(data.get("scale_max")))
    except VendorProblem as exc:
        return await _ops_page(request, str(exc), 400)
    await audit.record("pretrained_model.item_saved", actor=request.user, target=item.key, ip=audit.client_ip(request))
    return Redirect("/ops/pretrained_model/")


@post("/material")
async def ops_add_material(request: Request, data: Upload) -> Any:
    upload = data.get("file")
    content = await upload.read() if upload is not None and hasattr(upload, "read") else b""
    origin = str(data.get("origin", ""))
    try:
        if origin not in ("imported", "donated"):
            raise VendorProblem(_("Unknown origin of training material."))
        rows = service.parse_material_csv(content)
        count = await service.add_material(rows, origin=origin, donor=str(data.get("donor", "")),
                                           consent_record=str(data.get("consent_record", "")))
    except VendorProblem as exc:
        return await _ops_page(request, str(exc), 400)
    await audit.record("pretrained_model.material_added", actor=request.user, target=origin,
                       detail={"interviews": count, "donor": str(data.get("donor", ""))}, ip=audit.client_ip(request))
    return Redirect("/ops/pretrained_model/")


@post("/train")
async def ops_train(request: Request) -> Any:
    """Training runs as a job (`pretrained_model.train`); the page says it was queued and links to it."""
    job_id = await request.app.state.tasks.enqueue(TRAIN_ACTOR, tenant_id=None, requested_by=str(request.user.id))
    await audit.record("pretrained_model.train_requested", actor=request.user, target=str(job_id),
                       ip=audit.client_ip(request))
    return Redirect(f"/ops/pretrained_model/?queued={job_id}")


async def _training_job(job_id: UUID) -> Job:
    job = await Job.objects().where((Job.id == job_id) & (Job.actor == TRAIN_ACTOR) & Job.tenant.is_null()).first()
    if job is None:
        raise NotFoundException(_("No such training job."))
    return job


@get("/jobs/{job_id:uuid}")
async def ops_job_page(request: Request, job_id: FromPath[UUID]) -> Template:
    """A training job's progress, live (the same page script as a tenant's job page)."""
    return await page(request, "pretrained_model/job.html", job=await _training_job(job_id))


@get("/jobs/{job_id:uuid}/events")
async def ops_job_events(job_id: FromPath[UUID]) -> ServerSentEvent:
    """Progress as server-sent events, until the job is done or failed."""
    await _training_job(job_id)
    language = current_language.get()

    async def stream() -> AsyncIterator[ServerSentEventMessage]:
        last = None
        while True:
            job = await _training_job(job_id)
            state = {"state": shown_state(job), "progress": job.progress,
                     **job_texts(job.message, job.error, language)}
            if state != last:
                yield ServerSentEventMessage(data=json.dumps(state), event="progress")
                last = state
            if job.state in ("done", "failed"):
                return
            await asyncio.sleep(0.5)

    return ServerSentEvent(stream())


@post("/versions/{version_id:uuid}/publish")
async def ops_publish(request: Request, version_id: FromPath[UUID], data: Form) -> Any:
    card = {f: str(data.get(f, "")) for f in service.CARD_FIELDS}
    try:
        version = await service.publish(version_id, card)
    except VendorProblem as exc:
        return await _ops_page(request, str(exc), 400, typed_version=str(version_id), typed_card=card)
    await audit.record("pretrained_model.published", actor=request.user, target=f"vendor-v{version.number}",
                       ip=audit.client_ip(request))
    return Redirect("/ops/pretrained_model/")


OPS_HANDLERS = [ops_page, ops_save_item, ops_add_material, ops_train, ops_job_page, ops_job_events, ops_publish]
