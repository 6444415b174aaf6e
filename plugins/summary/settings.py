"""The summary plugin's per-tenant settings (the host's typed plugin settings, `PluginMeta.settings`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SummarySettings:
    """`provider` "extractive" (offline, default) or "chat_completions" (an OpenAI-compatible
    endpoint: `endpoint` is its base URL, e.g. https://api.example.com/v1, `api_key` is kept
    sealed under the tenant's data key and never shown back); past `timeout_s` the extractive
    summary is shown instead."""

    provider: str = field(default="extractive", metadata={
        "label_ja": "要約の方式", "label_en": "Summary method", "choices": ("extractive", "chat_completions"),
        "choice_labels": {"extractive": ("発言から重要な文を選ぶ（外部送信なし）",
                                         "Pick the key sentences (nothing leaves the service)"),
                          "chat_completions": ("下のエンドポイントの言語モデルで要約する",
                                               "Summarise with the language model at the endpoint below")}})
    endpoint: str = field(default="", metadata={"label_ja": "エンドポイント URL", "label_en": "Endpoint URL",
                                                "max": 500})
    model: str = field(default="", metadata={"label_ja": "モデル名", "label_en": "Model name", "max": 200})
    api_key: str = field(default="", metadata={"label_ja": "API キー", "label_en": "API key", "secret": True})
    timeout_s: float = field(default=10.0, metadata={"label_ja": "タイムアウト", "label_en": "Timeout", "unit": "s",
                                                     "min": 1, "max": 60})
    sentences_per_answer: int = field(default=3, metadata={
        "label_ja": "回答ごとの要約の文数", "label_en": "Sentences per answer", "min": 1, "max": 10})
    sentences_per_interview: int = field(default=7, metadata={
        "label_ja": "面談全体の要約の文数", "label_en": "Sentences for the whole interview", "min": 1, "max": 20})


async def summary_settings(tenant_id: Any) -> SummarySettings:
    """The tenant's settings (defaults where unset, the API key opened), through the process's plugin host."""
    from core.runtime import runtime

    return await runtime().host.settings_for(tenant_id, "summary")
