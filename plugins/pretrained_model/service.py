"""The vendor workspace (material, items, versions, publishing) and a tenant's use of it
(item mapping, the base model it offers ai_model, the comparison with its own model, the blend).

Vendor rows have no tenant; a tenant reaches a vendor version only through `base_model`
(numbers predicted on its own features) and the published model card, never its material.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any
from uuid import UUID

import structlog

from core import audit
from core.interviews.api import QuestionSetVersion, items_of
from core.runtime import runtime
from core.tables import FeatureValue, json_value
from core.tenancy import TenantScope
from core.web.i18n import N_, current_language, gettext as _

from plugins.pretrained_model.tables import Artifact, Choice, ItemMapping, Material, VendorItem, VendorVersion

log = structlog.get_logger("pretrained_model")

ORIGINS = ("imported", "donated", "generated")
USES = ("vendor", "own", "blend")
CARD_FIELDS = ("intended_use_ja", "intended_use_en", "limits_ja", "limits_en", "licence")


class VendorProblem(ValueError):
    """Input the vendor workspace or a tenant's page cannot keep; the message (translated) says why."""


# -- the vendor workspace -------------------------------------------------------------------

async def save_item(key: str, name_ja: str, name_en: str, scale_min: float, scale_max: float) -> VendorItem:
    """Add or change a vendor evaluation item. VendorProblem on an empty name, an empty scale, or a
    scale that leaves out scores of this item already in the training material."""
    key = key.strip().lower()
    if not key or not key.replace("_", "").isalnum() or not name_ja.strip() or not name_en.strip():
        raise VendorProblem(_("A vendor item needs a key (letters, digits, _) and a name in Japanese and English."))
    if not (math.isfinite(scale_min) and math.isfinite(scale_max)) or scale_max <= scale_min:
        raise VendorProblem(_("A scale needs its highest score above its lowest."))
    # A scale that leaves out stored scores would train on scores off the card's scale and rescale
    # tenants' predictions wrongly.
    scores = [json_value(m["scores"]).get(key) for m in await Material.select(Material.scores)]
    scores = [float(v) for v in scores if v is not None]
    if scores and not scale_min <= min(scores) <= max(scores) <= scale_max:
        raise VendorProblem(_("The training material already has scores of “%(key)s” from %(low)s to %(high)s: "
                              "the scale must include them.")
                            % {"key": key, "low": f"{min(scores):g}", "high": f"{max(scores):g}"})
    item = await VendorItem.objects().where(VendorItem.key == key).first()
    if item is None:
        item = VendorItem(key=key)
    item.name_ja, item.name_en, item.scale_min, item.scale_max = name_ja.strip(), name_en.strip(), scale_min, scale_max
    await item.save()
    return item


async def vendor_items() -> dict[str, VendorItem]:
    return {i.key: i for i in await VendorItem.objects().order_by(VendorItem.key)}


