"""Optional backend: face detection and five landmarks from an insightface model pack the user supplies.

No insightface pack ships on PyPI and the pretrained ones are licensed for
non-commercial research only, so the operator points `MENDAN_INSIGHTFACE_PACK`
at a folder they are entitled to use (e.g. an unpacked buffalo_l). Only its SCRFD
detector (`det_*.onnx`) is loaded, by file path, so insightface never downloads.
SCRFD gives a box and five points (eyes, nose, mouth corners): presence, roll
and the face crop for the emotion model; what it cannot measure (yaw, pitch,
gaze, blendshapes) stays empty rather than guessed.

Install: `pip install -e '.[insightface]'` then `pip install --no-deps insightface==2.1`
(its own requirement on opencv-python would replace mediapipe's OpenCV).
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

from plugins.face_features.frame_analysis import EMOTION_COLUMNS, EmotionModel, columns
from plugins.face_features.model_files import ModelFileError

DETECTION_SIZE = (640, 640)
DETECTION_THRESHOLD = 0.5


def detector_file(pack: Path) -> Path:
    """The pack's SCRFD detector; the pack must be a local folder, never a pack name to fetch."""
    if not pack.is_absolute() or not pack.is_dir():
        raise ModelFileError(f"the insightface model pack must be an existing absolute folder, not {str(pack)!r}")
    found = sorted(pack.glob("det_*.onnx")) or sorted(pack.glob("*scrfd*.onnx"))
    if not found:
        raise ModelFileError(f"no SCRFD detector (det_*.onnx) in the insightface model pack {pack}")
    return found[0]


def roll_from_eyes(right_eye: np.ndarray, left_eye: np.ndarray) -> float:
    """Degrees, positive when the face turns counter-clockwise in the image (as FaceLandmarker's roll).

    SCRFD's first point is the eye on the image's left (the subject's right eye).
    """
    dx, dy = left_eye - right_eye
    return -math.degrees(math.atan2(dy, dx))


class InsightFaceAnalyser:
    """Same rows as `FrameAnalyser`; columns SCRFD cannot measure stay NaN."""

    def __init__(self, pack: Path, emotion_path: Path | None) -> None:
        from insightface.model_zoo import model_zoo

        self.detector = model_zoo.get_model(str(detector_file(pack)), providers=["CPUExecutionProvider"])
        if self.detector is None or not hasattr(self.detector, "detect"):
            raise ModelFileError(f"{detector_file(pack)} is not an SCRFD face detector")
        self.detector.prepare(ctx_id=-1, input_size=DETECTION_SIZE, det_thresh=DETECTION_THRESHOLD)
        self.emotion = EmotionModel(emotion_path) if emotion_path else None
        self.columns = columns(self.emotion is not None)

    def close(self) -> None:
        self.detector = None

    def __enter__(self) -> InsightFaceAnalyser:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def analyse(self, frame_bgr: np.ndarray, frame: int, t: float) -> dict[str, float]:
        row = dict.fromkeys(self.columns, math.nan)
        row.update(frame=frame, t=t, face=False)
        boxes, points = self.detector.detect(frame_bgr, max_num=1)
        if boxes is None or len(boxes) == 0:
            return row
        x0, y0, x1, y1 = boxes[0][:4]
        row["face"] = True
        if points is not None and len(points):
            row["roll"] = roll_from_eyes(points[0][0], points[0][1])
        if self.emotion is not None:
            h, w = frame_bgr.shape[:2]
            left, top, right, bottom = max(0, int(x0)), max(0, int(y0)), min(w, int(x1)), min(h, int(y1))
            if right - left >= 8 and bottom - top >= 8:
                grey = cv2.cvtColor(frame_bgr[top:bottom, left:right], cv2.COLOR_BGR2GRAY)
                for name, p in zip(EMOTION_COLUMNS, self.emotion.probabilities(grey)):
                    row[name] = float(p)
        return row
