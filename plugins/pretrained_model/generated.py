"""Generated training material for the demo's vendor model and the tests: labelled as generated.

The provider's imagined experts score warmth from smiling and being in view and composure
from a still head, the same behaviour the demo's own experts reward, so a vendor model
trained here predicts the demo's interviews usefully without having seen any of them.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

ITEMS = (
    # key, name_ja, name_en, scale_min, scale_max
    ("warmth", "親しみやすさ", "Warmth", 1.0, 5.0),
    ("composure", "落ち着き", "Composure", 1.0, 5.0),
)
CARD = {
    "intended_use_ja": "自社の面談がまだ少ない組織が、最初の面談から参考評価を得るためのモデルです。"
                       "予測は参考値であり、最終的な評価は必ず人が確認してください。",
    "intended_use_en": "For organisations with too few interviews of their own, to get reference scores from "
                       "their first interview. Predictions are a reference; a person always checks the final score.",
    "limits_ja": "生成データで学習したデモ用のモデルです。実在の面談からは学習していません。"
                 "熟練面談者個人の評価には使わないでください。日本国内でのみ使用してください。",
    "limits_en": "A demo model trained on generated data, not on real interviews. Do not use it to judge "
                 "expert interviewers. Use in Japan only.",
    "licence": "mendan demo licence: for trying mendan only",
}


def generated_material(n: int, *, extractor: str = "face_features", seed: int = 0) -> list[dict[str, Any]]:
    """`n` generated interviews: {"reference", "recorded_on", "features", "scores"}, features named
    `{extractor}.presence_ratio`, `.smile_ratio`, `.head_movement_energy`, scores 1-5."""
    import numpy as np

    rng = np.random.default_rng(seed)
    start = date(2026, 1, 5)
    rows = []
    for i in range(n):
        presence, smile, movement = rng.uniform(0.5, 1.0), rng.beta(2, 5), rng.gamma(2.0, 0.5)
        warmth = 1 + 4 * np.clip(0.6 * (smile - 0.1) / 0.5 + 0.4 * (presence - 0.5) / 0.5, 0, 1)
        composure = 1 + 4 * np.clip(1 - movement / 3.0, 0, 1)
        rows.append({
            "reference": f"generated-{extractor}-{i + 1:04d}",
            "recorded_on": start + timedelta(days=int(i * 2)),
            "features": {f"{extractor}.presence_ratio": float(presence), f"{extractor}.smile_ratio": float(smile),
                         f"{extractor}.head_movement_energy": float(movement)},
            "scores": {"warmth": float(np.clip(np.round(warmth + rng.normal(0, 0.5)), 1, 5)),
                       "composure": float(np.clip(np.round(composure + rng.normal(0, 0.5)), 1, 5))},
        })
    return rows
