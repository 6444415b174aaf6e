"""Conversation analysis (option 4.1.2 (5)): answer features from transcripts, the quality gate,
the answers' words as model text features only while the option is on, the lift report."""

from __future__ import annotations

import pandas as pd

from core.model_training import ItemSpec
from core.transcripts import Segment, Transcript, Word
from plugins.conversation_analysis import language, synthetic
from plugins.conversation_analysis.extractor import ConversationExtractor
from plugins.conversation_analysis.lift import lift_report

CONCRETE = ("前職では営業チームで売上が前年比20%落ち込んだ状況を任されました。私は顧客30社を分析し、"
            "提案方法を見直しました。その結果、3か月で売上は15%増加し、目標を達成しました。")
VAGUE = "いろいろなことを頑張ってきたと思います。みんなで協力して、なんとかうまくやれたと思います。大変でしたが一生懸命やりました。"


def spoken(text: str, language_code: str = "ja", gaps: dict[int, float] | None = None) -> Transcript:
    """A transcript with one word per character (Japanese) or per word (English), 0.12 s each."""
    units = list(text) if language_code == "ja" else text.split()
    words, t = [], 0.0
    for i, unit in enumerate(units):
        t += (gaps or {}).get(i, 0.0)
        words.append(Word(t, t + 0.12, unit))
        t += 0.12
    return Transcript(language_code, "test", (Segment(0.0, t, text, 0.9, "interviewee", tuple(words)),))


def test_concrete_answers_have_more_figures_and_star_parts_than_vague_ones():
    concrete = language.answer_features(spoken(CONCRETE))
    vague = language.answer_features(spoken(VAGUE))
    assert concrete["figures_per_100_words"] > 5 > vague["figures_per_100_words"] == 0
    assert concrete["star_coverage"] == 1.0 and vague["star_coverage"] < 0.5
    assert concrete["first_person_agency"] == 1.0  # 私は, no 私たち
    assert "first_person_agency" not in vague  # no first-person word: left out, not 0
    assert 0 < vague["lexical_richness"] <= 1


def test_fillers_are_counted_from_tokens_and_from_mid_sentence_silences():
    text = "えーと、私はその件で、あの、顧客と話し合って改善しました。"
    fluent = language.answer_features(spoken(text))
    halting = language.answer_features(spoken(text, gaps={8: 0.8, 15: 0.9}))
    assert fluent["filler_tokens_per_100_words"] > 0
    assert halting["filler_rate"] > fluent["filler_rate"]
    assert halting["pause_ratio"] > fluent["pause_ratio"] == 0.0


def test_english_answers_use_words_and_we_lowers_agency():
    answer = spoken("At the time we worked at Acme in Osaka and our goal was to cut costs by 20 percent, "
                    "so we proposed a new process and as a result we reduced costs", "en")
    features = language.answer_features(answer)
    assert features["first_person_agency"] == 0.0
    assert features["named_entities_per_100_words"] > 0
    assert language.model_text("Um, I reduced costs", "en") == "i reduced costs"


def test_japanese_model_text_is_lemmas_joined_by_spaces():
    assert language.model_text("えー、売上を改善しました。", "ja") == "売り上げ を 改善 為る ます た"  # unidic lemmas: 売上 -> 売り上げ


def test_a_short_or_empty_answer_gives_no_content_features_and_a_thin_interview_none():
    extractor = ConversationExtractor()
    assert language.answer_features(Transcript("ja", "test")) == {}
    short = language.answer_features(spoken("はい。"))
    assert set(short) <= {"answer_chars", "answer_words", "answer_span_s"}
    from core.features import RecordingFeatures
    from uuid import uuid4

    thin = [RecordingFeatures(uuid4(), "q1", short)]
    assert extractor.aggregate(thin) == {}
    full = [RecordingFeatures(uuid4(), "q1", language.answer_features(spoken(CONCRETE))),
            RecordingFeatures(uuid4(), "q2", language.answer_features(spoken(VAGUE)))]
    interview = extractor.aggregate(full)
    assert interview["answer_count"] == 2
    assert "first_person_agency" in interview  # the mean over the answers that have it
    assert set(interview) - {"answer_count"} <= set(extractor.labels())


def synthetic_tables(n: int, seed: int = 0):
    rows, texts, labels = {}, {}, {}
    extractor = ConversationExtractor()
    from core.features import RecordingFeatures
    from uuid import uuid4

    for interview in synthetic.interviews(n, seed):
        per_answer = [RecordingFeatures(uuid4(), None, language.answer_features(a)) for a in interview.answers]
        conversation = {f"conversation_analysis.{k}": v for k, v in extractor.aggregate(per_answer).items()}
        rows[interview.id] = {**interview.face, **conversation}
        texts[interview.id] = " ".join(language.model_text(a.text(), "ja") for a in interview.answers)
        labels[interview.id] = interview.scores
    return (pd.DataFrame.from_dict(rows, orient="index"),
            pd.DataFrame({"conversation_analysis.answer_text": pd.Series(texts, dtype=object)}),
            pd.DataFrame.from_dict(labels, orient="index"))


