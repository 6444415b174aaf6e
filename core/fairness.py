"""Fairness metrics shared by the AI-ethics options (ethics_model, ethics_prediction).

Public API for plugins (docs/plugins.md, "Fairness analysis"). Pure functions over
pandas tables, so they are tested and benchmarked without a database:

- `groups`: one row per interview (index: interview id as str), one column per protected
  attribute key, holding the value key, `UNDISCLOSED` ("prefer not to say") or None (never
  asked or not entered).
- scores are on the evaluation item's scale (e.g. 1-5); an interview *passes* when its score
  is at or above the pass threshold.

`analyse_item` gives every table of one evaluation item; `findings` turns the tables into
plain-language findings (Japanese and English) with a risk level; `psi` measures drift
between two score distributions. aif360 computes the standard metrics (disparate impact,
statistical parity difference, equal opportunity difference, average odds difference,
Theil index); the rest (rates, intervals, tests) is plain numpy/scipy.
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import asdict, dataclass, field

from core.fairness_settings import FairnessSettings
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

UNDISCLOSED = "undisclosed"  # the "prefer not to say" answer, always offered
ALPHA = 0.01  # a gap is reported only when this unlikely under equal treatment (many groups are compared)
RISK_LEVELS = ("low", "medium", "high")



async def fairness_settings(host: Any, tenant_id: Any, key: str) -> FairnessSettings:
    """The tenant's thresholds for the plugin `key` (its per-tenant settings; defaults where unset)."""
    return await host.settings_for(tenant_id, key)


# -- small statistics ---------------------------------------------------------


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion; (nan, nan) for n = 0."""
    if n == 0:
        return (float("nan"), float("nan"))
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def _fisher_p(a_pass: int, a_n: int, b_pass: int, b_n: int) -> float:
    if a_n == 0 or b_n == 0:
        return 1.0
    return float(stats.fisher_exact([[a_pass, a_n - a_pass], [b_pass, b_n - b_pass]]).pvalue)


def _num(value: float) -> float | None:
    """JSON-safe: None for nan and infinities."""
    return None if value is None or not math.isfinite(float(value)) else round(float(value), 4)


def plain(table: Any) -> Any:
    """A Series or DataFrame indexed (and, for a DataFrame of groups, filled) with plain Python
    strings: pandas' Arrow-backed strings are slow at the membership tests done here."""
    if table is None:
        return None
    table = table.set_axis(pd.Index([str(i) for i in table.index], dtype=object))
    return table.astype(object) if isinstance(table, pd.DataFrame) and table.dtypes.map(
        lambda d: not pd.api.types.is_numeric_dtype(d)).all() else table


# -- groups -------------------------------------------------------------------


def disclosed(groups: pd.DataFrame, attribute: str) -> pd.Series:
    """The attribute's value for interviews that disclosed one (no None, no UNDISCLOSED)."""
    column = groups[attribute]
    kept = column[column.notna() & (column != UNDISCLOSED)]
    return pd.Series([str(v) for v in kept], index=kept.index, dtype=object)


def categories(groups: pd.DataFrame, attributes: list[str]) -> list[tuple[str, pd.Series]]:
    """Each attribute, and each pair of attributes (intersections as "a × b"), as a category:
    (category name, value per interview that disclosed all its attributes)."""
    out = [(a, disclosed(groups, a)) for a in attributes]
    for a, b in itertools.combinations(attributes, 2):
        left, right = disclosed(groups, a), disclosed(groups, b)
        both = left.index.intersection(right.index)
        out.append((f"{a} × {b}", pd.Series([f"{x} × {y}" for x, y in zip(left.loc[both], right.loc[both])],
                                            index=both, dtype=object)))
    return out


def representation(groups: pd.DataFrame, attributes: list[str]) -> list[dict[str, Any]]:
    """Per attribute and value: count and share of all interviews, with the undisclosed and the
    missing (never entered) counted apart, so that they are stated, never hidden."""
    n = len(groups)
    rows = []
    for attribute in attributes:
        column = groups[attribute] if attribute in groups else pd.Series([None] * n, index=groups.index)
        missing = int(column.isna().sum())
        undisclosed = int((column == UNDISCLOSED).sum())
        for value, count in disclosed(groups, attribute).value_counts().sort_index().items():
            rows.append({"attribute": attribute, "group": value, "n": int(count), "share": _num(count / n if n else 0)})
        rows.append({"attribute": attribute, "group": UNDISCLOSED, "n": undisclosed, "share": _num(undisclosed / n if n else 0)})
        rows.append({"attribute": attribute, "group": None, "n": missing, "share": _num(missing / n if n else 0)})
    return rows


