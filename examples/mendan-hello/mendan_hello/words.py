"""Counting words: the plugin's actor and its feature extractor share this."""

from __future__ import annotations

from collections.abc import Mapping

from core.features import ExtractionInput, FeatureLabel, Progress
from core.tasks import report_progress

# Progress is reported after every this many words, so long texts show movement.
PROGRESS_STEP = 1000


def words_of(text: str) -> list[str]:
    """Whitespace-separated words; Japanese without spaces counts as one word per run."""
    return text.split()


def count_words(tenant_id: str | None, text: str) -> str:
    """The actor `hello.count_words`: its result is shown on the job page."""
    words = words_of(text)
    for done in range(0, len(words), PROGRESS_STEP):
        report_progress(100 * done // len(words), f"{done} / {len(words)}")
    report_progress(100, f"{len(words)} / {len(words)}")
    return f"{len(words)} words"


class WordFeatures:
    """The feature extractor `hello_words`, for transcripts."""

    name = "hello_words"
    title_ja = "単語数"
    title_en = "Word count"
    version = "1.0.0"
    input_kind = "transcript"

    def labels(self) -> Mapping[str, FeatureLabel]:
        """What each feature means, shown in AI explanations instead of its name."""
        return {
            "word_count": FeatureLabel("単語数", "Word count", "文字起こしに含まれる単語の数です。",
                                       "How many words the transcript holds."),
            "mean_word_length": FeatureLabel("単語の平均の長さ", "Mean word length",
                                             "単語1つあたりの平均の文字数です。",
                                             "Average number of characters per word.", "chars"),
        }

    def extract(self, source: ExtractionInput, progress: Progress) -> Mapping[str, float]:
        words = words_of(source.text or "")
        progress(100, "counted")
        if not words:
            return {"word_count": 0.0}  # a mean of nothing is left out, not invented
        return {
            "word_count": float(len(words)),
            "mean_word_length": sum(len(w) for w in words) / len(words),
        }
