"""Building and using evaluation models: one CatBoost model per evaluation item.

The trainer every model of mendan is built with (a tenant's own models in ai_model, the
provider's pretrained models in pretrained_model), so their metrics mean the same.
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

from core.job_texts import job_text
from core.tasks import JobRefused
from core.web.i18n import N_

HARD_MINIMUM = 10  # fewer labelled interviews than this cannot be cross-validated meaningfully
RECOMMENDED_MINIMUM = 50  # the spec: 50-100 interview videos give reasonable accuracy
FOLDS = 5
TOP_CONTRIBUTIONS = 5

Progress = Callable[[int, str], None]


class TrainingRefused(JobRefused):
    """The data cannot make a model; the message says why, for the person who asked.

    `code` and `params` say the same in a form a model page translates; `skipped` holds the per-item reasons when no item could be built.
    """

    def __init__(self, message: str, *, code: str = "refused", params: dict[str, Any] | None = None,
                 skipped: dict[str, dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.params = params or {}
        self.skipped = skipped or {}


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
    # item key -> why no model was built for it: {"code": "too_few" | "constant" | "training_error", ...}
    skipped: dict[str, dict[str, Any]] = field(default_factory=dict)
    # {"code": "few", "item": name, "n": n, "recommended": RECOMMENDED_MINIMUM}: built, but on little data
    warnings: list[dict[str, Any]] = field(default_factory=list)


# Text columns (from `mendan_text_features`) arrive tokenised, words joined by single spaces.
TEXT_PROCESSING = {
    "tokenizers": [{"tokenizer_id": "Space", "separator_type": "ByDelimiter", "delimiter": " "}],
    "dictionaries": [{"dictionary_id": "Word", "max_dictionary_size": "5000", "occurrence_lower_bound": "3",
                      "gram_order": "1"}],
    "feature_processing": {"default": [{"dictionaries_names": ["Word"], "feature_calcers": ["BoW"],
                                        "tokenizers_names": ["Space"]}]},
}
ITERATIONS = 300


def _params(categorical: bool, seed: int, threads: int, text: bool = False,
            iterations: int = ITERATIONS) -> dict[str, Any]:
    params = dict(iterations=iterations, depth=4, learning_rate=0.08, random_seed=seed, thread_count=threads,
                  verbose=False, allow_writing_files=False)
    if not categorical:
        params["loss_function"] = "RMSE"
    if text:
        params["text_processing"] = TEXT_PROCESSING
    return params


def _model(item: ItemSpec, seed: int, threads: int, text: bool = False, iterations: int = ITERATIONS):
    from catboost import CatBoostClassifier, CatBoostRegressor  # heavy: imported when a model is made

    cls = CatBoostClassifier if item.categorical else CatBoostRegressor
    return cls(**_params(item.categorical, seed, threads, text, iterations))


def text_columns_of(features: pd.DataFrame) -> list[str]:
    """The text feature columns of a feature table: those holding strings (the rest are numbers)."""
    return [c for c in features.columns if not pd.api.types.is_numeric_dtype(features[c])]


# CatBoost refuses to train when a text column has no word seen `occurrence_lower_bound` times in
# the training rows ("Dictionary size is 0": few or short transcripts). Such a column gets this
# word on every training row: a dictionary of one word that is on every row, so it carries
# nothing and is never split on.
_PRESENT = "<text>"
_OCCURRENCE_LOWER_BOUND = int(TEXT_PROCESSING["dictionaries"][0]["occurrence_lower_bound"])


def _pool(X: pd.DataFrame, y: Any = None, texts: list[str] | None = None):
    from catboost import Pool

    return Pool(X, y, text_features=texts or None)


def _without_vocabulary(column: pd.Series) -> bool:
    """Whether no word of `column` (texts of words joined by spaces) reaches the dictionary's bound."""
    counts = column.fillna("").astype(str).str.split().explode().dropna().value_counts()
    return not (counts >= _OCCURRENCE_LOWER_BOUND).any()


def _training_pool(X: pd.DataFrame, y: Any, texts: list[str]):
    """A pool to fit on: `X` with `_PRESENT` added to the rows of each text column without vocabulary."""
    empty = [c for c in texts if _without_vocabulary(X[c])]
    if empty:
        X = X.assign(**{c: (X[c].fillna("").astype(str) + " " + _PRESENT).str.strip() for c in empty})
    return _pool(X, y, texts)