# -- rates (NYC LL144-style) and aif360 -----------------------------------------


def rate_table(passed: pd.Series, groups: pd.DataFrame, attributes: list[str],
               settings: FairnessSettings) -> list[dict[str, Any]]:
    """The LL144-style table: per category (each attribute and each intersection) and group,
    n, share, scoring rate (share passing) with its 95 % interval, impact ratio (rate over the
    highest rate among the category's groups that are not small), whether the group is small
    (< `small_group_share` of the category), the Fisher exact p-value against that best group,
    and `flagged` when the ratio breaks the four-fifths rule at p < ALPHA."""
    rows: list[dict[str, Any]] = []
    for category, values in categories(groups, attributes):
        values = values[values.index.isin(passed.index)]
        total = len(values)
        if total == 0:
            continue
        counts = pd.DataFrame({"group": values.to_numpy(), "passed": passed.reindex(values.index).to_numpy(dtype=bool)})
        summary = counts.groupby("group")["passed"].agg(["size", "sum"])
        per_group = [(str(g), int(n), int(k)) for g, n, k in zip(summary.index, summary["size"], summary["sum"])]
        large = [g for g in per_group if g[1] / total >= settings.small_group_share]
        best = max(large or per_group, key=lambda g: g[2] / g[1])
        best_rate = best[2] / best[1]
        for group, n, passing in per_group:
            rate = passing / n
            ratio = rate / best_rate if best_rate > 0 else float("nan")
            small = n / total < settings.small_group_share
            p = _fisher_p(passing, n, best[2], best[1]) if group != best[0] else 1.0
            low, high = wilson_interval(passing, n)
            rows.append({
                "category": category, "group": group, "n": n, "share": _num(n / total), "passing": passing,
                "rate": _num(rate), "rate_low": _num(low), "rate_high": _num(high), "impact_ratio": _num(ratio),
                "small": small, "p_value": _num(p),
                "flagged": bool(not small and math.isfinite(ratio) and ratio < settings.impact_ratio_min and p < ALPHA),
            })
    return rows


def _aif360():
    """aif360's dataset and metric classes. Its package logs a warning per optional algorithm
    it cannot load (tensorflow, fairlearn...); only its metrics are used here, so those are muted."""
    import logging

    logging.disable(logging.WARNING)
    try:
        from aif360.datasets import BinaryLabelDataset
        from aif360.metrics import BinaryLabelDatasetMetric, ClassificationMetric
    finally:
        logging.disable(logging.NOTSET)
    return BinaryLabelDataset, BinaryLabelDatasetMetric, ClassificationMetric


def _aif_frame(mask: pd.Series, truth: pd.Series, predicted: pd.Series | None = None):
    """aif360 datasets with one binary protected column: 1 = the rest (privileged), 0 = the group."""
    BinaryLabelDataset = _aif360()[0]

    frame = pd.DataFrame({"group": (~mask).astype(float).to_numpy(), "label": truth.astype(float).to_numpy()})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset = BinaryLabelDataset(df=frame, label_names=["label"], protected_attribute_names=["group"],
                                     favorable_label=1.0, unfavorable_label=0.0)
        if predicted is None:
            return dataset, None
        prediction = dataset.copy(deepcopy=True)
        prediction.labels = predicted.astype(float).to_numpy().reshape(-1, 1)
    return dataset, prediction


UNPRIVILEGED, PRIVILEGED = [{"group": 0.0}], [{"group": 1.0}]


