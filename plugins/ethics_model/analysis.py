"""The AI-ethics analysis of one model version: its training labels, its experts and its
cross-validated predictions, per protected group, with a feature-family ablation.

What the model learnt from comes through the contract (`mendan_model_evaluation`, answered
by the AI model plugin); the protected attributes from `core.interviews.attributes`; the metrics from
`core.fairness`. `analyse_evaluation` is pure, so it is tested and benchmarked without a
database.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from uuid import UUID

import numpy as np
import pandas as pd
import structlog

from core.interviews.api import definitions, groups_for_interviews, report_names
from core.tables import FeatureValue, User
from core.fairness import FairnessSettings, analyse_item, fairness_settings, make_report, plain, rate_table
from core.runtime import runtime
from core.tasks import JobRefused, report_progress
from core.tenancy import TenantScope
from core.usage import record_usage
from core.web.i18n import N_
from plugins.ethics_model.tables import ModelReport

KEY = "ethics_model"
from plugins.ethics_model.meters import ANALYSES
FAMILIES = ("face", "emotion", "conversation")
FAMILY_NAMES = {"face": ["顔の表情と動き", "Face expressions and movements"],
                "emotion": ["表情から推定した感情", "Emotions estimated from the face"],
                "conversation": ["話し方と話の内容", "Speech and what was said"]}
log = structlog.get_logger("mendan.ethics_model")


def feature_family(column: str) -> str:
    """The family of a feature column `{extractor}.{name}`: face, emotion, conversation, or the
    extractor's own name for anything else."""
    extractor, _, name = column.partition(".")
    if "emo_" in name or "emotion" in column:
        return "emotion"
    if any(word in extractor for word in ("face", "video")):
        return "face"
    if any(word in extractor for word in ("speech", "transcript", "summary", "conversation", "audio", "voice")):
        return "conversation"
    return extractor


def family_names(host: Any) -> dict[str, list[str]]:
    """How the report names each feature family: the three above, and another extractor's
    family by the name of the plugin that contributes it."""
    names = dict(FAMILY_NAMES)
    for extractor in host.feature_extractors(None):
        owner = host.metas.get(host.extractor_owner(extractor.name) or "")
        if owner is not None:
            names.setdefault(extractor.name, [owner.name_ja, owner.name_en])
    return names


def _oof_predictions(X: np.ndarray, y: np.ndarray, folds: int = 3, seed: int = 0) -> np.ndarray:
    from catboost import CatBoostRegressor

    order = np.random.default_rng(seed).permutation(len(y))
    out = np.empty(len(y))
    for k in range(folds):
        test = order[k::folds]
        train = np.setdiff1d(order, test)
        # Cheap on purpose: the ablation compares families, it does not need the best model.
        model = CatBoostRegressor(iterations=40, depth=4, learning_rate=0.2, random_seed=seed, thread_count=2,
                                  verbose=False, allow_writing_files=False)
        model.fit(X[train], y[train])
        out[test] = model.predict(X[test])
    return out


def family_ablation(features: pd.DataFrame, labels: pd.Series, item: dict[str, Any], groups: pd.DataFrame,
                    attributes: list[str], settings: FairnessSettings,
                    focus: list[tuple[str, str]]) -> dict[str, Any] | None:
    """Retrain on each feature family alone and report the impact ratio of the focus groups
    ((category, group) pairs) under each: the family that reproduces a disparity carries it."""
    common = features.index.intersection(labels.index)
    if len(common) < 30 or not focus:
        return None
    threshold = settings.threshold_for(item["scale_min"], item["scale_max"])
    by_family: dict[str, list[str]] = {}
    for column in features.columns:
        by_family.setdefault(feature_family(column), []).append(column)
    y = labels.loc[common].to_numpy(dtype=float)
    rows = []
    for family in sorted(by_family, key=lambda f: (f not in FAMILIES, FAMILIES.index(f) if f in FAMILIES else 0, f)):
        columns = by_family[family]
        X = features.loc[common, columns].to_numpy(dtype=float)
        if np.all(np.isnan(X)):
            continue
        predicted = pd.Series(np.clip(_oof_predictions(X, y), item["scale_min"], item["scale_max"]), index=common)
        table = {(r["category"], r["group"]): r for r in rate_table(predicted >= threshold, groups, attributes, settings)}
        rows.append({"family": family, "n_features": len(columns), "mae": float(np.mean(np.abs(predicted.to_numpy() - y))),
                     "groups": [{"category": c, "group": g,
                                 "impact_ratio": (table.get((c, g)) or {}).get("impact_ratio"),
                                 "flagged": bool((table.get((c, g)) or {}).get("flagged"))} for c, g in focus]})
    return {"item": item["key"], "rows": rows}


def _focus(item_report: dict[str, Any]) -> list[tuple[str, str]]:
    """The groups the ablation follows: those flagged anywhere in the item, else each single
    attribute's lowest impact ratio among groups that are not small."""
    flagged = [(r["category"], r["group"]) for source in ("prediction_rates", "label_rates")
               for r in item_report.get(source, []) if r["flagged"]]
    flagged += [(r["attribute"], r["group"]) for r in item_report.get("experts", []) if r["flagged"]]
    if flagged:
        return list(dict.fromkeys(flagged))[:4]
    lowest: dict[str, dict[str, Any]] = {}
    for r in item_report.get("prediction_rates", []):
        if " × " in r["category"] or r["small"] or r["impact_ratio"] is None:
            continue
        if r["category"] not in lowest or r["impact_ratio"] < lowest[r["category"]]["impact_ratio"]:
            lowest[r["category"]] = r
    return [(r["category"], r["group"]) for r in lowest.values()][:4]


