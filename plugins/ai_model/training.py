"""Building and using the evaluation models: one CatBoost model per evaluation item.

Pure functions over tables, so they are tested and benchmarked without a database:
`features` has one row per interview and one column per feature (NaN where an
extractor measured nothing); `labels` has one row per interview and one column
per evaluation item (the mean of the experts' scores).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.tasks import JobRefused

HARD_MINIMUM = 10  # fewer labelled interviews than this cannot be cross-validated meaningfully
RECOMMENDED_MINIMUM = 50  # the spec: 50-100 interview videos give reasonable accuracy
FOLDS = 5
TOP_CONTRIBUTIONS = 5

Progress = Callable[[int, str], None]


class TrainingRefused(JobRefused):
    """The data cannot make a model; the message says why, for the person who asked."""


@dataclass(frozen=True)
class ItemSpec:
    key: str
    name: str
    scale_min: float
    scale_max: float
    categorical: bool = False

    @property
    def integer_scale(self) -> bool:
        return float(self.scale_min).is_integer() and float(self.scale_max).is_integer()


@dataclass
class ItemResult:
    item: ItemSpec
    n: int
    metrics: dict[str, float]
    importance: dict[str, float]
    model_bytes: bytes
    oof: dict[str, float]  # cross-validated prediction per interview, as if unseen


@dataclass
class BuildResult:
    feature_names: list[str]
    n_interviews: int
    items: dict[str, ItemResult]
    warnings: list[str] = field(default_factory=list)


def _params(categorical: bool, seed: int, threads: int) -> dict[str, Any]:
    params = dict(iterations=300, depth=4, learning_rate=0.08, random_seed=seed, thread_count=threads,
                  verbose=False, allow_writing_files=False)
    if not categorical:
        params["loss_function"] = "RMSE"
    return params


def _model(item: ItemSpec, seed: int, threads: int):
    from catboost import CatBoostClassifier, CatBoostRegressor  # heavy: imported when a model is made

    cls = CatBoostClassifier if item.categorical else CatBoostRegressor
    return cls(**_params(item.categorical, seed, threads))


def _folds(n: int, k: int, seed: int) -> list[np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    return [order[i::k] for i in range(k)]


def regression_metrics(truth: np.ndarray, predicted: np.ndarray, integer_scale: bool) -> dict[str, float]:
    from scipy.stats import spearmanr

    error = predicted - truth
    total = float(np.sum((truth - truth.mean()) ** 2))
    rho = spearmanr(truth, predicted).statistic if np.std(truth) > 0 and np.std(predicted) > 0 else float("nan")
    metrics = {
        "mae": float(np.mean(np.abs(error))),
        "rmse": float(math.sqrt(np.mean(error**2))),
        "spearman": float(rho),
        "r2": float(1 - np.sum(error**2) / total) if total > 0 else float("nan"),
    }
    if integer_scale:
        metrics["within_one"] = float(np.mean(np.abs(np.round(predicted) - truth) <= 1))
    return metrics


def classification_metrics(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    return {"accuracy": float(np.mean(truth == predicted))}


def _fit_predict(item, X_train, y_train, X_test, seed, threads):
    model = _model(item, seed, threads)
    model.fit(X_train, y_train)
    predicted = model.predict(X_test)
    return np.asarray(predicted).reshape(-1)


def build(
    features: pd.DataFrame,
    labels: pd.DataFrame,
    items: list[ItemSpec],
    *,
    folds: int = FOLDS,
    seed: int = 0,
    threads: int = 2,
    progress: Progress | None = None,
) -> BuildResult:
    """Cross-validate and fit one model per item. Raises TrainingRefused when the data cannot."""
    report = progress or (lambda _p, _m: None)
    common = features.index.intersection(labels.index)
    features = features.loc[common].astype(float)
    feature_names = [c for c in features.columns if features[c].notna().any()]
    if not feature_names:
        raise TrainingRefused("no features: analyse the recordings before building a model")
    X_all = features[feature_names]
    warnings: list[str] = []
    results: dict[str, ItemResult] = {}
    steps = max(1, len(items) * (folds + 1))
    done = 0
    for item in items:
        if item.key not in labels.columns:
            continue
        y_all = labels.loc[common, item.key].dropna()
        n = len(y_all)
        if n < HARD_MINIMUM:
            raise TrainingRefused(
                f"{item.name}: {n} interviews with expert evaluations; at least {HARD_MINIMUM} are needed"
            )
        if n < RECOMMENDED_MINIMUM:
            warnings.append(f"{item.name}: only {n} interviews; {RECOMMENDED_MINIMUM}-100 are recommended")
        X = X_all.loc[y_all.index].to_numpy()
        y = y_all.to_numpy()
        if item.categorical:
            y = y.astype(int)
        out_of_fold = np.empty(n, dtype=float)
        for k, test in enumerate(_folds(n, min(folds, n), seed)):
            train = np.setdiff1d(np.arange(n), test)
            if item.categorical and len(np.unique(y[train])) < 2:
                out_of_fold[test] = y[train][0]
            else:
                out_of_fold[test] = _fit_predict(item, X[train], y[train], X[test], seed, threads)
            done += 1
            report(int(100 * done / steps), f"{item.name}: fold {k + 1}/{folds}")
        if item.categorical:
            metrics = classification_metrics(y, out_of_fold.astype(int))
        else:
            metrics = regression_metrics(y, np.clip(out_of_fold, item.scale_min, item.scale_max), item.integer_scale)
        final = _model(item, seed, threads)
        final.fit(X, y)
        done += 1
        report(int(100 * done / steps), f"{item.name}: final model")
        importance = dict(zip(feature_names, map(float, final.get_feature_importance())))
        results[item.key] = ItemResult(item=item, n=n, metrics=metrics, importance=importance,
                                       model_bytes=_to_bytes(final),
                                       oof=dict(zip(map(str, y_all.index), map(float, out_of_fold))))
    if not results:
        raise TrainingRefused("no evaluation item has expert evaluations")
    return BuildResult(feature_names=feature_names, n_interviews=len(common), items=results, warnings=warnings)


def _to_bytes(model) -> bytes:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.cbm"
        model.save_model(str(path), format="cbm")
        return path.read_bytes()


def load_model(model_bytes: bytes, categorical: bool = False):
    from catboost import CatBoostClassifier, CatBoostRegressor

    model = CatBoostClassifier() if categorical else CatBoostRegressor()
    model.load_model(blob=model_bytes)
    return model


@dataclass(frozen=True)
class Prediction:
    value: float
    contributions: list[tuple[str, float]]  # (feature, SHAP value), largest effect first
    base_value: float


def predict(model, item: ItemSpec, feature_names: list[str], row: dict[str, float]) -> Prediction:
    """One interview's prediction with its top SHAP contributions (in the model's output units)."""
    from catboost import Pool

    x = np.array([[row.get(name, np.nan) for name in feature_names]], dtype=float)
    pool = Pool(x, feature_names=feature_names)
    raw = np.asarray(model.predict(x)).reshape(-1)[0]
    value = float(raw) if item.categorical else float(np.clip(float(raw), item.scale_min, item.scale_max))
    shap = np.asarray(model.get_feature_importance(pool, type="ShapValues"))
    # Multiclass models explain each class; explain the one predicted.
    shap = shap[0, list(model.classes_).index(raw)] if shap.ndim == 3 else shap[0]
    contributions = sorted(zip(feature_names, map(float, shap[:-1])), key=lambda kv: -abs(kv[1]))
    return Prediction(value=value, contributions=contributions[:TOP_CONTRIBUTIONS], base_value=float(shap[-1]))