def label_metrics(scores: pd.Series, threshold: float, groups: pd.DataFrame,
                  attributes: list[str]) -> list[dict[str, Any]]:
    """Per attribute and group (against the rest of those who disclosed): n, mean score with a
    95 % interval, share passing, and aif360 `BinaryLabelDatasetMetric` disparate impact and
    statistical parity difference of passing."""
    BinaryLabelDatasetMetric = _aif360()[1]
    rows = []
    for attribute in attributes:
        values = disclosed(groups, attribute)
        values = values[values.index.isin(scores.index)]
        if values.nunique() < 2:
            continue
        s = scores.loc[values.index]
        passed = s >= threshold
        for group in sorted(values.unique()):
            mask = values == group
            dataset, _ = _aif_frame(mask, passed)
            metric = BinaryLabelDatasetMetric(dataset, unprivileged_groups=UNPRIVILEGED, privileged_groups=PRIVILEGED)
            members = s[mask]
            half = 1.96 * float(members.std(ddof=1)) / math.sqrt(len(members)) if len(members) > 1 else float("nan")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                rows.append({
                    "attribute": attribute, "group": group, "n": int(mask.sum()),
                    "mean": _num(members.mean()), "mean_low": _num(members.mean() - half),
                    "mean_high": _num(members.mean() + half), "pass_share": _num(passed[mask].mean()),
                    "disparate_impact": _num(metric.disparate_impact()),
                    "statistical_parity_difference": _num(metric.statistical_parity_difference()),
                })
    return rows


def expert_disparity(expert_scores: pd.DataFrame, threshold: float, groups: pd.DataFrame,
                     attributes: list[str], settings: FairnessSettings) -> list[dict[str, Any]]:
    """Expert by expert, per attribute and group: the expert's n, mean score, pass rate and
    impact ratio (pass rate over the expert's best pass rate in that attribute), and the paired
    gap: on the same interviews, how much lower (negative) the expert scored this group than the
    other experts did, minus the same difference for the rest, with a Welch t-test p-value.
    `flagged` when the gap is at least `expert_gap_points` at p < ALPHA and the expert's own
    impact ratio for the group breaks the four-fifths rule.

    `expert_scores` has columns interview_id (str), expert_id (str), score (float).
    """
    scores = expert_scores.copy()
    scores["interview_id"] = scores["interview_id"].map(str).astype(object)
    totals = scores.groupby("interview_id")["score"].agg(["sum", "count"])
    scores = scores.join(totals, on="interview_id")
    others = scores["count"] > 1
    # The other experts' mean on the same interview: what this expert's score is compared with.
    scores["difference"] = np.where(
        others, scores["score"] - (scores["sum"] - scores["score"]) / (scores["count"] - 1).clip(lower=1), np.nan)
    rows = []
    for attribute in attributes:
        values = disclosed(groups, attribute)
        joined = scores[scores["interview_id"].isin(values.index)].copy()
        joined["group"] = values.reindex(joined["interview_id"]).to_numpy()
        for expert_id, own in joined.groupby("expert_id"):
            if own["group"].nunique() < 2:
                continue
            passing = (own["score"] >= threshold).groupby(own["group"]).mean()
            means = own["score"].groupby(own["group"]).mean()
            sizes = own.groupby("group").size()
            best = float(passing.max())
            for group in sorted(passing.index):
                inside = own["group"] == group
                gap_in = own.loc[inside, "difference"].dropna()
                gap_rest = own.loc[~inside, "difference"].dropna()
                if len(gap_in) > 1 and len(gap_rest) > 1:
                    gap = float(gap_in.mean() - gap_rest.mean())
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        p = float(stats.ttest_ind(gap_in, gap_rest, equal_var=False).pvalue)
                else:
                    gap, p = float("nan"), float("nan")
                rate = float(passing[group])
                rows.append({
                    "expert_id": str(expert_id), "attribute": attribute, "group": group, "n": int(sizes[group]),
                    "mean": _num(means[group]), "rate": _num(rate),
                    "impact_ratio": _num(rate / best if best > 0 else float("nan")),
                    "paired_gap": _num(gap), "p_value": _num(p),
                    # With two experts the pairing alone cannot tell who deviates: the other one
                    # looks lenient to the rest. The expert's own rates must also break the rule.
                    "flagged": bool(math.isfinite(gap) and gap <= -settings.expert_gap_points
                                    and math.isfinite(p) and p < ALPHA and best > 0
                                    and rate / best < settings.impact_ratio_min),
                })
    rows.sort(key=lambda r: (r["expert_id"], attributes.index(r["attribute"]), r["group"]))
    return rows