def fold_indices(n: int, k: int, seed: int = 0) -> list[np.ndarray]:
    """k test folds over rows 0..n-1: k integer arrays of n/k rows (give or take one) from a
    permutation seeded by `seed`, each row in exactly one. The folds `build` cross-validates on."""
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


def _fit_predict(item, X_train, y_train, X_test, seed, threads, texts, iterations=ITERATIONS):
    model = _model(item, seed, threads, bool(texts), iterations)
    model.fit(_training_pool(X_train, y_train, texts))
    predicted = model.predict(_pool(X_test, None, texts))
    return np.asarray(predicted).reshape(-1)


def out_of_fold(features: pd.DataFrame, y: np.ndarray, item: ItemSpec, test_folds: list[np.ndarray], *,
                seed: int = 0, threads: int = 2, iterations: int = ITERATIONS,
                progress: Progress | None = None) -> np.ndarray:
    """Cross-validated predictions of one item on given folds: (n,) floats, row i predicted by
    the model trained on the folds without row i (the build's parameters, `iterations` rounds).

    `features`: n rows; numeric columns (NaN where not measured) and text columns (strings,
    "" for no words; `text_columns_of`). `y`: (n,) scores (class codes for a categorical item).
    `test_folds`: integer arrays partitioning 0..n-1 (`fold_indices`); give several feature
    sets the same folds to compare them. Predictions are in the model's units, not clipped to
    the item's scale. `progress(k, message)` follows each fold. Raises CatBoostError when
    CatBoost refuses the data.
    """
    texts = text_columns_of(features)
    X = features.reset_index(drop=True)
    out = np.empty(len(y), dtype=float)
    for k, test in enumerate(test_folds):
        train = np.setdiff1d(np.arange(len(y)), test)
        if len(np.unique(y[train])) < 2:
            # A fold whose training part holds one score: CatBoost refuses it, and that score is the fit.
            out[test] = y[train][0]
        else:
            out[test] = _fit_predict(item, X.iloc[train], y[train], X.iloc[test], seed, threads, texts, iterations)
        if progress:
            progress(k + 1, job_text(N_("%(item)s: cross-validation, part %(part)s of %(parts)s"), item=item.name,
                                     part=k + 1, parts=len(test_folds)))
    return out


def build(
    features: pd.DataFrame,
    labels: pd.DataFrame,
    items: list[ItemSpec],
    *,
    folds: int = FOLDS,
    seed: int = 0,
    threads: int = 2,
    progress: Progress | None = None,
    iterations: int = ITERATIONS,
) -> BuildResult:
    """Cross-validate and fit one model per item (`iterations` boosting rounds each).

    An item that cannot be learnt (fewer than HARD_MINIMUM scores, the same score on every
    interview, or CatBoost refusing it) is left out with its reason in `skipped`, and the
    other items are built. Raises TrainingRefused when there are no features or no item
    could be built at all.
    """
    from catboost import CatBoostError

    report = progress or (lambda _p, _m: None)
    common = features.index.intersection(labels.index)
    features = features.loc[common]
    texts = [c for c in text_columns_of(features) if features[c].fillna("").astype(str).str.strip().ne("").any()]
    numeric = features.drop(columns=text_columns_of(features)).astype(float)
    feature_names = [c for c in numeric.columns if numeric[c].notna().any()]
    if not feature_names:
        raise TrainingRefused(N_("no features: analyse the recordings before building a model"), code="no_features")
    # An interview without text has "" there: CatBoost reads it as no words, not as a value.
    X_all = pd.concat([numeric[feature_names], features[texts].fillna("").astype(str)], axis=1)
    feature_names = feature_names + texts
    warnings: list[dict[str, Any]] = []
    results: dict[str, ItemResult] = {}
    skipped: dict[str, dict[str, Any]] = {}
    steps = max(1, len(items) * (folds + 1))
    done = 0
    for item in items:
        if item.key not in labels.columns:
            continue
        y_all = labels.loc[common, item.key].dropna()
        n = len(y_all)
        if n < HARD_MINIMUM:
            skipped[item.key] = {"code": "too_few", "item": item.name, "n": n, "minimum": HARD_MINIMUM}
            continue
        if y_all.nunique() < 2:
            skipped[item.key] = {"code": "constant", "item": item.name, "n": n, "value": float(y_all.iloc[0])}
            continue
        try:
            results[item.key] = _build_item(
                item, X_all.loc[y_all.index], y_all, folds, seed, threads,
                lambda step, message, offset=done: report(int(100 * (offset + step) / steps), message),
                iterations)
        except CatBoostError as exc:
            skipped[item.key] = {"code": "training_error", "item": item.name, "n": n, "detail": str(exc)[:300]}
            continue
        finally:
            done += folds + 1
        if n < RECOMMENDED_MINIMUM:
            warnings.append({"code": "few", "item": item.name, "n": n, "recommended": RECOMMENDED_MINIMUM})
    if not results:
        reasons = "; ".join(_skip_text(reason) for reason in skipped.values()) or "no evaluation item has expert scores"
        raise TrainingRefused(N_("no evaluation item could be built") + f": {reasons}", code="no_item", skipped=skipped)
    return BuildResult(feature_names=feature_names, n_interviews=len(common), items=results, skipped=skipped,
                       warnings=warnings)


