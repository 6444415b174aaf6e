"""Extractive summaries: LexRank (sumy) over the answer's sentences, with figures kept.

sumy is always given our own tokeniser object (its English one downloads NLTK data):
Japanese words are content-word lemmas from fugashi + unidic-lite (both in wheels), English
words a regular expression's. A sentence's score is its LexRank centrality (scaled to 0-1)
plus FIGURE_BONUS when it carries a figure (a numeral: "二割", "12%", "three"): sentences with
numbers are the evidence an interviewer looks for, so they come first and centrality orders
the rest; fillers shorter than
MIN_CHARS characters are halved. The chosen sentences are returned in the order they were said.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache

from sumy.models.dom import ObjectDocumentModel, Paragraph, Sentence
from sumy.summarizers.lex_rank import LexRankSummarizer

FIGURE_BONUS = 1.0
MIN_CHARS = {"ja": 8, "en": 20}
_CONTENT_POS = {"名詞", "動詞", "形容詞", "形状詞", "副詞"}
_ENGLISH_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_ENGLISH_NUMBERS = {"one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "twenty",
                    "hundred", "thousand", "million", "percent", "half", "double", "twice"}
_ENGLISH_STOP = {"the", "a", "an", "and", "or", "but", "of", "to", "in", "on", "for", "with", "at", "by", "from",
                 "i", "we", "you", "he", "she", "it", "they", "my", "our", "is", "was", "were", "be", "been",
                 "am", "are", "that", "this", "as", "so", "had", "have", "has", "do", "did", "me", "us"}
_tagger_lock = threading.Lock()


@lru_cache(maxsize=1)
def _tagger():
    import fugashi

    return fugashi.Tagger()


def japanese_words(text: str) -> list[tuple[str, bool]]:
    """(lemma, is_numeral) of the content words of Japanese text."""
    with _tagger_lock:  # MeCab's tagger is not safe to share between threads
        tokens = [(word.feature.lemma or word.surface, word.feature.pos1, word.feature.pos2)
                  for word in _tagger()(text)]
    return [(lemma.split("-")[0], pos2 == "数詞") for lemma, pos1, pos2 in tokens if pos1 in _CONTENT_POS]


class WordTokeniser:
    """The tokeniser object sumy takes: `to_words(sentence)` and `to_sentences(paragraph)`."""

    def __init__(self, language: str) -> None:
        self.language = language

    def to_sentences(self, paragraph: str) -> list[str]:
        return split_sentences(paragraph, self.language)

    def to_words(self, sentence: str) -> list[str]:
        if self.language == "ja":
            return [lemma for lemma, _numeral in japanese_words(sentence)]
        return [word for word in _ENGLISH_WORD.findall(sentence.lower()) if word not in _ENGLISH_STOP]


_SENTENCE_END = {"ja": re.compile(r"(?<=[。！？!?])"), "en": re.compile(r"(?<=[.!?])\s+")}


def split_sentences(text: str, language: str) -> list[str]:
    """Sentences of `text`: after 。！？ in Japanese, after . ! ? and a space in English."""
    pattern = _SENTENCE_END.get(language, _SENTENCE_END["en"])
    return [part.strip() for part in pattern.split(text) if part.strip()]


def has_figure(sentence: str, language: str) -> bool:
    """True when the sentence states a number (digits, kanji numerals, English number words)."""
    if re.search(r"\d", sentence):
        return True
    if language == "ja":
        return any(numeral for _lemma, numeral in japanese_words(sentence))
    return bool(_ENGLISH_NUMBERS & set(_ENGLISH_WORD.findall(sentence.lower())))


class _Centrality(LexRankSummarizer):
    """sumy's LexRank, answering every sentence's centrality instead of the best few."""

    @staticmethod
    def _get_best_sentences(sentences, count, rating, *args, **kwargs):
        return rating


def sentence_scores(sentences: list[str], language: str) -> list[float]:
    """One score per sentence (see the module's docstring); 0-2."""
    if not sentences:
        return []
    tokeniser = WordTokeniser(language)
    document = ObjectDocumentModel([Paragraph([Sentence(text, tokeniser) for text in sentences])])
    ratings = _Centrality()(document, len(sentences)) if len(sentences) > 1 else {}
    centrality = [float(ratings.get(sentence, 1.0)) for sentence in document.sentences]
    top = max(centrality) or 1.0
    scores = []
    for text, value in zip(sentences, centrality):
        score = value / top + (FIGURE_BONUS if has_figure(text, language) else 0.0)
        scores.append(score / 2 if len(text) < MIN_CHARS.get(language, 20) else score)
    return scores


class ExtractiveSummariser:
    """The default summariser (offline): the `limit` best-scored sentences, in spoken order."""

    name = "extractive:lexrank"

    def summarise(self, sentences: list[str], language: str, limit: int) -> list[str]:
        scores = sentence_scores(sentences, language)
        best = sorted(sorted(range(len(sentences)), key=lambda i: -scores[i])[:limit])
        return [sentences[i] for i in best]
