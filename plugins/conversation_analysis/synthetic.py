"""A generated data set for tests and the benchmark: answers whose content drives one hidden
score, and face-like features that drive another.

Each interview has a hidden `content` (0-1): the higher, the more of its answer sentences give
concrete figures and the situation-task-action-result structure; the lower, the more are vague.
`behaviour` (standard normal) drives a face feature only. Expert scores: "logic" follows content,
"impression" follows behaviour, each with noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.transcripts import Segment, Transcript, Word

CONCRETE = (
    "前職では営業チームで売上が前年比{a}%落ち込んだ状況を任されました。",
    "私は顧客{b}社を分析し、提案方法を見直しました。",
    "その結果、{c}か月で売上は{a}%増加し、目標を達成しました。",
    "課題は納期の遅れで、私は工程を{b}段階に分けて改善しました。",
    "新しい仕組みを導入した結果、問い合わせ対応の時間を{c}割削減できました。",
)
VAGUE = (
    "いろいろなことを頑張ってきたと思います。",
    "みんなで協力して、なんとかうまくやれたと思います。",
    "大変でしたが、とにかく一生懸命やりました。",
    "特に何かというのは難しいですが、前向きに取り組みました。",
    "色々あったのですが、結果的には良かったと思います。",
)
QUESTIONS = ("これまでに困難を乗り越えた経験を教えてください。", "チームで成果を上げた経験を教えてください。")


@dataclass(frozen=True)
class SyntheticInterview:
    id: str
    content: float
    behaviour: float
    answers: tuple[Transcript, ...]
    face: dict[str, float]
    scores: dict[str, float]


def answer(rng: np.random.Generator, content: float, sentences: int = 6) -> Transcript:
    """One Japanese answer with word timings: `content` is the chance of each sentence being concrete."""
    segments, t = [], 0.0
    for _ in range(sentences):
        pool = CONCRETE if rng.random() < content else VAGUE
        text = pool[rng.integers(len(pool))].format(a=rng.integers(5, 40), b=rng.integers(2, 9), c=rng.integers(2, 9))
        seconds = len(text) * 0.13
        words = tuple(Word(t + i * seconds / len(text), t + (i + 1) * seconds / len(text), ch)
                      for i, ch in enumerate(text))
        segments.append(Segment(t, t + seconds, text, 0.9, "interviewee", words))
        t += seconds + float(rng.uniform(0.2, 1.2))
    return Transcript("ja", "synthetic", tuple(segments))


def interviews(n: int, seed: int = 0, noise: float = 0.35) -> list[SyntheticInterview]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        content, behaviour = float(rng.random()), float(rng.normal())
        out.append(SyntheticInterview(
            id=f"i{i:04d}", content=content, behaviour=behaviour,
            answers=tuple(answer(rng, content) for _ in QUESTIONS),
            face={"face.smile_ratio": float(np.clip(0.4 + 0.15 * behaviour + rng.normal(0, 0.03), 0, 1)),
                  "face.gaze_at_camera_ratio": float(rng.uniform(0.3, 0.9)),
                  "face.head_movement_energy": float(rng.gamma(2.0, 1.0))},
            scores={"logic": float(np.clip(1 + 4 * content + rng.normal(0, noise), 1, 5)),
                    "impression": float(np.clip(3 + behaviour + rng.normal(0, noise), 1, 5))},
        ))
    return out