def error_metrics(truth: pd.Series, predicted: pd.Series, threshold: float, groups: pd.DataFrame,
                  attributes: list[str], settings: FairnessSettings) -> list[dict[str, Any]]:
    """The model's errors per attribute and group (cross-validated predictions against the
    labels): n, MAE, Spearman correlation, and aif360 `ClassificationMetric` at the pass
    threshold (this group against the rest): disparate impact of predicted passing, equal
    opportunity difference, average odds difference, and the between-group Theil index (the inequality of
    benefits between this group and the rest). `flagged` when the group's MAE exceeds the rest's by more than `mae_gap_max`
    (Mann-Whitney p < ALPHA) or |equal opportunity difference| exceeds `spd_max` (Fisher p < ALPHA)."""
    ClassificationMetric = _aif360()[2]
    common = truth.index.intersection(predicted.index)
    truth, predicted = truth.loc[common], predicted.loc[common]
    rows = []
    for attribute in attributes:
        values = disclosed(groups, attribute)
        values = values[values.index.isin(common)]
        if values.nunique() < 2:
            continue
        t, p = truth.loc[values.index], predicted.loc[values.index]
        error = (p - t).abs()
        for group in sorted(values.unique()):
            mask = values == group
            dataset, prediction = _aif_frame(mask, t >= threshold, p >= threshold)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                metric = ClassificationMetric(dataset, prediction, unprivileged_groups=UNPRIVILEGED,
                                              privileged_groups=PRIVILEGED)
                eod = metric.equal_opportunity_difference()
                row_rho = (stats.spearmanr(t[mask], p[mask]).statistic
                           if mask.sum() > 2 and t[mask].std() > 0 and p[mask].std() > 0 else float("nan"))
                mae, mae_rest = float(error[mask].mean()), float(error[~mask].mean())
                mw = (stats.mannwhitneyu(error[mask], error[~mask]).pvalue
                      if mask.sum() > 1 and (~mask).sum() > 1 else float("nan"))
                # Equal opportunity: among those who truly pass, does the model pass this group as often?
                positive = t >= threshold
                hit = p >= threshold
                eod_p = _fisher_p(int((hit & positive & mask).sum()), int((positive & mask).sum()),
                                  int((hit & positive & ~mask).sum()), int((positive & ~mask).sum()))
                rows.append({
                    "attribute": attribute, "group": group, "n": int(mask.sum()), "mae": _num(mae),
                    "mae_rest": _num(mae_rest), "spearman": _num(row_rho),
                    "disparate_impact": _num(metric.disparate_impact()),
                    "equal_opportunity_difference": _num(eod),
                    "average_odds_difference": _num(metric.average_odds_difference()),
                    "theil_index": _num(metric.between_group_theil_index()),
                    "flagged": bool((mae - mae_rest > settings.mae_gap_max and math.isfinite(mw) and mw < ALPHA)
                                    or (math.isfinite(eod) and abs(eod) > settings.spd_max and eod_p < ALPHA)),
                })
    return rows


def analyse_item(*, key: str, name: str, scale_min: float, scale_max: float, groups: pd.DataFrame,
                 attributes: list[str], settings: FairnessSettings, labels: pd.Series | None = None,
                 expert_scores: pd.DataFrame | None = None,
                 predictions: pd.Series | None = None) -> dict[str, Any]:
    """Every table for one evaluation item, JSON-able.

    labels: the mean expert score per interview; expert_scores: one row per expert score;
    predictions: the model's (cross-validated, or live) score per interview. Each is optional:
    the tables that need a missing input are left out.
    """
    groups, labels, predictions = (plain(x) for x in (groups, labels, predictions))
    if expert_scores is not None:
        expert_scores = expert_scores.astype({"interview_id": object, "expert_id": object})
    threshold = settings.threshold_for(scale_min, scale_max)
    out: dict[str, Any] = {"key": key, "name": name, "scale_min": scale_min, "scale_max": scale_max,
                           "pass_threshold": threshold}
    if labels is not None and len(labels):
        out["label_rates"] = rate_table(labels >= threshold, groups, attributes, settings)
        out["label_metrics"] = label_metrics(labels, threshold, groups, attributes)
    if expert_scores is not None and len(expert_scores):
        out["experts"] = expert_disparity(expert_scores, threshold, groups, attributes, settings)
    if predictions is not None and len(predictions):
        out["prediction_rates"] = rate_table(predictions >= threshold, groups, attributes, settings)
        out["prediction_metrics"] = label_metrics(predictions, threshold, groups, attributes)
        if labels is not None and len(labels):
            out["errors"] = error_metrics(labels, predictions, threshold, groups, attributes, settings)
    return out


