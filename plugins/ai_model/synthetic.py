"""Synthetic interviews whose expert scores depend on known behaviour, for tests, demos and benchmarks.

The scores follow a stated rule (more face presence, more smiling and moderate head
movement score higher) plus noise, so a model that learns must recover the rule
and one trained on shuffled labels must not.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

BEHAVIOUR = ("presence_ratio", "smile_ratio", "head_movement_energy")


def synthetic_interviews(n: int, *, noise_features: int = 20, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    index = pd.Index([f"iv-{i:05d}" for i in range(n)], name="interview_id")
    presence = rng.uniform(0.5, 1.0, n)
    smile = rng.beta(2, 5, n)
    movement = rng.gamma(2.0, 0.5, n)
    features = pd.DataFrame(
        {"presence_ratio": presence, "smile_ratio": smile, "head_movement_energy": movement}, index=index
    )
    for j in range(noise_features):
        features[f"noise_{j:02d}"] = rng.normal(size=n)
    # Warmth: smiling and presence; composure: little head movement.
    warmth = 1 + 4 * np.clip(0.6 * (smile - 0.1) / 0.5 + 0.4 * (presence - 0.5) / 0.5, 0, 1)
    composure = 1 + 4 * np.clip(1 - movement / 3.0, 0, 1)
    labels = pd.DataFrame(
        {
            "warmth": np.clip(np.round(warmth + rng.normal(0, 0.4, n)), 1, 5),
            "composure": np.clip(np.round(composure + rng.normal(0, 0.4, n)), 1, 5),
        },
        index=index,
    )
    return features, labels