def analyse_evaluation(evaluation: dict[str, Any], groups: pd.DataFrame, attributes: list[str],
                       settings: FairnessSettings, *, features: pd.DataFrame | None = None,
                       expert_names: dict[str, str] | None = None, made_at: str | None = None,
                       names: dict[str, Any] | None = None) -> dict[str, Any]:
    """The report of one model version from what `mendan_model_evaluation` answered.

    groups: core.interviews.attributes.groups_for_interviews of the labelled interviews; features: one
    row per interview, one column per model feature (for the ablation; None skips it); names: how the
    attributes and their values are named (core.interviews.api.report_names)."""
    groups, features = plain(groups), plain(features)
    items = []
    for key, spec in evaluation["items"].items():
        labels = pd.Series({i: v[key] for i, v in evaluation["labels"].items() if v.get(key) is not None}, dtype=float)
        scores = pd.DataFrame([{"interview_id": r["interview_id"], "expert_id": r["expert_id"], "score": float(r["scores"][key])}
                               for r in evaluation["expert_scores"] if r["scores"].get(key) is not None])
        oof = pd.Series(evaluation["oof"].get(key, {}), dtype=float)
        if len(oof):
            oof = oof.clip(spec["scale_min"], spec["scale_max"])
        items.append(analyse_item(key=key, name=spec["name"], scale_min=spec["scale_min"], scale_max=spec["scale_max"],
                                  groups=groups, attributes=attributes, settings=settings, labels=labels,
                                  expert_scores=scores, predictions=oof if len(oof) else None))
    ablation = None
    if features is not None and items and len(features.columns):
        # The item with the most flags is where a cause is worth finding.
        item = max(items, key=lambda it: sum(r["flagged"] for s in ("label_rates", "prediction_rates", "experts")
                                             for r in it.get(s, [])))
        labels = pd.Series({i: v[item["key"]] for i, v in evaluation["labels"].items()
                            if v.get(item["key"]) is not None}, dtype=float)
        ablation = family_ablation(features, labels, item, groups, attributes, settings, _focus(item))
    number = evaluation["version"]
    return make_report(kind="model", subject_ja=f"モデル v{number}", subject_en=f"Model v{number}",
                       made_at=made_at or datetime.now(timezone.utc).isoformat(), groups=groups,
                       attributes=attributes, items=items, settings=settings, expert_names=expert_names,
                       ablation=ablation, names=names)


async def feature_matrix(scope: TenantScope, interview_ids: list[str], columns: list[str]) -> pd.DataFrame:
    """The model's feature columns for these interviews, read from the core's stored features:
    each interview's own (aggregated) values, as the model learnt them, never one recording's."""
    rows = await scope.select(FeatureValue, FeatureValue.interview_id, FeatureValue.extractor, FeatureValue.name,
                              FeatureValue.value).where(
        FeatureValue.interview_id.is_in([UUID(i) for i in interview_ids] or [UUID(int=0)])
        & FeatureValue.recording_id.is_null())
    if not rows:
        return pd.DataFrame(index=interview_ids)
    frame = pd.DataFrame(rows)
    frame["column"] = frame["extractor"] + "." + frame["name"]
    frame["interview_id"] = frame["interview_id"].astype(str)
    table = frame.pivot_table(index="interview_id", columns="column", values="value", aggfunc="last")
    return table.reindex(index=interview_ids, columns=[c for c in columns if c in table.columns])


async def analyse_version(tenant_id: str, version_id: str, requested_by: str | None = None) -> str:
    """The `ethics_model.analyse` actor: analyse one model version and store the report."""
    scope = TenantScope(UUID(str(tenant_id)))
    host = runtime().host
    answers = await host.call_for_tenant("mendan_model_evaluation", tenant_id=scope.tenant_id,
                                         version_id=version_id)
    if not answers:
        raise JobRefused(N_("no built model version answers with its training data (is the AI model service on?)"))
    evaluation = answers[0][1]
    defined = await definitions(scope)
    attributes = [d.key for d in defined]
    if not attributes:
        raise JobRefused(N_("no protected attributes are defined: define them under Protected attributes first"))
    report_progress(10, N_("reading protected attributes"))
    interview_ids = list(evaluation["labels"])
    groups = await groups_for_interviews(scope, interview_ids)
    features = await feature_matrix(scope, interview_ids, evaluation["feature_names"])
    experts = {r["expert_id"] for r in evaluation["expert_scores"]}
    names = {str(r["id"]): r["display_name"] or r["email"] for r in await scope.select(
        User, User.id, User.display_name, User.email).where(User.id.is_in([UUID(e) for e in experts] or [UUID(int=0)]))}
    report_progress(30, N_("measuring"))
    settings = await fairness_settings(host, scope.tenant_id, KEY)
    report = analyse_evaluation(evaluation, groups, attributes, settings, features=features, expert_names=names,
                                names=report_names(defined) | {"families": family_names(host)})
    row = await scope.add(ModelReport(tenant=scope.tenant_id, model_version_id=str(version_id),
                                      model_version_number=evaluation["version"], requested_by=requested_by,
                                      risk=report["risk"], report=report))
    await record_usage(scope.tenant_id, ANALYSES, 1, act=f"report:{row.id}")
    log.info("ethics_model.analysed", version=evaluation["version"], risk=report["risk"])
    return f"report {row.id}: risk {report['risk']}"
