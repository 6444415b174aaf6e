"""The trainer's public parts for comparing feature sets: the build's folds, out-of-fold
predictions on given folds, and paired bootstrap intervals."""

import numpy as np
import pandas as pd
import pytest

from core.model_training import ItemSpec, bootstrap_interval, build, fold_indices, load_model, out_of_fold, predict

ITEM = ItemSpec("logic", "論理性", 1, 5)


def table(n: int = 60, seed: int = 2):
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=n)
    words = np.where(signal > 0, "具体的 数字 成果", "頑張る 思う")
    features = pd.DataFrame({"face.smile": rng.normal(size=n), "conversation.figures": signal,
                             "conversation.answer_text": list(words)},
                            index=[f"面談{i}" for i in range(n)])
    y = np.clip(np.round(3 + signal + rng.normal(scale=0.3, size=n)), 1, 5)
    return features, y


def test_folds_partition_the_rows_and_repeat_with_the_seed():
    folds = fold_indices(23, 5, seed=4)
    assert sorted(np.concatenate(folds).tolist()) == list(range(23))
    assert {len(f) for f in folds} <= {4, 5}
    assert all((a == b).all() for a, b in zip(folds, fold_indices(23, 5, seed=4)))


def test_out_of_fold_is_what_the_build_cross_validates_and_learns_from_text():
    features, y = table()
    labels = pd.DataFrame({"logic": y}, index=features.index)
    built = build(features, labels, [ITEM], folds=4, seed=1, threads=1, iterations=30)
    folds = fold_indices(len(y), 4, seed=1)
    predicted = out_of_fold(features, y, ITEM, folds, seed=1, threads=1, iterations=30)
    assert predicted.shape == (len(y),)
    assert np.allclose(predicted, [built.items["logic"].oof[i] for i in features.index])
    face_only = out_of_fold(features[["face.smile"]], y, ITEM, folds, seed=1, threads=1, iterations=30)
    words_only = out_of_fold(features[["conversation.answer_text"]], y, ITEM, folds, seed=1, threads=1,
                             iterations=30)
    assert np.mean(np.abs(words_only - y)) < np.mean(np.abs(face_only - y))


def test_short_transcripts_whose_words_are_all_rare_still_build_and_predict():
    """Few, short answers: no word is said three times (CatBoost's dictionary bound), and one text
    column is empty in every row of some folds' training parts. CatBoost alone refuses such data
    ("Dictionary size is 0") and the item was skipped; the build learns from the rest."""
    n = 12
    rng = np.random.default_rng(3)
    y = np.tile([1.0, 2.0, 3.0, 4.0, 5.0, 3.0], 2)
    features = pd.DataFrame({
        "face.smile": y + rng.normal(scale=0.2, size=n),
        "conversation.answer_text": [f"語{i} 言葉{i}" for i in range(n)],  # every word said once
        "conversation.follow_up_text": [""] * (n - 2) + ["一度 だけ", "二度 目"],
    }, index=[f"面談{i}" for i in range(n)])
    labels = pd.DataFrame({"logic": y}, index=features.index)
    built = build(features, labels, [ITEM], folds=3, seed=0, threads=1, iterations=30)
    assert built.skipped == {}
    assert "conversation.answer_text" in built.feature_names
    result = built.items["logic"]
    assert result.metrics["spearman"] > 0.5  # learnt from the face feature
    row = {**features.iloc[0].to_dict()}
    p = predict(load_model(result.model_bytes), ITEM, built.feature_names, row)
    assert 1 <= p.value <= 5
    assert {name for name, _ in p.contributions} <= set(built.feature_names)


def test_a_paired_interval_is_of_the_difference_on_the_same_resamples():
    rng = np.random.default_rng(0)
    truth = rng.integers(1, 6, size=80).astype(float)
    good = truth + rng.normal(scale=0.3, size=80)
    noise = rng.uniform(1, 5, size=80)
    assert bootstrap_interval(truth, good, baseline=good, metric="spearman") == (0.0, 0.0)
    low, high = bootstrap_interval(truth, good, baseline=noise, metric="spearman", rounds=300)
    assert 0 < low < high
    low, high = bootstrap_interval(truth, good, baseline=noise, metric="mae", rounds=300)
    assert low < high < 0  # lower error than the baseline
    mae_low, mae_high = bootstrap_interval(truth, good, rounds=300)
    assert 0 < mae_low < np.mean(np.abs(good - truth)) < mae_high
    with pytest.raises(ValueError):
        bootstrap_interval(truth, good, metric="r2")