async def add_material(rows: list[dict[str, Any]], *, origin: str, donor: str = "", consent_record: str = "") -> int:
    """Store interviews of training material: rows of {"reference", "recorded_on" (date or None),
    "features" {name: value}, "scores" {vendor item key: score}, optional "line" (the CSV line, for
    messages)}. Donated material needs the donor and its consent record; every row needs a reference
    not already in the file or the material and at least one score, each on its item's scale.
    All or nothing (VendorProblem naming the line); returns the count."""
    if origin not in ORIGINS:
        raise VendorProblem(_("Unknown origin of training material."))
    if origin == "donated" and not (donor.strip() and consent_record.strip()):
        raise VendorProblem(_("Donated interviews need the donor and the reference of its consent record."))
    items = await vendor_items()
    # The same interview twice would count twice in training and in the card's data size.
    seen: dict[str, Any] = {}
    for number, row in enumerate(rows, start=2):
        line = row.get("line", number)
        reference = str(row.get("reference", "")).strip()
        if not reference:
            raise VendorProblem(_("Line %(line)s: the reference is empty.") % {"line": line})
        if reference in seen:
            raise VendorProblem(_("Line %(line)s: the reference “%(reference)s” is already on line %(first)s.")
                                % {"line": line, "reference": reference, "first": seen[reference]})
        seen[reference] = line
        if not row["scores"]:
            raise VendorProblem(_("Line %(line)s: the interview has no score (columns score:{item key}).")
                                % {"line": line})
    known = {m["reference"] for m in await Material.select(Material.reference).where(
        Material.reference.is_in(list(seen)))} if seen else set()
    if known:
        reference = next(r for r in seen if r in known)
        raise VendorProblem(_("Line %(line)s: the reference “%(reference)s” is already in the training material.")
                            % {"line": seen[reference], "reference": reference})
    for row in rows:
        for key, score in row["scores"].items():
            item = items.get(key)
            if item is None:
                raise VendorProblem(_("No vendor item “%(key)s”: add it first.") % {"key": key})
            if not item.scale_min <= score <= item.scale_max:
                name = item.name_ja if current_language.get() == "ja" else item.name_en
                raise VendorProblem(_("“%(item)s” takes a score from %(low)s to %(high)s.")
                                    % {"item": name, "low": f"{item.scale_min:g}", "high": f"{item.scale_max:g}"})
    await Material.insert(*[Material(origin=origin, reference=str(r.get("reference", "")).strip()[:200],
                                     recorded_on=r.get("recorded_on"), features=r["features"], scores=r["scores"],
                                     donor=donor.strip()[:200], consent_record=consent_record.strip())
                            for r in rows]) if rows else None
    return len(rows)


def parse_material_csv(data: bytes) -> list[dict[str, Any]]:
    """Rows of material from a CSV file: columns `reference`, `recorded_on` (YYYY-MM-DD),
    feature columns `{extractor}.{feature}` and score columns `score:{item}`. VendorProblem
    with the line number when a value is not a number or a date."""
    from core.csv_input import CsvUnreadable, read_csv

    try:
        table = read_csv(data)
    except CsvUnreadable as exc:
        raise VendorProblem(str(exc)) from exc
    rows = []
    for line, values in table.rows:
        row: dict[str, Any] = {"reference": values.get("reference", ""), "recorded_on": None, "features": {},
                               "scores": {}, "line": line}
        try:
            if values.get("recorded_on"):
                row["recorded_on"] = date.fromisoformat(values["recorded_on"])
            for column, text in values.items():
                if not text:
                    continue
                if column.startswith("score:"):
                    row["scores"][column[6:]] = float(text)
                elif "." in column:
                    row["features"][column] = float(text)
        except ValueError as exc:
            raise VendorProblem(_("Line %(line)s: a value is not a number or a date (YYYY-MM-DD).")
                                % {"line": line}) from exc
        if not all(math.isfinite(v) for v in [*row["features"].values(), *row["scores"].values()]):
            raise VendorProblem(_("Line %(line)s: a value is not a number or a date (YYYY-MM-DD).") % {"line": line})
        rows.append(row)
    if not rows:
        raise VendorProblem(_("The file has no interviews."))
    return rows


async def material_summary() -> dict[str, Any]:
    """The whole material: {"n", "origins" (origin -> count), "period_from", "period_to"}."""
    return material_summary_of(await Material.objects())


def material_summary_of(material: list[Material]) -> dict[str, Any]:
    days = [m.recorded_on for m in material if m.recorded_on]
    origins: dict[str, int] = {}
    for m in material:
        origins[m.origin] = origins.get(m.origin, 0) + 1
    return {"n": len(material), "origins": origins, "period_from": min(days, default=None),
            "period_to": max(days, default=None)}


async def train_job(tenant_id: None = None, requested_by: str | None = None) -> str:
    """The `pretrained_model.train` actor: an operator's "Train a new version", with progress on
    its job page. Exactly one version per job: a retried or re-queued job finishes the version its
    first attempt started, and does nothing once that version is ready. Material that cannot make
    a model fails the job at once (JobRefused, the trainer's reason) without retries."""
    from core.tasks import JobRefused, current_job_id, report_progress

    job_id = current_job_id.get()
    if job_id is not None:
        earlier = await VendorVersion.objects().where(VendorVersion.job_id == UUID(job_id)).first()
        if earlier is not None and earlier.state == "ready":
            return f"vendor-v{earlier.number}"
    report_progress(2, N_("collecting the training material"))
    try:
        version = await train_version(created_by=UUID(requested_by) if requested_by else None, job_id=job_id,
                                      progress=lambda p, m: report_progress(5 + int(p * 0.9), m))
    except VendorProblem as exc:
        raise JobRefused(str(exc)) from exc
    await audit.record("pretrained_model.trained", actor=UUID(requested_by) if requested_by else None,
                       target=f"vendor-v{version.number}", detail={"job": job_id or ""})
    return f"vendor-v{version.number}"


