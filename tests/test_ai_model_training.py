"""The evaluation models learn behaviour that experts reward, and nothing from shuffled labels."""

import numpy as np
import pytest

from plugins.ai_model.synthetic import synthetic_interviews
from core.model_training import (
    HARD_MINIMUM,
    ItemSpec,
    TrainingRefused,
    build,
    load_model,
    predict,
    regression_metrics,
)

ITEMS = [ItemSpec("warmth", "Warmth", 1, 5), ItemSpec("composure", "Composure", 1, 5)]


@pytest.fixture(scope="module")
def data():
    return synthetic_interviews(120, noise_features=20, seed=3)


@pytest.fixture(scope="module")
def built(data):
    features, labels = data
    return build(features, labels, ITEMS, seed=1)


def test_cross_validated_spearman_recovers_the_rule(built):
    for key in ("warmth", "composure"):
        assert built.items[key].metrics["spearman"] > 0.5, built.items[key].metrics
        assert built.items[key].metrics["within_one"] > 0.8


def test_shuffled_labels_give_no_signal(data):
    features, labels = data
    rng = np.random.default_rng(7)
    shuffled = labels.copy()
    for column in shuffled.columns:
        shuffled[column] = rng.permutation(shuffled[column].to_numpy())
    result = build(features, shuffled, ITEMS, seed=1)
    for key in ("warmth", "composure"):
        assert abs(result.items[key].metrics["spearman"]) < 0.25, result.items[key].metrics


def test_the_rule_features_are_the_most_important(built):
    warmth = built.items["warmth"].importance
    top = sorted(warmth, key=warmth.get, reverse=True)[:2]
    assert set(top) == {"smile_ratio", "presence_ratio"}
    composure = built.items["composure"].importance
    assert max(composure, key=composure.get) == "head_movement_energy"


def test_prediction_is_explained_by_shap_contributions(data, built):
    features, _labels = data
    item = ITEMS[1]
    model = load_model(built.items[item.key].model_bytes)
    calm = features.iloc[0].to_dict() | {"head_movement_energy": 0.1}
    restless = features.iloc[0].to_dict() | {"head_movement_energy": 3.5}
    p_calm = predict(model, item, built.feature_names, calm)
    p_restless = predict(model, item, built.feature_names, restless)
    assert 1 <= p_restless.value < p_calm.value <= 5
    assert p_calm.contributions[0][0] == "head_movement_energy"
    # SHAP values add up to the raw prediction (before clipping to the scale)
    full = model.get_feature_importance(
        __import__("catboost").Pool(np.array([[calm[n] for n in built.feature_names]]), feature_names=built.feature_names),
        type="ShapValues",
    )[0]
    assert full.sum() == pytest.approx(float(model.predict(np.array([[calm[n] for n in built.feature_names]]))[0]), abs=1e-4)


def test_too_few_interviews_are_refused_with_a_reason():
    features, labels = synthetic_interviews(HARD_MINIMUM - 1, noise_features=2)
    with pytest.raises(TrainingRefused, match=f"at least {HARD_MINIMUM}"):
        build(features, labels, ITEMS)


def test_fewer_than_fifty_interviews_warn():
    features, labels = synthetic_interviews(30, noise_features=2)
    result = build(features, labels, ITEMS, folds=3)
    assert {"code": "few", "item": "Warmth", "n": 30, "recommended": 50} in result.warnings


def test_a_constant_item_is_skipped_and_the_other_built():
    features, labels = synthetic_interviews(20, noise_features=2)
    labels["composure"] = 4.0
    result = build(features, labels, ITEMS, folds=3)
    assert set(result.items) == {"warmth"}
    assert result.skipped == {"composure": {"code": "constant", "item": "Composure", "n": 20, "value": 4.0}}


def test_an_item_whose_folds_hold_one_score_still_builds():
    """One interview scored differently: some folds train on a single score, which CatBoost refuses."""
    features, labels = synthetic_interviews(12, noise_features=2)
    labels["composure"] = 3.0
    labels.iloc[0, labels.columns.get_loc("composure")] = 4.0
    result = build(features, labels, ITEMS, folds=3)
    assert set(result.items) == {"warmth", "composure"} and result.items["composure"].n == 12


def test_regression_metrics_on_known_values():
    truth = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    predicted = np.array([1.0, 2.0, 3.0, 4.0, 3.0])
    m = regression_metrics(truth, predicted, integer_scale=True)
    assert m["mae"] == pytest.approx(0.4)
    assert m["rmse"] == pytest.approx(np.sqrt(4 / 5))
    assert m["within_one"] == pytest.approx(0.8)
    assert m["r2"] == pytest.approx(1 - 4 / 10)


def test_categorical_items_use_a_classifier(data):
    features, labels = data
    categories = labels[["warmth"]].rename(columns={"warmth": "band"})
    categories["band"] = np.where(labels["warmth"] >= 4, 2, np.where(labels["warmth"] >= 3, 1, 0))
    item = ItemSpec("band", "Band", 0, 2, categorical=True)
    result = build(features, categories, [item], seed=1)
    assert result.items["band"].metrics["accuracy"] > 0.5
    model = load_model(result.items["band"].model_bytes, categorical=True)
    p = predict(model, item, result.feature_names, features.iloc[0].to_dict())
    assert p.value in (0.0, 1.0, 2.0)
    assert len(p.contributions) == 5
