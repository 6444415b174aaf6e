"""The lift report: how much the conversation features add to the standard (face) features.

Pure functions over tables, so tests and the benchmark run them without a database. Per
evaluation item, three CatBoost models are cross-validated on the same folds: the standard
features only ("face"), the conversation features with the answers' words only ("text"), and
both. The lift of "both" over "face" is the difference in Spearman's rank correlation and in
MAE with the experts' mean score, with a 95 % bootstrap interval over interviews (the same
resampled interviews for both models, so the interval is of the paired difference).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from core.model_training import FOLDS, HARD_MINIMUM, ItemSpec, bootstrap_interval, fold_indices, out_of_fold

BOOTSTRAP = 1000
MINIMUM = HARD_MINIMUM  # expert-scored interviews an item needs, as for the AI model's own build
VARIANTS = ("face", "text", "both")


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    if np.std(a) == 0 or np.std(b) == 0:
        return float("nan")
    return float(spearmanr(a, b).statistic)


def item_lift(X_face: pd.DataFrame, X_text: pd.DataFrame, y: np.ndarray, item: ItemSpec, *,
              folds_k: int = FOLDS, seed: int = 0, bootstrap: int = BOOTSTRAP, iterations: int = 200,
              threads: int = 1) -> dict[str, Any]:
    """One item's report: n, per variant Spearman and MAE, and the differences of "both" over
    "face" with their 95 % bootstrap intervals (`spearman_diff`, `mae_diff`: lower MAE is better,
    so a negative MAE difference is an improvement).

    `X_face`, `X_text`: n rows each, in the order of `y` (n,); the text columns of `X_text`
    hold strings (the rest numbers). The item is learnt as a regression on its scale. Every variant is cross-validated by the AI model's trainer
    (`core.model_training.out_of_fold`) on the same `folds_k` folds.
    """
    test_folds = fold_indices(len(y), min(folds_k, len(y)), seed)
    tables = {"face": X_face, "text": X_text, "both": pd.concat([X_face, X_text], axis=1)}
    regression = ItemSpec(item.key, item.name, item.scale_min, item.scale_max)
    predicted = {}
    for variant, X in tables.items():
        if X.shape[1] == 0:
            continue
        raw = out_of_fold(X, y, regression, test_folds, seed=seed, threads=threads, iterations=iterations)
        predicted[variant] = np.clip(raw, item.scale_min, item.scale_max)
    report: dict[str, Any] = {"key": item.key, "name": item.name, "n": int(len(y)), "variants": {}}
    for variant, p in predicted.items():
        report["variants"][variant] = {"spearman": _spearman(y, p), "mae": float(np.mean(np.abs(p - y)))}
    if "face" in predicted and "both" in predicted:
        v = report["variants"]
        paired = dict(baseline=predicted["face"], rounds=bootstrap, seed=seed)
        report["spearman_diff"] = v["both"]["spearman"] - v["face"]["spearman"]
        report["spearman_interval"] = bootstrap_interval(y, predicted["both"], metric="spearman", **paired)
        report["mae_diff"] = v["both"]["mae"] - v["face"]["mae"]
        report["mae_interval"] = bootstrap_interval(y, predicted["both"], metric="mae", **paired)
    return report


def lift_report(features: pd.DataFrame, texts: pd.DataFrame, labels: pd.DataFrame, items: list[ItemSpec],
                conversation_prefix: str, **options: Any) -> dict[str, Any]:
    """The report over every item with at least MINIMUM expert-scored interviews that differ
    (the others are listed in `skipped` with their n).

    `features`: one row per interview (index: interview id), numeric columns `{extractor}.{name}`
    (NaN where not measured); `texts`: the same index, text columns (missing text is ""); `labels`:
    the experts' mean score per item. Columns whose extractor starts with `conversation_prefix`
    (and the text columns) are the conversation features; every other column is "face".
    """
    common = features.index.intersection(labels.index)
    features = features.loc[common]
    conversation = [c for c in features.columns if c.startswith(conversation_prefix)]
    face = [c for c in features.columns if c not in conversation and features[c].notna().any()]
    text_columns = list(texts.columns)
    text_table = texts.reindex(common).fillna("").astype(str) if text_columns else pd.DataFrame(index=common)
    X_face = features[face].astype(float)
    X_text = pd.concat([features[conversation].astype(float), text_table], axis=1)
    out: dict[str, Any] = {"n_interviews": int(len(common)), "face_columns": len(face),
                           "conversation_columns": len(conversation), "text_columns": text_columns,
                           "with_conversation": int((X_text[conversation].notna().any(axis=1)).sum()) if conversation else 0,
                           "items": [], "skipped": []}
    for item in items:
        if item.key not in labels.columns:
            continue
        y = labels.loc[common, item.key].dropna()
        if len(y) < MINIMUM or y.nunique() < 2:
            out["skipped"].append({"key": item.key, "name": item.name, "n": int(len(y))})
            continue
        out["items"].append(item_lift(X_face.loc[y.index], X_text.loc[y.index], y.to_numpy(float), item,
                                      **options))
    return out
