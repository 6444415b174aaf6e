"""The optional abstractive summariser: an OpenAI-compatible chat-completions endpoint set in the
tenant's settings (off by default). Its answer is split into sentences; any failure (timeout,
refusal, an answer of the wrong shape) raises `SummaryProviderFailed`, and the caller falls
back to the extractive summary."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from plugins.summary.extractive import split_sentences

PROMPTS = {
    "ja": "次は面談での回答の文字起こしです。回答者が述べた事実・数字・行動を落とさず、"
          "日本語で最大%(limit)d文に要約してください。要約の文だけを出力してください。",
    "en": "Below is the transcript of an interview answer. Summarise it in at most %(limit)d sentences "
          "in English, keeping the facts, figures and actions the candidate stated. Output only the summary.",
}


class SummaryProviderFailed(RuntimeError):
    """The endpoint did not answer in time or not with a summary."""


class ChatCompletionsSummariser:
    """POST {endpoint}/chat/completions with `model`, the prompt and the sentences; Bearer `api_key`."""

    def __init__(self, endpoint: str, model: str, api_key: str, timeout_s: float) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.timeout_s = timeout_s
        self.name = f"chat-completions:{model}"

    def summarise(self, sentences: list[str], language: str, limit: int) -> list[str]:
        body = {
            "model": self.model,
            "temperature": 0,
            "messages": [
                {"role": "system", "content": PROMPTS.get(language, PROMPTS["en"]) % {"limit": limit}},
                {"role": "user", "content": ("" if language == "ja" else " ").join(sentences)},
            ],
        }
        request = urllib.request.Request(
            f"{self.endpoint}/chat/completions", data=json.dumps(body).encode(), method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.api_key}"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                answer = json.load(response)
            content = answer["choices"][0]["message"]["content"]
        except (OSError, urllib.error.URLError, ValueError, KeyError, IndexError, TypeError) as exc:
            raise SummaryProviderFailed(f"{self.endpoint}: {exc!r}") from exc
        summary = split_sentences(str(content).strip(), language)[:limit]
        if not summary:
            raise SummaryProviderFailed(f"{self.endpoint}: an empty summary")
        return summary
