"""The summary plugin's per-tenant settings (the host's typed plugin settings) and how they are read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


def _meta(label_ja: str, label_en: str, unit: str = "", minimum: float | None = None,
          maximum: float | None = None, secret: bool = False) -> dict[str, Any]:
    return {"label_ja": label_ja, "label_en": label_en, "unit": unit, "min": minimum, "max": maximum,
            "secret": secret}


@dataclass(frozen=True)
class SummarySettings:
    """`provider` "extractive" (offline, default) or "chat_completions" (an OpenAI-compatible
    endpoint: `endpoint` is its base URL, e.g. https://api.example.com/v1, `api_key` is kept
    encrypted); past `timeout_s` the extractive summary is shown instead."""

    provider: Literal["extractive", "chat_completions"] = field(
        default="extractive", metadata=_meta("要約の方式", "Summary method"))
    endpoint: str = field(default="", metadata=_meta("エンドポイント URL", "Endpoint URL"))
    model: str = field(default="", metadata=_meta("モデル名", "Model name"))
    api_key: str = field(default="", metadata=_meta("API キー", "API key", secret=True))
    timeout_s: float = field(default=10.0, metadata=_meta("タイムアウト", "Timeout", "s", 1, 60))
    sentences_per_answer: int = field(default=3, metadata=_meta("回答ごとの要約の文数", "Sentences per answer", "", 1, 10))
    sentences_per_interview: int = field(
        default=7, metadata=_meta("面談全体の要約の文数", "Sentences for the whole interview", "", 1, 20))


async def summary_settings(tenant_id: Any) -> SummarySettings:
    """The tenant's settings through the host's `settings_for`, or the defaults where the host has none."""
    from core.runtime import runtime

    settings_for = getattr(runtime().host, "settings_for", None)
    if settings_for is None:
        return SummarySettings()
    return await settings_for(tenant_id, "summary") or SummarySettings()
