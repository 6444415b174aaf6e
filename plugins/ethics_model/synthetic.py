"""Generated evaluation data for the AI-ethics tests and benchmark: interviewees with protected
attributes, experts' scores on a 1-5 scale, and cross-validated-like predictions, with an
optional planted bias (one expert scores one group `bias` points lower)."""

from __future__ import annotations

import numpy as np
import pandas as pd

GENDERS = ("female", "male")
AGE_BANDS = ("20s", "30s", "40s")
EXPERTS = ("expert-a", "expert-b", "expert-c")


def generated_evaluation(n: int = 400, *, seed: int = 1, biased_expert: str | None = None,
                         biased_group: tuple[str, str] = ("gender", "female"), bias: float = 1.0,
                         n_features: int = 0, all_experts_biased: bool = False,
                         proxy_family: str | None = None) -> tuple[dict, pd.DataFrame, pd.DataFrame | None]:
    """(evaluation as mendan_model_evaluation answers, groups, features or None).

    Every interview is scored by two of the three experts, in turn; the label is their mean.
    A few interviewees did not disclose their age band and some never answered, as in life.
    all_experts_biased: every expert scores the biased group lower (biased labels).
    n_features: features per family (face, emotion, talk); the first of each follows the true
    quality. proxy_family: that family's features also carry the biased group (a proxy for it)."""
    rng = np.random.default_rng(seed)
    ids = [f"00000000-0000-4000-8000-{i:012d}" for i in range(n)]
    gender = rng.choice(GENDERS, n)
    age = rng.choice(AGE_BANDS, n).astype(object)
    age[rng.random(n) < 0.05] = "undisclosed"
    age[rng.random(n) < 0.03] = None
    groups = pd.DataFrame({"gender": gender, "age_band": age}, index=ids)
    quality = rng.normal(3.0, 0.9, n)
    expert_scores, labels, oof = [], {}, {}
    for i, interview in enumerate(ids):
        pair = (EXPERTS[i % 3], EXPERTS[(i + 1) % 3])
        given = []
        for expert in pair:
            score = quality[i] + rng.normal(0, 0.4)
            if ((all_experts_biased or expert == biased_expert)
                    and groups.loc[interview, biased_group[0]] == biased_group[1]):
                score -= bias
            score = int(np.clip(np.round(score), 1, 5))
            given.append(score)
            expert_scores.append({"interview_id": interview, "expert_id": expert, "scores": {"overall": score}})
        labels[interview] = {"overall": float(np.mean(given))}
        oof[interview] = float(np.clip(labels[interview]["overall"] + rng.normal(0, 0.5), 1, 5))
    evaluation = {
        "version": 1, "feature_names": [],
        "items": {"overall": {"name": "Overall", "scale_min": 1, "scale_max": 5}},
        "labels": labels, "expert_scores": expert_scores, "oof": {"overall": oof},
    }
    features = None
    if n_features:
        columns = {}
        for family, extractor in (("face", "face_features"), ("emotion", "face_features"), ("talk", "speech")):
            for k in range(n_features):
                name = f"{extractor}.{'emo_' if family == 'emotion' else ''}{family}{k}"
                columns[name] = quality * (0.5 if k == 0 else 0.1) + rng.normal(0, 1, n)
                if family == proxy_family:
                    columns[name] = columns[name] + 2.0 * (groups[biased_group[0]] == biased_group[1]).to_numpy()
        features = pd.DataFrame(columns, index=ids)
        evaluation["feature_names"] = list(features.columns)
    return evaluation, groups, features