async def train_version(*, created_by: Any = None, folds: int = 5, iterations: int | None = None,
                        reference_prefix: str = "", job_id: str | None = None,
                        progress: Any = None) -> VendorVersion:
    """Train a vendor version on the material (all of it, or the interviews whose reference starts
    with `reference_prefix`) with the trainer of ai_model (core.model_training), one model per
    vendor item, cross-validated; `progress(percent 0-100, message)` is called while it trains.
    With `job_id` the version is kept "training" under that job until its models are stored, and
    a second call for the same job finishes that version instead of making another. Unpublished
    until `publish`. VendorProblem when the material cannot make a model (the trainer's reason)."""
    import pandas as pd

    from core.model_training import ITERATIONS, ItemSpec, TrainingRefused, build

    query = Material.objects()
    if reference_prefix:
        query = query.where(Material.reference.like(reference_prefix.replace("%", "") + "%"))
    material = await query
    items = await vendor_items()
    if not material or not items:
        raise VendorProblem(_("Add vendor items and training material before training."))
    features = pd.DataFrame.from_dict({str(m.id): json_value(m.features) for m in material}, orient="index")
    labels = pd.DataFrame.from_dict({str(m.id): json_value(m.scores) for m in material}, orient="index")
    specs = [ItemSpec(k, i.name_en, i.scale_min, i.scale_max) for k, i in items.items() if k in labels.columns]
    try:
        result = await asyncio.to_thread(build, features, labels, specs, folds=folds,
                                         iterations=iterations or ITERATIONS, progress=progress)
    except TrainingRefused as exc:
        raise VendorProblem(str(exc)) from exc
    summary = material_summary_of(material)
    version = await VendorVersion.objects().where(VendorVersion.job_id == UUID(job_id)).first() if job_id else None
    if version is None:
        numbers = await VendorVersion.select(VendorVersion.number).order_by(VendorVersion.number, ascending=False).limit(1)
        version = VendorVersion(number=(numbers[0]["number"] + 1) if numbers else 1, job_id=job_id,
                                state="training" if job_id else "ready")
        await version.save()
    else:  # an earlier attempt of this job died before its models were all stored
        await Artifact.delete().where(Artifact.version == version.id)
    await Artifact.insert(*[Artifact(version=version.id, item_key=k, model=r.model_bytes) for k, r in result.items.items()])
    await VendorVersion.update({
        VendorVersion.state: "ready",
        VendorVersion.generated: set(summary["origins"]) == {"generated"},
        VendorVersion.n_material: result.n_interviews, VendorVersion.period_from: summary["period_from"],
        VendorVersion.period_to: summary["period_to"], VendorVersion.origins: summary["origins"],
        VendorVersion.feature_names: result.feature_names,
        VendorVersion.items: {k: {"name_ja": items[k].name_ja, "name_en": items[k].name_en,
                                  "scale_min": items[k].scale_min, "scale_max": items[k].scale_max, "n": r.n,
                                  "metrics": _finite(r.metrics),
                                  "importance": dict(sorted(r.importance.items(), key=lambda kv: -kv[1])[:10])}
                              for k, r in result.items.items()},
        VendorVersion.created_by: getattr(created_by, "id", created_by),
    }).where(VendorVersion.id == version.id)
    log.info("pretrained_model.trained", version=version.number, interviews=result.n_interviews)
    return await VendorVersion.objects().where(VendorVersion.id == version.id).first()


def _finite(metrics: dict[str, float]) -> dict[str, float | None]:
    return {k: (v if isinstance(v, float) and math.isfinite(v) else None) for k, v in metrics.items()}