def _skip_text(reason: dict[str, Any]) -> str:
    """One skipped item's reason in English, for logs and the job's error line."""
    if reason["code"] == "too_few":
        return f"{reason['item']}: {reason['n']} interviews with expert scores; at least {reason['minimum']} are needed"
    if reason["code"] == "constant":
        return f"{reason['item']}: every interview has the same expert score ({reason['value']:g})"
    return f"{reason['item']}: {reason.get('detail', reason['code'])}"


def _build_item(item: ItemSpec, features: pd.DataFrame, y_all: pd.Series, folds: int, seed: int, threads: int,
                report: Progress, iterations: int = ITERATIONS) -> ItemResult:
    """Cross-validated predictions, metrics and the final model of one item (y has two values or more)."""
    n = len(y_all)
    texts = text_columns_of(features)
    X = features.reset_index(drop=True)
    y = y_all.to_numpy()
    if item.categorical:
        y = y.astype(int)
    predicted = out_of_fold(X, y, item, fold_indices(n, min(folds, n), seed), seed=seed, threads=threads,
                            iterations=iterations, progress=report)
    if item.categorical:
        metrics = classification_metrics(y, predicted.astype(int))
    else:
        metrics = regression_metrics(y, np.clip(predicted, item.scale_min, item.scale_max), item.integer_scale)
    final = _model(item, seed, threads, bool(texts), iterations)
    final.fit(_training_pool(X, y, texts))
    report(folds + 1, job_text(N_("%(item)s: training the final model"), item=item.name))
    importance = dict(zip(features.columns, map(float, final.get_feature_importance())))
    return ItemResult(item=item, n=n, metrics=metrics, importance=importance, model_bytes=_to_bytes(final),
                      oof=dict(zip(map(str, y_all.index), map(float, predicted))))


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


def predict(model, item: ItemSpec, feature_names: list[str], row: dict[str, Any], *, scale: float = 1.0,
            shift: float = 0.0, top: int | None = TOP_CONTRIBUTIONS) -> Prediction:
    """One interview's prediction with its `top` SHAP contributions (None: all), in the item's units.

    `row` holds numbers, and text for the model's text features (missing text reads as no words).
    `scale` and `shift` map a regression model's output onto the item's scale (a model trained
    on another scale: value = scale * output + shift, contributions times `scale`) before the
    value is clipped to the item's range; SHAP values stay additive under that linear map.
    """
    text_indices = set(model.get_text_feature_indices())
    texts = [name for i, name in enumerate(feature_names) if i in text_indices]
    x = pd.DataFrame([{name: str(row.get(name) or "") if i in text_indices else float(row.get(name, np.nan))
                       for i, name in enumerate(feature_names)}], columns=feature_names)
    pool = _pool(x, None, texts)
    raw = np.asarray(model.predict(pool)).reshape(-1)[0]
    value = float(raw) if item.categorical else float(np.clip(scale * float(raw) + shift, item.scale_min, item.scale_max))
    shap = np.asarray(model.get_feature_importance(pool, type="ShapValues"))
    # Multiclass models explain each class; explain the one predicted.
    shap = shap[0, list(model.classes_).index(raw)] if shap.ndim == 3 else shap[0]
    if not item.categorical:
        shap = shap * scale
        shap[-1] += shift
    contributions = sorted(zip(feature_names, map(float, shap[:-1])), key=lambda kv: -abs(kv[1]))
    return Prediction(value=value, contributions=contributions[:top] if top else contributions,
                      base_value=float(shap[-1]))


