"""One frame in, one row out: face presence, head pose, eyes, gaze, blendshapes, emotions.

MediaPipe FaceLandmarker in VIDEO mode (it tracks between frames, so one
landmarker serves one contiguous run of frames) gives 478 landmarks, 52
blendshapes and a 4x4 face pose matrix. The fer mini-Xception model (TFLite, run
by ai-edge-litert) gives 7 emotion probabilities from a 64x64 grey face crop, and
only when the tenant's region allows emotion inference: otherwise its columns do
not exist at all.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

BLENDSHAPES = (
    "_neutral", "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft", "eyeBlinkRight",
    "eyeLookDownLeft", "eyeLookDownRight", "eyeLookInLeft", "eyeLookInRight", "eyeLookOutLeft",
    "eyeLookOutRight", "eyeLookUpLeft", "eyeLookUpRight", "eyeSquintLeft", "eyeSquintRight",
    "eyeWideLeft", "eyeWideRight", "jawForward", "jawLeft", "jawOpen", "jawRight", "mouthClose",
    "mouthDimpleLeft", "mouthDimpleRight", "mouthFrownLeft", "mouthFrownRight", "mouthFunnel",
    "mouthLeft", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthPressLeft", "mouthPressRight",
    "mouthPucker", "mouthRight", "mouthRollLower", "mouthRollUpper", "mouthShrugLower",
    "mouthShrugUpper", "mouthSmileLeft", "mouthSmileRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthUpperUpLeft", "mouthUpperUpRight", "noseSneerLeft", "noseSneerRight",
)
EMOTIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")  # fer's output order

POSE_COLUMNS = ("yaw", "pitch", "roll")
EYE_COLUMNS = ("eye_open_left", "eye_open_right", "gaze_x", "gaze_y")
BLENDSHAPE_COLUMNS = tuple(f"bs_{name}" for name in BLENDSHAPES)
EMOTION_COLUMNS = tuple(f"emo_{name}" for name in EMOTIONS)

# FaceMesh landmark indices: eye corners and lids, and the iris centres (478-point model).
_EYES = {
    "left": {"outer": 263, "inner": 362, "upper": 386, "lower": 374, "iris": 473},
    "right": {"outer": 33, "inner": 133, "upper": 159, "lower": 145, "iris": 468},
}
_CROP_MARGIN = 0.15


def columns(emotion: bool) -> tuple[str, ...]:
    base = ("frame", "t", "face", *POSE_COLUMNS, *EYE_COLUMNS, *BLENDSHAPE_COLUMNS)
    return (*base, *EMOTION_COLUMNS) if emotion else base


def pose_angles(matrix: np.ndarray) -> tuple[float, float, float]:
    """Yaw, pitch and roll in degrees from the face pose matrix (roll positive = counter-clockwise)."""
    r = np.asarray(matrix)[:3, :3]
    yaw = math.degrees(math.asin(max(-1.0, min(1.0, -r[2, 0]))))
    pitch = math.degrees(math.atan2(r[2, 1], r[2, 2]))
    roll = math.degrees(math.atan2(r[1, 0], r[0, 0]))
    return yaw, pitch, roll


def eye_measures(points: np.ndarray) -> dict[str, float]:
    """Eye openness (lid gap over eye width) and gaze (iris offset from the eye centre, in half eye widths)."""
    out: dict[str, float] = {}
    gaze_x, gaze_y = [], []
    for side, idx in _EYES.items():
        outer, inner = points[idx["outer"]], points[idx["inner"]]
        width = float(np.linalg.norm(outer - inner)) or 1e-6
        out[f"eye_open_{side}"] = float(np.linalg.norm(points[idx["upper"]] - points[idx["lower"]])) / width
        centre = (outer + inner) / 2
        # x grows towards the subject's left in both eyes, so both eyes agree on direction.
        axis = (outer - inner) if side == "left" else (inner - outer)
        axis = axis / (np.linalg.norm(axis) or 1e-6)
        normal = np.array([-axis[1], axis[0]])
        offset = points[idx["iris"]] - centre
        gaze_x.append(float(offset @ axis) / (width / 2))
        gaze_y.append(float(offset @ normal) / (width / 2))
    out["gaze_x"] = float(np.mean(gaze_x))
    out["gaze_y"] = float(np.mean(gaze_y))
    return out


class EmotionModel:
    def __init__(self, model_path: Path) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_path=str(model_path), num_threads=1)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]["index"]
        self.output = self.interpreter.get_output_details()[0]["index"]

    def probabilities(self, grey_face: np.ndarray) -> np.ndarray:
        x = cv2.resize(grey_face, (64, 64), interpolation=cv2.INTER_AREA).astype(np.float32)
        x = (x / 255.0 - 0.5) * 2.0
        self.interpreter.set_tensor(self.input, x[None, :, :, None])
        self.interpreter.invoke()
        p = self.interpreter.get_tensor(self.output)[0].astype(np.float64)
        return p / p.sum() if p.sum() > 0 else p


class FrameAnalyser:
    """Analyses one contiguous run of frames; make a new one for each run (VIDEO mode tracks)."""

    def __init__(self, landmarker_path: Path, emotion_path: Path | None) -> None:
        from mediapipe.tasks.python import BaseOptions, vision

        options = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(landmarker_path)),
            running_mode=vision.RunningMode.VIDEO,
            num_faces=1,
            output_face_blendshapes=True,
            output_facial_transformation_matrixes=True,
        )
        self.landmarker = vision.FaceLandmarker.create_from_options(options)
        self.emotion = EmotionModel(emotion_path) if emotion_path else None
        self.columns = columns(self.emotion is not None)

    def close(self) -> None:
        self.landmarker.close()

    def __enter__(self) -> FrameAnalyser:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def analyse(self, frame_bgr: np.ndarray, frame: int, t: float) -> dict[str, float]:
        import mediapipe as mp

        rgb = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2RGB)
        result = self.landmarker.detect_for_video(
            mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb), round(t * 1000)
        )
        row = dict.fromkeys(self.columns, math.nan)
        row.update(frame=frame, t=t, face=False)
        if not result.face_landmarks:
            return row
        height, width = frame_bgr.shape[:2]
        points = np.array([(p.x * width, p.y * height) for p in result.face_landmarks[0]])
        row["face"] = True
        row["yaw"], row["pitch"], row["roll"] = pose_angles(result.facial_transformation_matrixes[0])
        row.update(eye_measures(points))
        for category in result.face_blendshapes[0]:
            row[f"bs_{category.category_name}"] = float(category.score)
        if self.emotion is not None:
            crop = _face_crop(cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY), points)
            if crop is not None:
                for name, p in zip(EMOTION_COLUMNS, self.emotion.probabilities(crop)):
                    row[name] = float(p)
        return row


def _face_crop(grey: np.ndarray, points: np.ndarray) -> np.ndarray | None:
    (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
    mx, my = (x1 - x0) * _CROP_MARGIN, (y1 - y0) * _CROP_MARGIN
    h, w = grey.shape
    left, top = max(0, int(x0 - mx)), max(0, int(y0 - my))
    right, bottom = min(w, int(x1 + mx)), min(h, int(y1 + my))
    if right - left < 8 or bottom - top < 8:
        return None
    return grey[top:bottom, left:right]
