"""The shared fairness metrics and the model report on generated data: a planted expert bias is
found with the right impact ratio, a fair data set is rated low."""

from __future__ import annotations

import pandas as pd
import pytest

from core.fairness import FairnessSettings, histogram, psi, rate_table, wilson_interval
from plugins.ethics_model.analysis import analyse_evaluation, feature_family
from plugins.ethics_model.synthetic import generated_evaluation

ATTRIBUTES = ["gender", "age_band"]


def hand_impact_ratio(evaluation, groups, expert, attribute, group, threshold=3.0):
    """The expert's pass rate for `group` over the expert's best pass rate in `attribute`."""
    rates = {}
    for value in groups[attribute].dropna().unique():
        if value == "undisclosed":
            continue
        scores = [r["scores"]["overall"] for r in evaluation["expert_scores"]
                  if r["expert_id"] == expert and groups.loc[r["interview_id"], attribute] == value]
        rates[value] = sum(s >= threshold for s in scores) / len(scores)
    return rates[group] / max(rates.values())


def test_planted_expert_bias_is_flagged_with_its_impact_ratio():
    evaluation, groups, _ = generated_evaluation(biased_expert="expert-b", bias=1.0)
    report = analyse_evaluation(evaluation, groups, ATTRIBUTES, FairnessSettings(),
                                expert_names={"expert-b": "Expert B"})
    experts = report["items"][0]["experts"]
    flagged = [r for r in experts if r["flagged"]]
    assert [(r["expert_id"], r["attribute"], r["group"]) for r in flagged] == [("expert-b", "gender", "female")]
    expected = hand_impact_ratio(evaluation, groups, "expert-b", "gender", "female")
    assert flagged[0]["impact_ratio"] == pytest.approx(expected, abs=1e-4)
    assert expected < 0.8
    assert flagged[0]["paired_gap"] == pytest.approx(-1.0, abs=0.25)
    assert report["risk"] in ("medium", "high")
    named = [f for f in report["findings"] if f["facts"].get("expert_id") == "expert-b"]
    assert named and "Expert B" in named[0]["en"] and "female" in named[0]["ja"]
    assert f"{expected:.2f}" in named[0]["en"]


def test_fair_data_is_rated_low():
    evaluation, groups, _ = generated_evaluation(seed=2)
    report = analyse_evaluation(evaluation, groups, ATTRIBUTES, FairnessSettings())
    item = report["items"][0]
    assert not [r for s in ("label_rates", "prediction_rates", "experts", "errors") for r in item[s] if r["flagged"]]
    assert report["risk"] == "low"
    assert report["findings"][0]["level"] == "low"


def test_ll144_table_matches_a_hand_count_and_flags_small_groups():
    passed = pd.Series([True] * 30 + [False] * 10 + [True] * 20 + [False] * 40 + [False], dtype=bool,
                       index=[str(i) for i in range(101)])
    groups = pd.DataFrame({"g": ["a"] * 40 + ["b"] * 60 + ["c"]}, index=passed.index)
    rows = {r["group"]: r for r in rate_table(passed, groups, ["g"], FairnessSettings())}
    assert rows["a"]["rate"] == 0.75 and rows["b"]["rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert rows["b"]["impact_ratio"] == pytest.approx((20 / 60) / (30 / 40), abs=1e-4)
    assert rows["b"]["flagged"] and not rows["a"]["flagged"]
    assert rows["c"]["small"] and not rows["c"]["flagged"]  # 1 of 101 < 2 %
    low, high = wilson_interval(30, 40)
    assert rows["a"]["rate_low"] == pytest.approx(low, abs=1e-4) and low < 0.75 < high


def test_intersections_and_undisclosed_are_stated():
    evaluation, groups, _ = generated_evaluation(seed=3)
    report = analyse_evaluation(evaluation, groups, ATTRIBUTES, FairnessSettings())
    categories = {r["category"] for r in report["items"][0]["label_rates"]}
    assert "gender × age_band" in categories
    representation = {(r["attribute"], r["group"]): r["n"] for r in report["representation"]}
    assert representation[("age_band", "undisclosed")] == (groups["age_band"] == "undisclosed").sum()
    assert representation[("age_band", None)] == groups["age_band"].isna().sum()


def test_psi_sees_a_shifted_distribution():
    import numpy as np

    rng = np.random.default_rng(0)
    before = histogram(np.clip(rng.normal(3, 0.7, 500), 1, 5), 1, 5)
    same = histogram(np.clip(rng.normal(3, 0.7, 500), 1, 5), 1, 5)
    shifted = histogram(np.clip(rng.normal(4.2, 0.7, 500), 1, 5), 1, 5)
    assert psi(before, same) < 0.1 < 0.2 < psi(before, shifted)


def test_feature_families_and_ablation():
    assert feature_family("face_features.emo_happy_mean") == "emotion"
    assert feature_family("face_features.head_yaw_std") == "face"
    assert feature_family("speech.words_per_minute") == "conversation"
    evaluation, groups, features = generated_evaluation(n=300, biased_expert="expert-a", n_features=2)
    report = analyse_evaluation(evaluation, groups, ATTRIBUTES, FairnessSettings(), features=features)
    families = [row["family"] for row in report["ablation"]["rows"]]
    assert families == ["face", "emotion", "conversation"]
    assert all(g["impact_ratio"] is not None for row in report["ablation"]["rows"] for g in row["groups"])


async def test_thresholds_come_from_the_tenants_plugin_settings(host, make_tenant):
    from core.fairness import fairness_settings
    from plugins.ethics_model import plugin

    host.register(plugin, key="ethics_model")
    tenant = await make_tenant()
    assert await fairness_settings(host, tenant.id, "ethics_model") == FairnessSettings()
    assert FairnessSettings().threshold_for(1, 5) == 3
    form = {name: str(value) for name, value in FairnessSettings().as_dict().items()}
    await host.save_settings(tenant.id, "ethics_model", form | {"impact_ratio_min": "0.9", "pass_share": "0.75"},
                             operator=False)
    chosen = await fairness_settings(host, tenant.id, "ethics_model")
    assert chosen.impact_ratio_min == 0.9 and chosen.threshold_for(1, 5) == 4


def test_ablation_names_the_feature_family_that_stands_in_for_the_group():
    # Every expert scores women lower, and only the emotion features carry gender (a proxy):
    # a model on those features alone reproduces the disparity; one on face features does not.
    evaluation, groups, features = generated_evaluation(n=600, all_experts_biased=True, bias=1.0, n_features=2,
                                                        proxy_family="emotion", seed=4)
    report = analyse_evaluation(evaluation, groups, ATTRIBUTES, FairnessSettings(), features=features)
    rows = {row["family"]: row for row in report["ablation"]["rows"]}
    women = [g["category"] == "gender" and g["group"] == "female" for g in rows["emotion"]["groups"]].index(True)
    assert rows["emotion"]["groups"][women]["impact_ratio"] < 0.8 <= rows["face"]["groups"][women]["impact_ratio"]
    family = [f for f in report["findings"] if f["facts"].get("family")]
    assert family and family[0]["facts"]["family"] == "emotion" and "emotion" in family[0]["en"]
    assert report["risk"] == "high"


def test_fair_data_with_features_names_no_family():
    evaluation, groups, features = generated_evaluation(n=600, n_features=2, seed=6)
    report = analyse_evaluation(evaluation, groups, ATTRIBUTES, FairnessSettings(), features=features)
    assert report["ablation"]["rows"] and not [f for f in report["findings"] if f["facts"].get("family")]
    assert report["risk"] == "low"