async def publish(version_id: Any, card: dict[str, str]) -> VendorVersion:
    """Publish a version with its model card; every card field (intended use and limits in
    Japanese and English, licence) is required. The newest published version is what tenants use."""
    missing = [f for f in CARD_FIELDS if not str(card.get(f, "")).strip()]
    if missing:
        raise VendorProblem(_("The model card needs its intended use and limits in Japanese and English, and a licence."))
    version = await VendorVersion.objects().where(VendorVersion.id == version_id).first()
    if version is None or version.state != "ready":
        raise VendorProblem(_("No such vendor model version."))
    await VendorVersion.update({VendorVersion.published: True, VendorVersion.published_at: datetime.now(timezone.utc),
                                VendorVersion.card: {f: str(card[f]).strip() for f in CARD_FIELDS}}).where(
        VendorVersion.id == version.id)
    return await VendorVersion.objects().where(VendorVersion.id == version.id).first()


async def published_version() -> VendorVersion | None:
    """The version tenants are offered: the newest published one trained on real material. A
    version trained on generated material (the demo's) is offered only while none is, so
    running `mendan demo` on a database never displaces a real published model; a tenant that
    accepted a generated version (the demo tenant) keeps it until its admin accepts another."""
    published = VendorVersion.published == True  # noqa: E712
    real = await VendorVersion.objects().where(published & (VendorVersion.generated == False)).order_by(  # noqa: E712
        VendorVersion.number, ascending=False).first()
    return real or await VendorVersion.objects().where(published).order_by(VendorVersion.number, ascending=False).first()


async def ensure_generated_version(extractor: str = "face_features", n: int = 120) -> VendorVersion:
    """The demo's vendor model on `extractor`'s features: the newest published generated version
    that uses them if there is one, else generated items and material (references
    `generated-{extractor}-`), trained on that material alone and published with the generated
    card. A version trained on real material is never taken for the demo's."""
    from plugins.pretrained_model.generated import CARD, ITEMS, generated_material

    for version in await VendorVersion.objects().where(
            (VendorVersion.published == True) & (VendorVersion.generated == True)).order_by(  # noqa: E712
            VendorVersion.number, ascending=False):
        if any(name.startswith(extractor + ".") for name in json_value(version.feature_names)):
            return version
    for key, name_ja, name_en, low, high in ITEMS:
        await save_item(key, name_ja, name_en, low, high)
    prefix = f"generated-{extractor}-"
    if not await Material.count().where(Material.reference.like(prefix + "%")):
        await add_material(generated_material(n, extractor=extractor), origin="generated")
    version = await train_version(iterations=150, reference_prefix=prefix)
    return await publish(version.id, CARD)


# -- a tenant's use ---------------------------------------------------------------------------

async def tenant_items(scope: TenantScope) -> dict[str, Any]:
    """The tenant's evaluation items by key (the newest question set version's wording wins)."""
    out: dict[str, Any] = {}
    for version in await scope.objects(QuestionSetVersion).order_by(QuestionSetVersion.created_at):
        for item in items_of(version):
            out[item.key] = item
    return out


async def mapping_of(scope: TenantScope) -> dict[str, str]:
    return {m.item_key: m.vendor_item for m in await scope.objects(ItemMapping)}


async def choice_of(scope: TenantScope) -> Choice | None:
    return await scope.objects(Choice).first()


async def save_mapping(scope: TenantScope, version: VendorVersion, mapping: dict[str, str], *, user: Any) -> None:
    """Accept the published `version` (its card shown) and map tenant items onto its items
    ("" leaves an item unmapped). VendorProblem for an unknown item."""
    own = await tenant_items(scope)
    vendor = json_value(version.items) or {}
    for item_key, vendor_key in mapping.items():
        if item_key not in own or (vendor_key and vendor_key not in vendor):
            raise VendorProblem(_("Map each of your items onto one of the vendor model's items, or leave it unmapped."))
    async with scope.transaction():
        await scope.delete(ItemMapping).where(ItemMapping.id.is_not_null())
        rows = [ItemMapping(tenant=scope.tenant_id, item_key=k, vendor_item=v) for k, v in mapping.items() if v]
        if rows:
            await ItemMapping.insert(*rows)
        choice = await choice_of(scope)
        if choice is None:
            await Choice.insert(Choice(tenant=scope.tenant_id, version=version.id, chosen_by=getattr(user, "id", user)))
        else:
            await scope.update(Choice, {Choice.version: version.id, Choice.chosen_by: getattr(user, "id", user),
                                        Choice.chosen_at: datetime.now(timezone.utc)}).where(Choice.id == choice.id)


