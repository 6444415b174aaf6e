"""The report's figures as PNG data URIs (matplotlib, no display), embedded in the page."""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the headless backend)
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

HEADLINE = ("presence_ratio", "smile_ratio", "gaze_at_camera_ratio", "blink_rate_per_min",
            "head_movement_energy", "yaw_std", "pitch_std", "roll_std")
HEATMAP_ROWS = 25


def _data_uri(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def histograms(features: pd.DataFrame) -> list[tuple[str, str]]:
    """(feature, image) for the headline features that have values."""
    out = []
    for name in HEADLINE:
        if name not in features.columns or features[name].dropna().empty:
            continue
        figure, axes = plt.subplots(figsize=(3.2, 2.2))
        axes.hist(features[name].dropna(), bins=min(20, max(5, features[name].count() // 2)), color="#2f6f9f")
        axes.set_title(name, fontsize=9)
        axes.tick_params(labelsize=7)
        out.append((name, _data_uri(figure)))
    return out


def correlation_heatmap(correlations: pd.DataFrame) -> str | None:
    """Spearman's rho of the features most correlated with any item; * marks q < alpha."""
    if correlations.empty:
        return None
    strongest = (correlations.assign(a=correlations["rho"].abs()).groupby("feature")["a"].max()
                 .sort_values(ascending=False).head(HEATMAP_ROWS).index)
    chosen = correlations[correlations["feature"].isin(strongest)]
    rho = chosen.pivot(index="feature", columns="item", values="rho").reindex(strongest)
    significant = chosen.pivot(index="feature", columns="item", values="significant").reindex(strongest)
    figure, axes = plt.subplots(figsize=(1.2 + 0.9 * rho.shape[1], 0.8 + 0.28 * rho.shape[0]))
    image = axes.imshow(rho.to_numpy(float), cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
    axes.set_xticks(range(rho.shape[1]), rho.columns, rotation=45, ha="right", fontsize=7)
    axes.set_yticks(range(rho.shape[0]), rho.index, fontsize=7)
    for (i, j), flag in np.ndenumerate(significant.fillna(False).to_numpy(bool)):
        if flag:
            axes.text(j, i, "*", ha="center", va="center", fontsize=9)
    figure.colorbar(image, ax=axes, shrink=0.6, label="Spearman rho")
    return _data_uri(figure)
