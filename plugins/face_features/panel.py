"""The result page's face panel: what the analysis measured, in plain figures and a timeline.

Figures come from the stored per-interview features; the timeline from the encrypted
per-frame table, thinned to at most TIMELINE_POINTS points so the page stays light.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from core.features import features_by_recording, features_of
from core.runtime import runtime
from core.tenancy import TenantScope
from plugins.face_features import frame_table
from plugins.face_features.aggregates import SMILE_THRESHOLD

TIMELINE_POINTS = 240
WIDTH, HEIGHT = 600, 120  # the timeline's drawing units (it scales to the panel's width)


def figures(features: dict[str, float]) -> list[dict[str, Any]]:
    """(label key, value text) for the measured figures, in the order people read them."""
    f = {k.removeprefix("face_features."): v for k, v in features.items() if k.startswith("face_features.")}
    out = []
    if "duration_s" in f and "presence_ratio" in f:
        out.append({"what": "in_view", "seconds": f["duration_s"] * f["presence_ratio"], "of": f["duration_s"],
                    "pct": 100 * f["presence_ratio"]})
    for name in ("smile_ratio", "gaze_at_camera_ratio"):
        if name in f:
            out.append({"what": name, "pct": 100 * f[name]})
    if "blink_rate_per_min" in f:
        out.append({"what": "blinks", "value": f["blink_rate_per_min"]})
    if "yaw_std" in f and "pitch_std" in f:
        out.append({"what": "head", "yaw": f["yaw_std"], "pitch": f["pitch_std"]})
    return out


def timeline(columns: dict[str, np.ndarray]) -> dict[str, Any] | None:
    """SVG geometry: spans with a face in view, the smile score (0-1) and the head turn (degrees)."""
    t = columns.get("t")
    if t is None or len(t) < 2:
        return None
    face = columns["face"].astype(bool)
    end = float(t[-1]) or 1.0
    x = lambda seconds: round(WIDTH * float(seconds) / end, 1)  # noqa: E731
    spans, start = [], None
    for seconds, present in zip(t, face):
        if present and start is None:
            start = seconds
        elif not present and start is not None:
            spans.append((x(start), max(0.5, x(seconds) - x(start))))
            start = None
    if start is not None:
        spans.append((x(start), max(0.5, x(t[-1]) - x(start))))
    step = max(1, len(t) // TIMELINE_POINTS)
    smile = (columns["bs_mouthSmileLeft"] + columns["bs_mouthSmileRight"]) / 2 if "bs_mouthSmileLeft" in columns else None
    yaw = columns.get("yaw")

    def line(values: np.ndarray | None, top: float, height: float, low: float, high: float) -> str:
        if values is None:
            return ""
        points = []
        for i in range(0, len(t), step):
            v = values[i]
            if np.isfinite(v):
                y = top + height * (1 - (min(max(v, low), high) - low) / (high - low))
                points.append(f"{x(t[i])},{y:.1f}")
        return " ".join(points)

    return {"width": WIDTH, "height": HEIGHT, "spans": spans, "end": end,
            "smile": line(smile, 34, 36, 0.0, 1.0), "smile_threshold_y": 34 + 36 * (1 - SMILE_THRESHOLD),
            "yaw": line(yaw, 78, 36, -45.0, 45.0)}


async def panel_context(tenant: Any, interview: Any) -> dict[str, Any] | None:
    """The panel's variables, or None when the interview has no face features yet."""
    from plugins.face_features.extractor import FaceFeatureExtractor

    features = await features_of(TenantScope(tenant.id), interview.id)
    if not any(k.startswith("face_features.") for k in features):
        return None
    storage = runtime().storage
    tk = storage.tenant_key(tenant)
    # One timeline over the interview: each recording's frames after the previous recordings'.
    parts, offset = [], 0.0
    recordings: dict[Any, dict[str, float]] = {
        rid: dict(r.features) for rid, r in (await features_by_recording(TenantScope(tenant.id), interview.id)).items()}
    # A file analysed outside the interview's recordings keeps its table under the interview alone.
    for recording_id, recorded in (recordings or {None: features}).items():
        key = frame_table.blob_key(interview.id, FaceFeatureExtractor.version, recording_id)
        if not storage.exists(tk, key):
            continue
        columns = frame_table.to_columns(frame_table.load(storage, tk, key))
        if "t" in columns and len(columns["t"]):
            parts.append({**columns, "t": columns["t"] + offset})
            offset += float(recorded.get("face_features.duration_s") or columns["t"][-1])
    plot = None
    if parts:
        names = set.intersection(*(set(p) for p in parts))
        plot = timeline({name: np.concatenate([p[name] for p in parts]) for name in names})
    return {"figures": figures(features), "timeline": plot}
