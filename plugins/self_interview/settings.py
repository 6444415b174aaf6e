"""The self-interview plugin's per-tenant settings (the host's typed plugin settings, `PluginMeta.settings`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SelfInterviewSettings:
    """How follow-up questions are generated. `follow_up_provider` "templates" (offline: key
    phrases of the answer in question templates; nothing leaves the service) or
    "chat_completions" (an OpenAI-compatible endpoint: `endpoint` is its base URL, e.g.
    https://api.example.com/v1, `api_key` is kept sealed under the tenant's data key and never
    shown back). Past `timeout_s`, or on any error, the templates answer instead, so the
    interviewee never waits longer than that."""

    follow_up_provider: str = field(default="templates", metadata={
        "label_ja": "追加質問の生成方式", "label_en": "Follow-up question generator",
        "choices": ("templates", "chat_completions"),
        "choice_labels": {"templates": ("回答の語句から定型の質問を作る（外部送信なし）",
                                        "Questions made from phrases of the answer (nothing leaves the service)"),
                          "chat_completions": ("下のエンドポイントの言語モデルが作る",
                                               "Written by the language model at the endpoint below")}})
    endpoint: str = field(default="", metadata={"label_ja": "エンドポイント URL", "label_en": "Endpoint URL",
                                                "max": 500})
    model: str = field(default="", metadata={"label_ja": "モデル名", "label_en": "Model name", "max": 200})
    api_key: str = field(default="", metadata={"label_ja": "API キー", "label_en": "API key", "secret": True})
    timeout_s: float = field(default=2.0, metadata={
        "label_ja": "タイムアウト", "label_en": "Timeout", "unit": "s", "min": 0.5, "max": 30,
        "help_ja": "これを過ぎると定型の質問に切り替えます (画面の応答目標は 3 秒です)",
        "help_en": "After this the template questions are used (screens should answer within 3 s)"})


async def self_interview_settings(tenant_id: Any) -> SelfInterviewSettings:
    """The tenant's settings (defaults where unset, the API key opened), through the process's plugin host."""
    from core.runtime import runtime

    return await runtime().host.settings_for(tenant_id, "self_interview")