def test_the_lift_is_positive_for_the_content_item_and_not_for_the_face_item():
    features, texts, labels = synthetic_tables(90)
    items = [ItemSpec("logic", "論理性", 1, 5), ItemSpec("impression", "表情の印象", 1, 5)]
    report = lift_report(features, texts, labels, items, "conversation_analysis", iterations=60, bootstrap=400)
    by_key = {item["key"]: item for item in report["items"]}
    logic, impression = by_key["logic"], by_key["impression"]
    assert logic["spearman_interval"][0] > 0, logic
    assert logic["mae_interval"][1] < 0, logic
    assert impression["spearman_interval"][0] < 0 < impression["spearman_interval"][1], impression
    assert logic["variants"]["text"]["spearman"] > logic["variants"]["face"]["spearman"]
    assert impression["variants"]["face"]["spearman"] > impression["variants"]["text"]["spearman"]


def test_the_lift_is_measured_over_a_few_short_transcripts():
    """Twelve interviews that said a word or two each: no word reaches CatBoost's dictionary
    bound, and the lift job failed with "Dictionary size is 0" in every demo."""
    features, _, labels = synthetic_tables(12, seed=1)
    texts = pd.DataFrame({"conversation_analysis.answer_text": [f"はい{i}" for i in range(12)]},
                         index=features.index, dtype=object)
    report = lift_report(features, texts, labels, [ItemSpec("logic", "論理性", 1, 5)], "conversation_analysis",
                         iterations=20, bootstrap=50)
    assert [item["key"] for item in report["items"]] == ["logic"], report["skipped"]
    assert set(report["items"][0]["variants"]) == {"face", "text", "both"}


def test_the_question_is_measured_against_the_answer_by_words_and_by_meaning():
    from plugins.conversation_analysis.extractor import RelevanceExtractor
    from core.features import ExtractionInput
    from uuid import uuid4

    question = "売上を伸ばすために工夫した経験を教えてください。"
    on_topic = spoken(CONCRETE)
    off_topic = spoken("休日は家族と山に登ったり、料理を作ったりして過ごしています。最近はパン作りにも挑戦しています。")
    assert language.overlap(question, CONCRETE, "ja") > language.overlap(question, off_topic.text(), "ja")

    def relevance_of(transcript, question_text=question):
        source = ExtractionInput(uuid4(), uuid4(), text=transcript.text(), transcript=transcript,
                                 question_text=question_text)
        return RelevanceExtractor().extract(source, lambda p, m: None)

    assert relevance_of(on_topic)["question_relevance"] > relevance_of(off_topic)["question_relevance"]
    assert relevance_of(on_topic, None) == {}  # a follow-up whose question the core does not know
    assert relevance_of(spoken("はい。")) == {}
    features = ConversationExtractor().extract(
        ExtractionInput(uuid4(), uuid4(), transcript=on_topic, question_text=question), lambda p, m: None)
    assert 0 < features["question_overlap"] <= 1


def test_explanations_name_the_conversation_features_in_plain_words():
    from core.features import feature_labels
    from core.web.i18n import current_language
    from plugins.ai_model.routes import explained
    from core.model_training import build, load_model, predict

    features, texts, labels = synthetic_tables(40, seed=5)
    table = features.join(texts)
    labels = labels.round()
    result = build(table, labels[["logic"]], [ItemSpec("logic", "論理性", 1, 5)], folds=2, threads=1)
    assert "conversation_analysis.answer_text" in result.feature_names
    model = load_model(result.items["logic"].model_bytes)
    concrete = table.iloc[int(labels["logic"].to_numpy().argmax())].to_dict()
    made = predict(model, ItemSpec("logic", "論理性", 1, 5), result.feature_names, concrete)
    current_language.set("ja")
    words = explained([list(c) for c in made.contributions], feature_labels([ConversationExtractor()]))
    conversation = [w for w in words if w["key"].startswith("conversation_analysis.")]
    assert conversation and all(w["name"] != w["key"] for w in conversation)
    by_key = {w["key"]: w for w in conversation}
    assert "conversation_analysis.figures_per_100_words" in by_key or "conversation_analysis.answer_text" in by_key
    figures = feature_labels([ConversationExtractor()])["conversation_analysis.figures_per_100_words"]
    assert figures.name("ja") == "具体的な数字の多さ" and "具体的な数字が多い" in figures.meaning("ja")


def test_the_relevance_model_runs_on_the_calling_thread_alone():
    import threading

    threads = []

    def measure():
        language.relevance("売上を伸ばすために工夫した経験を教えてください。", CONCRETE)
        threads.append(language._embedder()._lib.omp_get_max_threads())

    worker = threading.Thread(target=measure)
    worker.start()
    worker.join()
    assert threads == [1]
    assert language._embedder() is language._embedder()  # one model per process


def test_the_panel_shows_units_that_read_in_both_languages_and_counts_as_whole_numbers():
    # The English panel read "336.00 字" and "Answers 1.00": a unit is shown in both languages.
    import re
    from pathlib import Path

    import jinja2

    from plugins.conversation_analysis.extractor import LABELS

    assert all(not re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", label.unit) for label in LABELS.values())
    folder = Path(__file__).parents[1] / "plugins/conversation_analysis/templates"
    template = jinja2.Environment(loader=jinja2.FileSystemLoader(folder)).get_template("conversation_analysis/panel.html")
    html = template.render(gate="", rows=[("Answers", 1.0, "", ""), ("Pauses", 0.125, "", ""),
                                          ("Answer duration", 8.0, "s", "")])
    assert ">1 </td>" in html and ">0.12 </td>" in html and ">8 s</td>" in html
