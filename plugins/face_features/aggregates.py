"""Per-interview features from the per-frame table: a pure function of the rows.

Statistics use only frames with a face; a feature that cannot be measured (no
face at all, no emotion columns) is left out rather than set to zero.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from plugins.face_features.frame_analysis import BLENDSHAPE_COLUMNS, EMOTION_COLUMNS

BLINK_THRESHOLD = 0.5  # eyeBlink score above which the eyes count as closed
SMILE_THRESHOLD = 0.5  # mean of mouthSmileLeft/Right above which a frame counts as smiling
CAMERA_YAW_DEGREES = 15.0  # head turned less than this ...
CAMERA_GAZE = 0.35  # ... and irises within this many half eye widths of the centre: looking at the camera
PERCENTILES = (10, 50, 90)
DISTRIBUTED = ("yaw", "pitch", "roll", "eye_open", "gaze_x", "gaze_y")


def aggregate(table: Mapping[str, np.ndarray]) -> dict[str, float]:
    """`table` maps column name to a 1-D array, rows in frame order (NaN where there was no face)."""
    face = np.asarray(table["face"], dtype=bool)
    total = len(face)
    features: dict[str, float] = {"sampled_frames": float(total)}
    if total == 0:
        return features
    t = np.asarray(table["t"], dtype=float)
    # A quality feature (core.features.QUALITY_MINIMUMS): models leave out recordings too short to judge.
    step = float(np.median(np.diff(t))) if total > 1 else 0.0
    features["duration_s"] = float(t[-1] - t[0] + step)
    features["presence_ratio"] = float(face.mean())
    if not face.any():
        return features
    columns = {name: np.asarray(values, dtype=float) for name, values in table.items() if name not in ("face", "t", "frame")}
    columns["eye_open"] = (columns["eye_open_left"] + columns["eye_open_right"]) / 2
    on = {name: values[face] for name, values in columns.items()}

    for name in DISTRIBUTED:
        values = on[name][np.isfinite(on[name])]
        if values.size == 0:
            continue
        features[f"{name}_mean"] = float(values.mean())
        features[f"{name}_std"] = float(values.std())
        for q, value in zip(PERCENTILES, np.percentile(values, PERCENTILES)):
            features[f"{name}_p{q}"] = float(value)
    for name in (*BLENDSHAPE_COLUMNS, *EMOTION_COLUMNS):
        if name in on and np.isfinite(on[name]).any():
            values = on[name][np.isfinite(on[name])]
            features[f"{name}_mean"] = float(values.mean())
            features[f"{name}_std"] = float(values.std())

    interval = float(np.median(np.diff(t))) if total > 1 else 0.0
    face_minutes = face.sum() * interval / 60
    # Blendshapes, yaw and gaze come from the landmark backend; without them these ratios are unknown.
    blink_score = (columns["bs_eyeBlinkLeft"] + columns["bs_eyeBlinkRight"]) / 2
    if face_minutes > 0 and np.isfinite(blink_score[face]).all():
        blink = blink_score > BLINK_THRESHOLD
        # A blink starts where closed eyes follow open ones, both frames with a face.
        starts = blink[1:] & ~blink[:-1] & face[1:] & face[:-1]
        features["blink_rate_per_min"] = float(starts.sum() / face_minutes)
    smile = (on["bs_mouthSmileLeft"] + on["bs_mouthSmileRight"]) / 2
    if np.isfinite(smile).all():
        features["smile_ratio"] = float((smile > SMILE_THRESHOLD).mean())
    if np.isfinite(on["yaw"]).all() and np.isfinite(on["gaze_x"]).all():
        at_camera = (np.abs(on["yaw"]) < CAMERA_YAW_DEGREES) & (np.abs(on["gaze_x"]) < CAMERA_GAZE)
        features["gaze_at_camera_ratio"] = float(at_camera.mean())

    # Head-movement energy: mean squared angular speed (deg/s)^2 over consecutive frames with a face.
    both = face[1:] & face[:-1]
    dt = np.diff(t)[both]
    if both.any() and (dt > 0).all():
        speed2 = sum((np.diff(columns[axis])[both] / dt) ** 2 for axis in ("yaw", "pitch", "roll"))
        if np.isfinite(speed2).all():
            features["head_movement_energy"] = float(speed2.mean())
    return features