def blended(own: Prediction, vendor: Prediction, weight: float, item: ItemSpec, top: int = TOP_CONTRIBUTIONS
            ) -> Prediction:
    """`weight` * vendor + (1 - weight) * own, explained by the same mix of both explanations.

    Give `predict(..., top=None)` answers, so that every feature's share is summed before the
    largest are kept; the mixed SHAP values add up to the mixed prediction before clipping.
    """
    shares: dict[str, float] = {}
    for part, w in ((own, 1 - weight), (vendor, weight)):
        for name, value in part.contributions:
            shares[name] = shares.get(name, 0.0) + w * value
    value = float(np.clip(weight * vendor.value + (1 - weight) * own.value, item.scale_min, item.scale_max))
    contributions = sorted(shares.items(), key=lambda kv: -abs(kv[1]))[:top]
    return Prediction(value=value, contributions=contributions,
                      base_value=weight * vendor.base_value + (1 - weight) * own.base_value)


def linear_rescale(from_min: float, from_max: float, to_min: float, to_max: float) -> tuple[float, float]:
    """(scale, shift) mapping the range [from_min, from_max] onto [to_min, to_max] linearly.

    (1.0, 0.0) for the same scale. Raises ValueError on an empty range.
    """
    if from_max <= from_min or to_max <= to_min:
        raise ValueError("a scale needs its highest score above its lowest")
    scale = (to_max - to_min) / (from_max - from_min)
    return scale, to_min - scale * from_min


def accuracy_weight(truth: np.ndarray, own: np.ndarray, vendor: np.ndarray) -> float:
    """The vendor's weight in a blend weighted by measured accuracy: inverse mean squared error,
    w = MSE_own / (MSE_own + MSE_vendor), from 0 (own only) to 1 (vendor only)."""
    own_mse = float(np.mean((own - truth) ** 2))
    vendor_mse = float(np.mean((vendor - truth) ** 2))
    if own_mse + vendor_mse == 0:
        return 0.5
    return own_mse / (own_mse + vendor_mse)


def cross_fitted_blend(truth: np.ndarray, own: np.ndarray, vendor: np.ndarray, *, folds: int = FOLDS,
                       seed: int = 0) -> np.ndarray:
    """The blend's prediction of every interview with a weight measured on the other folds only,
    so its metrics are not flattered by choosing the weight on the very interviews it scores.
    Arrays of one value per interview, in the same order."""
    n = len(truth)
    out = np.empty(n, dtype=float)
    for test in fold_indices(n, min(folds, n), seed):
        train = np.setdiff1d(np.arange(n), test)
        w = accuracy_weight(truth[train], own[train], vendor[train]) if len(train) else 0.5
        out[test] = w * vendor[test] + (1 - w) * own[test]
    return out


def _spearman_rows(truth: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Spearman's rho of each row pair of two (rounds, n) arrays; NaN where a row is constant."""
    from scipy.stats import rankdata

    a = rankdata(truth, axis=1)
    b = rankdata(predicted, axis=1)
    a -= a.mean(axis=1, keepdims=True)
    b -= b.mean(axis=1, keepdims=True)
    norm = np.sqrt((a**2).sum(axis=1) * (b**2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norm > 0, (a * b).sum(axis=1) / np.where(norm > 0, norm, 1), np.nan)


def bootstrap_interval(truth: np.ndarray, predicted: np.ndarray, *, rounds: int = 1000, seed: int = 0,
                       level: float = 0.95, metric: str = "mae", baseline: np.ndarray | None = None
                       ) -> tuple[float, float]:
    """The `level` percentile interval of a metric over `rounds` resamples of the interviews.

    `truth`, `predicted` (and `baseline`): (n,) arrays, one value per interview in the same
    order. `metric`: "mae" (mean absolute error) or "spearman" (Spearman's rho; resamples where
    it is undefined, a constant sample, are left out). With `baseline`, the interval is of the
    paired difference metric(predicted) - metric(baseline) on the same resamples: lower MAE is
    better, so a negative MAE difference is an improvement. (nan, nan) when no resample has a
    value. Raises ValueError on another metric.
    """
    if metric not in ("mae", "spearman"):
        raise ValueError(f"unknown metric {metric!r}: 'mae' or 'spearman'")
    rng = np.random.default_rng(seed)
    n = len(truth)
    sample = rng.integers(0, n, size=(rounds, n))

    def measured(p: np.ndarray) -> np.ndarray:
        if metric == "mae":
            return np.abs(p - truth)[sample].mean(axis=1)
        return _spearman_rows(truth[sample].astype(float), p[sample].astype(float))

    values = measured(predicted) if baseline is None else measured(predicted) - measured(baseline)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return float("nan"), float("nan")
    tail = (1 - level) / 2
    return float(np.quantile(values, tail)), float(np.quantile(values, 1 - tail))
