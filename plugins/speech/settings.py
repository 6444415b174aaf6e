"""The speech plugin's per-tenant settings (the host's typed plugin settings) and how they are read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


def _meta(label_ja: str, label_en: str, unit: str = "", minimum: float | None = None,
          maximum: float | None = None) -> dict[str, Any]:
    return {"label_ja": label_ja, "label_en": label_en, "unit": unit, "min": minimum, "max": maximum}


@dataclass(frozen=True)
class SpeechSettings:
    """`backend`: "whisper" (the shipped faster-whisper base model) or "nemo" (a `.nemo`
    checkpoint the tenant's operator placed at `nemo_checkpoint`, an absolute path on the
    workers); `beam_size` 1 is fastest, 5 a little more accurate; recordings longer than
    `max_audio_minutes` are refused with a clear message instead of running for hours."""

    backend: Literal["whisper", "nemo"] = field(
        default="whisper", metadata=_meta("音声認識エンジン", "Speech recognition engine"))
    nemo_checkpoint: str = field(
        default="", metadata=_meta("NeMo チェックポイント (.nemo) のパス", "NeMo checkpoint (.nemo) path"))
    beam_size: int = field(default=1, metadata=_meta("ビーム幅", "Beam size", "", 1, 5))
    max_audio_minutes: int = field(
        default=180, metadata=_meta("文字起こしする録音の上限", "Longest recording transcribed", "min", 1, 600))


async def speech_settings(tenant_id: Any) -> SpeechSettings:
    """The tenant's settings through the host's `settings_for`, or the defaults where the host has none."""
    from core.runtime import runtime

    settings_for = getattr(runtime().host, "settings_for", None)
    if settings_for is None:
        return SpeechSettings()
    return await settings_for(tenant_id, "speech") or SpeechSettings()
