"""The report's content: what the page and its CSV show, computed once and stored as JSON
(`report_store`), so the page only renders it.

Shape (every number a float or int, None where there is none, e.g. the SD of one value):
    {"format": FORMAT, "interviews": int,
     "items": [{"key", "name"}],                               # the evaluated items, names as typed
     "distributions": [{"feature", "n", "mean", "std", "p10", "p50", "p90"}],
     "correlations": [{"feature", "item", "n", "rho", "p", "q", "significant"}],           # by p
     "differences": [{"feature", "item", "n_high", "n_low", "median_high", "median_low", "u",
                      "p", "q", "significant"}],                                          # by p
     "histograms": [{"feature", "image"}], "heatmap": str | None}  # images as PNG data URIs
`item` is the item's key; `items` names it. The statistics are `statistics.report_tables`.
pandas, scipy and matplotlib are imported only here, inside the functions: a web process that
only shows stored reports never loads them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from core.tenancy import TenantScope

if TYPE_CHECKING:
    import pandas as pd

# Raised when the content's shape or the way it is computed changes: stored reports of an
# older format are then computed again (report_store.inputs_stamp includes it).
FORMAT = 1


def _plain(value: Any) -> Any:
    """numpy scalars as Python numbers; NaN and infinities as None (JSON has neither)."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{column: _plain(value) for column, value in row.items()} for row in frame.to_dict("records")]


def report_content(features: pd.DataFrame, labels: pd.DataFrame, item_names: Mapping[str, str]) -> dict[str, Any]:
    """The content for these tables (`report_data`'s shapes, already narrowed to the reader's
    interviews); `item_names` maps item keys to names, an item without one keeps its key."""
    from plugins.face_features.video_analysis import plots
    from plugins.face_features.video_analysis.statistics import report_tables

    tables = report_tables(features, labels)
    names = {key: item_names.get(key, key) for key in labels.columns}
    return {
        "format": FORMAT,
        "interviews": len(features),
        "items": [{"key": key, "name": name} for key, name in names.items()],
        "distributions": _records(tables.distributions),
        "correlations": _records(tables.correlations),
        "differences": _records(tables.differences),
        "histograms": [{"feature": feature, "image": image} for feature, image in plots.histograms(features)],
        "heatmap": plots.correlation_heatmap(tables.correlations, names),
    }


async def compute_report(scope: TenantScope, visible: set[str] | None) -> dict[str, Any]:
    """The content over the tenant's analysed interviews, or only those in `visible` (interview
    ids as text, `core.interviews.api.visible_interview_ids`; None: all of them). The statistics
    and figures (seconds of CPU) run on a thread of their own, so a request computing a missing
    report does not hold up the event loop's other requests."""
    import asyncio

    from plugins.face_features.video_analysis.report_data import evaluation_labels, face_feature_table, item_names

    features, labels = await face_feature_table(scope), await evaluation_labels(scope)
    if visible is not None:
        features, labels = features[features.index.isin(visible)], labels[labels.index.isin(visible)]
    return await asyncio.to_thread(report_content, features, labels, await item_names(scope))


def csv_text(content: Mapping[str, Any]) -> str:
    """Every test of a stored report in long form, for download: test, feature, item (its name),
    item_key, statistic, p, q, significant. Names are typed by people: no formulas in a spreadsheet."""
    import csv
    import io

    from core import csv_output

    names = {item["key"]: item["name"] for item in content["items"]}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["test", "feature", "item", "item_key", "statistic", "p", "q", "significant"])
    for test, rows, statistic in (("spearman", content["correlations"], "rho"),
                                  ("mann_whitney", content["differences"], "u")):
        for row in rows:
            writer.writerow([test, csv_output.cell(row["feature"]), csv_output.cell(names.get(row["item"], row["item"])),
                             csv_output.cell(row["item"]), _number(row[statistic]), _number(row["p"]),
                             _number(row["q"]), row["significant"]])
    return out.getvalue()


def _number(value: float | None) -> str:
    return "" if value is None else repr(value)