async def choose(scope: TenantScope, use: str, weights: dict[str, float], *, user: Any,
                 measured_on: int | None = None) -> None:
    """The admin's choice of model: "vendor", "own" or "blend" (with the vendor's share per item,
    measured on the own model's version `measured_on`)."""
    if use not in USES:
        raise VendorProblem(_("Choose the pretrained model, your own model or a blend."))
    choice = await choice_of(scope)
    if choice is None or choice.version is None:
        raise VendorProblem(_("Read the model card and map your items before choosing."))
    blend = use == "blend"
    await scope.update(Choice, {Choice.use: use, Choice.weights: weights if blend else {},
                                Choice.weights_measured_on: measured_on if blend else None,
                                Choice.chosen_by: getattr(user, "id", user),
                                Choice.chosen_at: datetime.now(timezone.utc)}).where(Choice.id == choice.id)


def blend_weights(measured: dict[str, Any] | None) -> dict[str, float]:
    """The vendor's share per item from `comparison`'s figures ({} when nothing was measured)."""
    return {k: round(v["weight"], 4) for k, v in (measured or {}).get("items", {}).items()}


async def remeasure_blend(tenant_id: Any) -> dict[str, float] | None:
    """After the tenant's own model changed (`mendan_model_activated`): a tenant that chose the
    blend gets its weights measured again on the new active version, audited as
    `pretrained_model.weights_measured` (no actor: the system did it). Returns the new weights,
    or None when the tenant does not blend or the new version cannot be measured (then the old
    weights stay and the page shows the version they were measured on)."""
    scope = TenantScope(tenant_id)
    choice = await choice_of(scope)
    if choice is None or choice.use != "blend":
        return None
    measured = await comparison(tenant_id)
    weights = blend_weights(measured)
    if not weights:
        log.info("pretrained_model.blend_not_measured", tenant_id=str(tenant_id))
        return None
    await scope.update(Choice, {Choice.weights: weights, Choice.weights_measured_on: measured["own_version"]}).where(
        Choice.id == choice.id)
    await audit.record("pretrained_model.weights_measured", tenant_id=tenant_id,
                       target=f"v{measured['own_version']}", detail={"weights": weights})
    return weights


@dataclass
class BaseModel:
    """What `mendan_base_model` offers ai_model (see core.hookspecs): tenant item keys, rescaled."""

    name: str
    feature_names: list[str]
    items: dict[str, dict[str, Any]]
    models: dict[str, bytes] = field(repr=False)
    use: str = "fallback"
    weights: dict[str, float] = field(default_factory=dict)

    def model_bytes(self, item_key: str) -> bytes:
        return self.models[item_key]


async def base_model(tenant_id: Any) -> BaseModel | None:
    """The tenant's vendor model: the version it accepted, on the items it mapped, each vendor
    item's output rescaled linearly onto the tenant item's scale. None before it accepted a card
    or mapped an item (or when the version has no model for a mapped item)."""
    from core.model_training import linear_rescale

    scope = TenantScope(tenant_id)
    choice = await choice_of(scope)
    if choice is None or choice.version is None:
        return None
    version = await VendorVersion.objects().where(VendorVersion.id == choice.version).first()
    if version is None or not version.published:
        return None
    vendor = json_value(version.items) or {}
    own = await tenant_items(scope)
    mapping = {k: v for k, v in (await mapping_of(scope)).items() if k in own and v in vendor}
    if not mapping:
        return None
    artifacts = {a.item_key: a.model for a in await Artifact.objects().where(
        (Artifact.version == version.id) & Artifact.item_key.is_in(list(set(mapping.values()))))}
    items, models = {}, {}
    for key, vendor_key in mapping.items():
        if vendor_key not in artifacts:
            continue
        meta = vendor[vendor_key]
        scale, shift = linear_rescale(meta["scale_min"], meta["scale_max"], own[key].scale_min, own[key].scale_max)
        items[key] = {"name": own[key].name, "scale_min": own[key].scale_min, "scale_max": own[key].scale_max,
                      "scale": scale, "shift": shift}
        models[key] = bytes(artifacts[vendor_key])
    if not items:
        return None
    use = choice.use if choice.use in ("vendor", "blend") else "fallback"
    return BaseModel(name=f"vendor-v{version.number}", feature_names=list(json_value(version.feature_names)),
                     items=items, models=models, use=use, weights=json_value(choice.weights) or {})