# -- drift ----------------------------------------------------------------------


def histogram(scores: pd.Series | np.ndarray, scale_min: float, scale_max: float, bins: int = 10) -> list[int]:
    """Counts of scores in `bins` equal bins over the item's scale (what a snapshot keeps)."""
    counts, _ = np.histogram(np.clip(np.asarray(scores, dtype=float), scale_min, scale_max), bins=bins,
                             range=(scale_min, scale_max))
    return [int(c) for c in counts]


def psi(expected: list[int], actual: list[int]) -> float:
    """Population stability index between two histograms over the same bins (0: the same;
    above 0.2 is commonly read as a shifted distribution). Empty bins count as half a case."""
    e = np.asarray(expected, dtype=float) + 0.5
    a = np.asarray(actual, dtype=float) + 0.5
    e, a = e / e.sum(), a / a.sum()
    return float(np.sum((a - e) * np.log(a / e)))


# -- findings -------------------------------------------------------------------


@dataclass
class Finding:
    """One plain-language finding: its level, what was seen and what to do, in both languages."""

    level: str  # low | medium | high
    ja: str
    en: str
    action_ja: str = ""
    action_en: str = ""
    facts: dict[str, Any] = field(default_factory=dict)


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.0f}%"


def attribute_name(report: dict[str, Any], category: str, language: str) -> str:
    """An attribute (or an intersection "a × b") as the report names it in `language`."""
    names = (report.get("names") or {}).get("attributes", {})
    index = 0 if language == "ja" else 1
    return " × ".join(names.get(a, [a, a])[index] for a in category.split(" × "))


def group_name(report: dict[str, Any], category: str, group: Any, language: str) -> str:
    """A group's value (or an intersection's "x × y") as the report names it in `language`; the key
    where the report has no name for it. None (never entered) is returned as ""."""
    if group is None:
        return ""
    names = (report.get("names") or {}).get("groups", {})
    index = 0 if language == "ja" else 1
    attributes, values = category.split(" × "), str(group).split(" × ")
    if len(attributes) != len(values):
        return str(group)
    return " × ".join(names.get(a, {}).get(v, [v, v])[index] for a, v in zip(attributes, values))


def family_name(report: dict[str, Any], family: str, language: str) -> str:
    """A feature family of the ablation as the report names it in `language`; its key where unnamed."""
    names = (report.get("names") or {}).get("families", {})
    return names.get(family, [family, family])[0 if language == "ja" else 1]


def _who(report: dict[str, Any], category: str, group: Any, language: str) -> str:
    return f"{attribute_name(report, category, language)} = {group_name(report, category, group, language)}"


