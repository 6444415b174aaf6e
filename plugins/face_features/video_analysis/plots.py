"""The report's figures as PNG data URIs (matplotlib, no display), embedded in the page.

Figures are made with `matplotlib.figure.Figure`, not pyplot, and fonts are given per label, not
in rcParams: both are global state, and a report may be computed on a web request's thread and
in a job at the same moment. Item names are typed by people, often in Japanese, so their labels
fall back to the Noto CJK fonts (Debian's fonts-noto-cjk)."""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties

HEADLINE = ("presence_ratio", "smile_ratio", "gaze_at_camera_ratio", "blink_rate_per_min",
            "head_movement_energy", "yaw_std", "pitch_std", "roll_std")
HEATMAP_ROWS = 25
NAME_FONTS = ["DejaVu Sans", "Noto Sans CJK JP"]  # the first that has a glyph draws it


def _data_uri(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def histograms(features: pd.DataFrame) -> list[tuple[str, str]]:
    """(feature, image) for the headline features that have values."""
    out = []
    for name in HEADLINE:
        if name not in features.columns or features[name].dropna().empty:
            continue
        figure = Figure(figsize=(3.2, 2.2))
        axes = figure.subplots()
        axes.hist(features[name].dropna(), bins=min(20, max(5, features[name].count() // 2)), color="#2f6f9f")
        axes.set_title(name, fontsize=9)
        axes.tick_params(labelsize=7)
        out.append((name, _data_uri(figure)))
    return out


def correlation_heatmap(correlations: pd.DataFrame, item_names: Mapping[str, str]) -> str | None:
    """Spearman's rho of the features most correlated with any item, columns headed by the items'
    names (`item_names`: key -> name); * marks q < alpha."""
    if correlations.empty:
        return None
    strongest = (correlations.assign(a=correlations["rho"].abs()).groupby("feature")["a"].max()
                 .sort_values(ascending=False).head(HEATMAP_ROWS).index)
    chosen = correlations[correlations["feature"].isin(strongest)]
    rho = chosen.pivot(index="feature", columns="item", values="rho").reindex(strongest)
    significant = chosen.pivot(index="feature", columns="item", values="significant").reindex(strongest)
    figure = Figure(figsize=(1.2 + 0.9 * rho.shape[1], 0.8 + 0.28 * rho.shape[0]))
    axes = figure.subplots()
    image = axes.imshow(rho.to_numpy(float), cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
    axes.set_xticks(range(rho.shape[1]), [item_names.get(k, k) for k in rho.columns], rotation=45, ha="right",
                    fontproperties=FontProperties(family=NAME_FONTS, size=7))
    axes.set_yticks(range(rho.shape[0]), rho.index, fontsize=7)
    for (i, j), flag in np.ndenumerate(significant.fillna(False).to_numpy(bool)):
        if flag:
            axes.text(j, i, "*", ha="center", va="center", fontsize=9)
    figure.colorbar(image, ax=axes, shrink=0.6, label="Spearman rho")
    return _data_uri(figure)
