"""The lift report: how much the conversation features add to the standard (face) features.

Pure functions over tables, so tests and the benchmark run them without a database. Per
evaluation item, three CatBoost models are cross-validated on the same folds: the standard
features only ("face"), the conversation features with the answers' words only ("text"), and
both. The lift of "both" over "face" is the difference in Spearman's rank correlation and in
MAE with the experts' mean score, with a 95 % bootstrap interval over interviews (the same
resampled interviews for both models, so the interval is of the paired difference).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

FOLDS = 5
BOOTSTRAP = 1000
MINIMUM = 10  # expert-scored interviews an item needs, as for the AI model's own build
VARIANTS = ("face", "text", "both")
TEXT_PROCESSING = {
    # The text arrives tokenised (fugashi lemmas, English words) and joined by spaces.
    "tokenizers": [{"tokenizer_id": "Space", "separator_type": "ByDelimiter", "delimiter": " "}],
    "dictionaries": [{"dictionary_id": "Word", "max_dictionary_size": "5000", "occurrence_lower_bound": "3",
                      "gram_order": "1"}],
    "feature_processing": {"default": [{"dictionaries_names": ["Word"], "feature_calcers": ["BoW"],
                                        "tokenizers_names": ["Space"]}]},
}


@dataclass(frozen=True)
class Item:
    key: str
    name: str
    scale_min: float
    scale_max: float


def folds(n: int, k: int, seed: int) -> list[np.ndarray]:
    """k test folds of a seeded permutation of 0..n-1 (every interview in exactly one)."""
    order = np.random.default_rng(seed).permutation(n)
    return [order[i::k] for i in range(k)]


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import rankdata

    if np.std(a) == 0 or np.std(b) == 0:
        return float("nan")
    return float(np.corrcoef(rankdata(a), rankdata(b))[0, 1])


def _oof(X: pd.DataFrame, y: np.ndarray, text_columns: list[str], test_folds: list[np.ndarray], *,
         iterations: int, seed: int, threads: int) -> np.ndarray:
    from catboost import CatBoostRegressor, Pool

    out = np.empty(len(y))
    texts = [c for c in text_columns if c in X.columns]
    for test in test_folds:
        train = np.setdiff1d(np.arange(len(y)), test)
        params: dict[str, Any] = dict(iterations=iterations, depth=4, learning_rate=0.08, random_seed=seed,
                                      thread_count=threads, verbose=False, allow_writing_files=False)
        if texts:
            params["text_processing"] = TEXT_PROCESSING
        model = CatBoostRegressor(**params)
        model.fit(Pool(X.iloc[train], y[train], text_features=texts or None))
        out[test] = model.predict(Pool(X.iloc[test], text_features=texts or None))
    return out


def _interval(values: np.ndarray) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return float("nan"), float("nan")
    return float(np.percentile(finite, 2.5)), float(np.percentile(finite, 97.5))


def item_lift(X_face: pd.DataFrame, X_text: pd.DataFrame, y: np.ndarray, item: Item, text_columns: list[str], *,
              folds_k: int = FOLDS, seed: int = 0, bootstrap: int = BOOTSTRAP, iterations: int = 200,
              threads: int = 1) -> dict[str, Any]:
    """One item's report: n, per variant Spearman and MAE, and the differences of "both" over
    "face" with their 95 % bootstrap intervals (`spearman_diff`, `mae_diff`: lower MAE is better,
    so a negative MAE difference is an improvement)."""
    test_folds = folds(len(y), min(folds_k, len(y)), seed)
    tables = {"face": X_face, "text": X_text, "both": pd.concat([X_face, X_text], axis=1)}
    predicted = {}
    for variant, X in tables.items():
        if X.shape[1] == 0:
            continue
        raw = _oof(X, y, text_columns, test_folds, iterations=iterations, seed=seed, threads=threads)
        predicted[variant] = np.clip(raw, item.scale_min, item.scale_max)
    report: dict[str, Any] = {"key": item.key, "name": item.name, "n": int(len(y)), "variants": {}}
    for variant, p in predicted.items():
        report["variants"][variant] = {"spearman": _spearman(y, p), "mae": float(np.mean(np.abs(p - y)))}
    if "face" in predicted and "both" in predicted:
        rng = np.random.default_rng(seed)
        rho_diff, mae_diff = np.empty(bootstrap), np.empty(bootstrap)
        for b in range(bootstrap):
            sample = rng.integers(0, len(y), len(y))
            ys, face, both = y[sample], predicted["face"][sample], predicted["both"][sample]
            rho_diff[b] = _spearman(ys, both) - _spearman(ys, face)
            mae_diff[b] = np.mean(np.abs(both - ys)) - np.mean(np.abs(face - ys))
        v = report["variants"]
        report["spearman_diff"] = v["both"]["spearman"] - v["face"]["spearman"]
        report["spearman_interval"] = _interval(rho_diff)
        report["mae_diff"] = v["both"]["mae"] - v["face"]["mae"]
        report["mae_interval"] = _interval(mae_diff)
    return report


def lift_report(features: pd.DataFrame, texts: pd.DataFrame, labels: pd.DataFrame, items: list[Item],
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
                                      text_columns, **options))
    return out