def findings(report: dict[str, Any], settings: FairnessSettings,
             expert_names: dict[str, str] | None = None) -> list[Finding]:
    """Plain-language findings of a report made of `analyse_item` results (report["items"]),
    representation, and optionally drift (report["drift"]). Never empty: when nothing crosses
    a threshold, one low-level finding says so."""
    names = expert_names or {}
    out: list[Finding] = []
    for item in report.get("items", []):
        label = item["name"]
        for source, what_ja, what_en in (("label_rates", "専門家の評価", "expert evaluations"),
                                         ("prediction_rates", "AIの予測", "the AI's predictions")):
            for row in item.get(source, []):
                if not row["flagged"]:
                    continue
                spd = next((m["statistical_parity_difference"] for m in item.get(
                    "label_metrics" if source == "label_rates" else "prediction_metrics", [])
                    if m["group"] == row["group"] and m["attribute"] == row["category"]), None)
                level = "high" if spd is None or abs(spd) > settings.spd_max else "medium"
                who_ja, who_en = (_who(report, row["category"], row["group"], lang) for lang in ("ja", "en"))
                out.append(Finding(
                    level,
                    f"「{label}」の{what_ja}で、{who_ja} の合格率は {_pct(row['rate'])}、"
                    f"インパクト比は {row['impact_ratio']:.2f} で、4/5 ルール（{settings.impact_ratio_min:.2f}）を下回っています。",
                    f"In {what_en} of \"{label}\", {who_en} passes at {_pct(row['rate'])}; "
                    f"its impact ratio {row['impact_ratio']:.2f} is below the four-fifths rule "
                    f"({settings.impact_ratio_min:.2f}).",
                    "評価基準と評価の過程を見直し、この集団の面談を複数の評価者で再確認してください。",
                    "Review the evaluation criteria and process, and have several evaluators re-check this "
                    "group's interviews.",
                    {"item": item["key"], "source": source, "category": row["category"], "group": row["group"],
                     "impact_ratio": row["impact_ratio"]}))
        for row in item.get("experts", []):
            if not row["flagged"]:
                continue
            who = names.get(row["expert_id"], row["expert_id"])
            out.append(Finding(
                "high",
                f"「{label}」で、評価者 {who} は {_who(report, row['attribute'], row['group'], 'ja')} の面談を、"
                f"同じ面談を評価した他の評価者より "
                f"平均 {abs(row['paired_gap']):.2f} 点低く評価しています（インパクト比 {row['impact_ratio']:.2f}）。",
                f"In \"{label}\", expert {who} scores {_who(report, row['attribute'], row['group'], 'en')} "
                f"{abs(row['paired_gap']):.2f} points lower on average than the other experts scoring the same "
                f"interviews (impact ratio {row['impact_ratio']:.2f}).",
                "この評価者の評価をモデルの学習から外すか再評価を依頼し、評価基準の研修を検討してください。"
                "この結果は評価者個人の評価に使わないでください。",
                "Consider leaving this expert's scores out of training or asking for a re-evaluation, and "
                "training on the criteria. Do not use this result to judge the expert as a person.",
                {"item": item["key"], "expert_id": row["expert_id"], "attribute": row["attribute"],
                 "group": row["group"], "impact_ratio": row["impact_ratio"], "paired_gap": row["paired_gap"]}))
        for row in item.get("errors", []):
            if not row["flagged"]:
                continue
            out.append(Finding(
                "medium",
                f"「{label}」で、AIモデルの正確さが {_who(report, row['attribute'], row['group'], 'ja')} と他の集団で異なります"
                f"（平均絶対誤差 {row['mae']:.2f}、他の集団 {row['mae_rest']:.2f}、機会均等差 "
                f"{row['equal_opportunity_difference'] if row['equal_opportunity_difference'] is not None else '—'}）。",
                f"In \"{label}\", the model is not equally accurate for "
                f"{_who(report, row['attribute'], row['group'], 'en')} "
                f"(MAE {row['mae']:.2f} against {row['mae_rest']:.2f} for the rest; equal opportunity difference "
                f"{row['equal_opportunity_difference'] if row['equal_opportunity_difference'] is not None else '—'}).",
                "この集団の学習データを増やし、モデルを再構築してください。予測は必ず人が確認してください。",
                "Add training interviews from this group and rebuild the model; have a person confirm every "
                "prediction.",
                {"item": item["key"], "attribute": row["attribute"], "group": row["group"]}))
    drift = report.get("drift") or {}
    for item_key, d in (drift.get("items") or {}).items():
        if d.get("psi") is not None and d["psi"] > settings.psi_max:
            out.append(Finding(
                "medium",
                f"「{d.get('name', item_key)}」の予測スコアの分布が前月から変化しています（PSI {d['psi']:.2f}）。",
                f"The distribution of predicted \"{d.get('name', item_key)}\" scores shifted from the previous "
                f"month (PSI {d['psi']:.2f}).",
                "応募者層や面談の進め方の変化を確認し、必要ならモデルを再構築してください。",
                "Check for changes in applicants or in how interviews are run, and rebuild the model if needed.",
                {"item": item_key, "psi": d["psi"]}))
    for change in drift.get("disparities", []):
        who_ja, who_en = (_who(report, change["category"], change["group"], lang) for lang in ("ja", "en"))
        before = change["before"] if change["before"] is not None else "—"
        out.append(Finding(
            "high",
            f"前月になかった、または拡大した格差: 「{change['name']}」{who_ja} "
            f"のインパクト比 {before} → {change['after']:.2f}。",
            f"A new or grown disparity since last month: \"{change['name']}\" {who_en}, impact ratio {before} → "
            f"{change['after']:.2f}.",
            "この期間の予測を人が再確認し、原因を調べてください。",
            "Have a person re-check this period's predictions and look for the cause.",
            change))
    ablation = report.get("ablation") or {}
    for position, focus in enumerate((ablation.get("rows") or [{}])[0].get("groups", [])):
        # Only a family whose model breaks the rule significantly (the rate table's flag) is named.
        ratios = [(row["family"], row["groups"][position]["impact_ratio"]) for row in ablation["rows"]
                  if row["groups"][position].get("flagged")]
        if not ratios:
            continue
        family, ratio = min(ratios, key=lambda fr: fr[1])
        family_ja, family_en = family_name(report, family, "ja"), family_name(report, family, "en")
        out.append(Finding(
            "medium",
            f"{_who(report, focus['category'], focus['group'], 'ja')} の格差は、特徴量の系統「{family_ja}」だけで学習した"
            f"モデルで最も強く再現されます（インパクト比 {ratio:.2f}）。この系統が属性の代わりになっている可能性があります。",
            f"The disparity for {_who(report, focus['category'], focus['group'], 'en')} is reproduced most by a "
            f"model trained on the \"{family_en}\" feature family alone (impact ratio {ratio:.2f}): those features "
            f"may stand in for the attribute.",
            f"「{family_ja}」系統の特徴量を使うべきか見直し、外したモデルと比べてください。",
            f"Review whether the \"{family_en}\" features should be used, and compare with a model built without "
            f"them.",
            {"family": family, "category": focus["category"], "group": focus["group"], "impact_ratio": ratio}))
    undisclosed = [r for r in report.get("representation", []) if r["group"] in (None, UNDISCLOSED)]
    unknown_share = {}
    for row in undisclosed:
        unknown_share[row["attribute"]] = unknown_share.get(row["attribute"], 0) + (row["share"] or 0)
    for attribute, share in unknown_share.items():
        if share > 0.5:
            out.append(Finding(
                "medium",
                f"属性「{attribute_name(report, attribute, 'ja')}」は {_pct(share)} の面談で不明（未入力または回答しない）のため、"
                "分析は残りの面談だけに基づきます。",
                f"Attribute \"{attribute_name(report, attribute, 'en')}\" is unknown (not entered or not disclosed) "
                f"for {_pct(share)} of the interviews; the analysis rests on the others only.",
                "属性の入力や任意回答の案内を見直してください。",
                "Review how attributes are entered and how the voluntary declaration is offered.",
                {"attribute": attribute, "unknown_share": share}))
    if not out:
        out.append(Finding(
            "low",
            "設定された閾値を超える格差は見つかりませんでした。",
            "No disparity crossed the configured thresholds.",
            "毎月の監視を続け、予測は人が確認してください。",
            "Keep the monthly monitoring going and have a person confirm predictions."))
    return out


