"""The speech plugin's per-tenant settings (the host's typed plugin settings, `PluginMeta.settings`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SpeechSettings:
    """`backend`: "whisper" (the shipped faster-whisper base model) or "nemo" (a `.nemo`
    checkpoint the operator placed at `nemo_checkpoint`, an absolute path on the workers, so
    only operators set it); `beam_size` 1 is fastest, 5 a little more accurate; recordings
    longer than `max_audio_minutes` are refused with a clear message instead of running for hours."""

    backend: str = field(default="whisper", metadata={
        "label_ja": "音声認識エンジン", "label_en": "Speech recognition engine", "choices": ("whisper", "nemo"),
        "choice_labels": {"whisper": ("同梱の Whisper base モデル", "The shipped Whisper base model"),
                          "nemo": ("運用者が配置した NeMo チェックポイント", "A NeMo checkpoint placed by the operator")}})
    nemo_checkpoint: str = field(default="", metadata={
        "label_ja": "NeMo チェックポイント (.nemo) のパス", "label_en": "NeMo checkpoint (.nemo) path",
        "max": 500, "operator_only": True})
    beam_size: int = field(default=1, metadata={"label_ja": "ビーム幅", "label_en": "Beam size", "min": 1, "max": 5})
    max_audio_minutes: int = field(default=180, metadata={
        "label_ja": "文字起こしする録音の上限", "label_en": "Longest recording transcribed", "unit": "min",
        "min": 1, "max": 600})


async def speech_settings(tenant_id: Any) -> SpeechSettings:
    """The tenant's settings (defaults where unset), read through the process's plugin host."""
    from core.runtime import runtime

    return await runtime().host.settings_for(tenant_id, "speech")