async def _features(scope: TenantScope, interview_ids: list[str]) -> dict[str, dict[str, float]]:
    """Each interview's stored aggregate features, `{extractor}.{feature}` -> value."""
    rows = await scope.select(FeatureValue, FeatureValue.interview_id, FeatureValue.extractor, FeatureValue.name,
                              FeatureValue.value).where(
        FeatureValue.recording_id.is_null() & FeatureValue.interview_id.is_in([UUID(i) for i in interview_ids] or [UUID(int=0)]))
    out: dict[str, dict[str, float]] = {}
    for r in rows:
        if r["value"] is not None:
            out.setdefault(str(r["interview_id"]), {})[f"{r['extractor']}.{r['name']}"] = float(r["value"])
    return out


async def comparison(tenant_id: Any) -> dict[str, Any] | None:
    """Both models measured on the tenant's own expert-evaluated interviews, item by item.

    The own model's numbers are its cross-validated predictions (`mendan_model_evaluation` of the
    active version); the vendor model never saw these interviews, so its predictions are honest
    as they are; the blend (weighted by measured accuracy) takes each interview's weight from the
    other folds only. Each metric set carries a 95% bootstrap interval of its MAE. None without
    an active own model or a vendor model.
    """
    import numpy as np

    from core.model_training import (
        ItemSpec,
        accuracy_weight,
        bootstrap_interval,
        cross_fitted_blend,
        load_model,
        predict,
        regression_metrics,
    )

    host = runtime().host
    base = await base_model(tenant_id)
    if base is None:
        return None
    versions = [v for _key, answer in await host.call_for_tenant("mendan_model_versions", tenant_id=tenant_id)
                for v in answer if v.get("active")]
    if not versions:
        return None
    evaluations = [e for _key, e in await host.call_for_tenant("mendan_model_evaluation", tenant_id=tenant_id,
                                                               version_id=versions[0]["id"])]
    if not evaluations:
        return None
    evaluation = evaluations[0]
    labels = evaluation["labels"]
    features = await _features(TenantScope(tenant_id), list(labels))
    out: dict[str, Any] = {"own_version": evaluation["version"], "vendor": base.name, "items": {}}
    for key, meta in base.items.items():
        oof = evaluation["oof"].get(key) or {}
        ids = [i for i in oof if labels.get(i, {}).get(key) is not None and i in features]
        if len(ids) < 5:
            continue
        spec = ItemSpec(key, meta["name"], meta["scale_min"], meta["scale_max"])
        model = load_model(base.model_bytes(key))
        truth = np.array([float(labels[i][key]) for i in ids])
        own = np.clip(np.array([float(oof[i]) for i in ids]), spec.scale_min, spec.scale_max)
        vendor = np.array([predict(model, spec, base.feature_names, features[i], scale=meta["scale"],
                                   shift=meta["shift"], top=1).value for i in ids])
        blend = cross_fitted_blend(truth, own, vendor)
        integer = spec.integer_scale
        rows = {}
        for name, predicted in (("own", own), ("vendor", vendor), ("blend", blend)):
            low, high = bootstrap_interval(truth, predicted)
            rows[name] = {**_finite(regression_metrics(truth, predicted, integer)), "mae_low": low, "mae_high": high}
        out["items"][key] = {"name": meta["name"], "n": len(ids), "metrics": rows,
                             "weight": accuracy_weight(truth, own, vendor)}
    return out