def risk_level(found: list[Finding]) -> str:
    """The highest level among the findings (low when there are none)."""
    return max((f.level for f in found), key=RISK_LEVELS.index, default="low")


def make_report(*, kind: str, subject_ja: str, subject_en: str, made_at: str, groups: pd.DataFrame,
                attributes: list[str], items: list[dict[str, Any]], settings: FairnessSettings,
                expert_names: dict[str, str] | None = None, drift: dict[str, Any] | None = None,
                ablation: dict[str, Any] | None = None, names: dict[str, Any] | None = None) -> dict[str, Any]:
    """The stored report: the `analyse_item` tables with representation, findings and the risk
    level (what `core.fairness_report` presents). JSON-able. `names` says how the attributes and
    their values are named (core.interviews.attributes.report_names), and the feature families of an
    ablation (`"families": {family: [ja, en]}`); without it, by their keys."""
    report: dict[str, Any] = {
        "kind": kind, "subject_ja": subject_ja, "subject_en": subject_en, "made_at": made_at,
        "settings": settings.as_dict(), "n_interviews": int(len(groups)), "attributes": list(attributes),
        "representation": representation(groups, attributes), "items": items,
        "expert_names": dict(expert_names or {}), "drift": drift, "ablation": ablation, "names": names or {},
    }
    found = findings(report, settings, expert_names)
    report["findings"] = [asdict(f) for f in found]
    report["risk"] = risk_level(found)
    return report
