"""Conversation analysis: extraction time per answer, and the model build with text features.

    python bench/conversation.py --interviews 500

`extract_ms`: the `conversation_analysis` extractor over one 300-character Japanese answer
(fugashi + unidic-lite, word timings), median of repeats after a warm-up; target <= 50 ms.
`relevance_ms`: the separate `conversation_analysis_relevance` extractor (multilingual e5
embedding of the answer; the question's embedding is cached), which runs as a job of its own.
`build_s`: the AI model's build (5-fold cross-validation and the final model, two items) on
the generated data set (plugins/conversation_analysis/synthetic.py) with face-like features,
the conversation features and the answers' words as a CatBoost text feature.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from uuid import uuid4

import numpy as np
import pandas as pd

from core.features import ExtractionInput, RecordingFeatures
from core.transcripts import Segment, Transcript, Word
from core.model_training import ItemSpec, build
from plugins.conversation_analysis import language, synthetic
from plugins.conversation_analysis.extractor import ConversationExtractor, RelevanceExtractor

ANSWER = ("前職では法人向けの営業チームでリーダーを務め、売上が前年比で二割落ち込んだ状況を任されました。"
          "私はまず顧客三十社への聞き取りを行い、提案の時期が遅いことが課題だと分析しました。そこで"
          "提案資料の型を作り、週に一度の振り返りを導入しました。その結果、半年で売上は十五%回復し、"
          "チームの目標を達成できました。えー、この経験から、数字で課題を捉えて小さく改善を重ねる大切さを学びました。"
          "また、新人三名の育成も担当し、毎週の面談と同行訪問の計画を立てて、全員が一年以内に一人で商談を"
          "進められるようになりました。"
          "今後も同じように、まず現状を測り、関係者と話し合いながら、成果につながる行動を続けたいと考えています。")


def answer_300() -> Transcript:
    text = ANSWER[:300]
    assert len(text) == 300, "the benchmark's answer must hold 300 characters"
    step = 0.14
    words = tuple(Word(i * step, (i + 1) * step, ch) for i, ch in enumerate(text))
    return Transcript("ja", "bench", (Segment(0.0, len(text) * step, text, 0.9, "interviewee", words),))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--interviews", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    extractor = ConversationExtractor()
    transcript = answer_300()
    source = ExtractionInput(tenant_id=uuid4(), interview_id=uuid4(), text=transcript.text(), transcript=transcript)
    extractor.extract(source, lambda p, m: None)  # warm-up: loads the dictionary
    times = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        extractor.extract(source, lambda p, m: None)
        times.append((time.perf_counter() - started) * 1000)
    extract_ms = statistics.median(times)
    print(f"extract_ms per 300-character answer: median {extract_ms:.1f}, max {max(times):.1f}")
    relevance = RelevanceExtractor()
    asked = ExtractionInput(tenant_id=uuid4(), interview_id=uuid4(), text=transcript.text(), transcript=transcript,
                            question_text="これまでに困難を乗り越えた経験を教えてください。")
    relevance.extract(asked, lambda p, m: None)  # warm-up: loads the model, embeds the question once
    relevance_times = []
    for _ in range(max(3, args.repeats // 10)):
        started = time.perf_counter()
        relevance.extract(asked, lambda p, m: None)
        relevance_times.append((time.perf_counter() - started) * 1000)
    relevance_ms = statistics.median(relevance_times)
    print(f"relevance_ms per 300-character answer (e5 embedding, question cached): median {relevance_ms:.0f}")

    started = time.perf_counter()
    rows, texts, labels = {}, {}, {}
    for d in synthetic.interviews(args.interviews, seed=1):
        per_answer = [RecordingFeatures(uuid4(), None, language.answer_features(a)) for a in d.answers]
        rows[d.id] = {**d.face, **{f"conversation_analysis.{k}": v for k, v in extractor.aggregate(per_answer).items()}}
        texts[d.id] = " ".join(language.model_text(a.text(), "ja") for a in d.answers)
        labels[d.id] = {"logic": float(np.round(d.scores["logic"])), "impression": float(np.round(d.scores["impression"]))}
    features = pd.DataFrame.from_dict(rows, orient="index")
    features["conversation_analysis.answer_text"] = pd.Series(texts, dtype=object)
    labels = pd.DataFrame.from_dict(labels, orient="index")
    prepare_s = time.perf_counter() - started
    print(f"generated and extracted {args.interviews} interviews in {prepare_s:.1f} s")
    items = [ItemSpec("logic", "logic", 1, 5), ItemSpec("impression", "impression", 1, 5)]
    started = time.perf_counter()
    result = build(features, labels, items, threads=args.threads)
    build_s = time.perf_counter() - started
    spearman = {k: round(r.metrics["spearman"], 3) for k, r in result.items.items()}
    print(f"build with text features: {build_s:.1f} s, cross-validated Spearman {spearman}")
    print(json.dumps({"extract_ms": round(extract_ms, 2), "extract_ms_max": round(max(times), 2),
                      "relevance_ms": round(relevance_ms, 1),
                      "interviews": args.interviews, "features": len(result.feature_names),
                      "text_features": [n for n in result.feature_names if n.endswith("answer_text")],
                      "build_s": round(build_s, 2), "cv_spearman_per_item": spearman}))


if __name__ == "__main__":
    main()
