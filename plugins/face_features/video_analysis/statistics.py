"""The video-analysis report's statistics: a pure function of a features table and a labels table.

- features: one row per interview (index = interview id), one column per feature;
- labels: one row per interview, one column per evaluation item (numeric scores).
Each feature against each item: Spearman's rho with its p-value, and a
Mann-Whitney U test between interviews rated above the item's median ("high")
and at or below it ("low"). Each family of tests is corrected for multiple
testing with Benjamini-Hochberg (q-values); `significant` means q < alpha.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats


MIN_PAIRS = 5  # fewer interviews than this give no test
MIN_GROUP = 3


@dataclass(frozen=True)
class ReportTables:
    distributions: pd.DataFrame  # feature, n, mean, std, p10, p50, p90
    correlations: pd.DataFrame  # feature, item, n, rho, p, q, significant
    differences: pd.DataFrame  # feature, item, n_high, n_low, median_high, median_low, u, p, q, significant


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    if p.size == 0:
        return p
    return stats.false_discovery_control(p, method="bh")


def distributions(features: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for name in features.columns:
        values = features[name].dropna().to_numpy(dtype=float)
        if values.size == 0:
            continue
        p10, p50, p90 = np.percentile(values, (10, 50, 90))
        rows.append(dict(feature=name, n=int(values.size), mean=float(values.mean()),
                         std=float(values.std(ddof=1)) if values.size > 1 else math.nan,
                         p10=float(p10), p50=float(p50), p90=float(p90)))
    return pd.DataFrame(rows, columns=["feature", "n", "mean", "std", "p10", "p50", "p90"])


def report_tables(features: pd.DataFrame, labels: pd.DataFrame, alpha: float = 0.05) -> ReportTables:
    # Items get their own column names, so an item named like a feature cannot collide with it.
    label_columns = [f"label:{item}" for item in labels.columns]
    joined = features.join(labels.set_axis(label_columns, axis=1), how="inner")
    correlations, differences = [], []
    for feature in features.columns:
        for item, column in zip(labels.columns, label_columns):
            pair = joined[[feature, column]].dropna()
            x, y = pair[feature].to_numpy(float), pair[column].to_numpy(float)
            if len(pair) < MIN_PAIRS or np.ptp(x) == 0 or np.ptp(y) == 0:
                continue
            rho, p = stats.spearmanr(x, y)
            correlations.append(dict(feature=feature, item=item, n=len(pair), rho=float(rho), p=float(p)))
            high, low = x[y > np.median(y)], x[y <= np.median(y)]
            if len(high) >= MIN_GROUP and len(low) >= MIN_GROUP:
                u, p = stats.mannwhitneyu(high, low, alternative="two-sided")
                differences.append(dict(feature=feature, item=item, n_high=len(high), n_low=len(low),
                                        median_high=float(np.median(high)), median_low=float(np.median(low)),
                                        u=float(u), p=float(p)))
    corr = pd.DataFrame(correlations, columns=["feature", "item", "n", "rho", "p"])
    diff = pd.DataFrame(differences, columns=["feature", "item", "n_high", "n_low", "median_high", "median_low", "u", "p"])
    for table in (corr, diff):
        table["q"] = benjamini_hochberg(table["p"].to_numpy())
        table["significant"] = table["q"] < alpha
    return ReportTables(
        distributions=distributions(features),
        correlations=corr.sort_values("p", kind="stable").reset_index(drop=True),
        differences=diff.sort_values("p", kind="stable").reset_index(drop=True),
    )
