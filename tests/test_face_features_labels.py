"""Every face_features feature has a Japanese and English name and a one-line meaning."""

from __future__ import annotations

import numpy as np

from core.features import FeatureLabel, feature_labels, feature_name
from core.web.i18n import current_language
from plugins.face_features.aggregates import aggregate
from plugins.face_features.extractor import FaceFeatureExtractor
from plugins.face_features.frame_analysis import columns


def full_table(frames: int = 200) -> dict[str, np.ndarray]:
    """A frame table with every column, emotions included, and a face in most frames."""
    rng = np.random.default_rng(0)
    table = {name: rng.uniform(0, 1, frames) for name in columns(emotion=True)}
    table["frame"] = np.arange(frames, dtype=float)
    table["t"] = np.arange(frames) / 5.0
    table["face"] = rng.uniform(0, 1, frames) > 0.1
    for name in ("yaw", "pitch", "roll"):
        table[name] = rng.normal(0, 10, frames)
    return table


def test_every_feature_the_extractor_can_return_has_a_label():
    features = aggregate(full_table())
    labels = FaceFeatureExtractor().labels()
    assert len(features) > 100  # blendshapes and emotions included
    missing = sorted(set(features) - set(labels))
    assert not missing, missing
    for name in features:
        label = labels[name]
        assert isinstance(label, FeatureLabel)
        assert label.name_ja and label.name_en and label.meaning_ja.endswith("。") and label.meaning_en.endswith(".")
        assert label.name_ja != label.name_en and not any(c.isascii() and c.isalpha() for c in label.name_ja)


def test_labels_are_keyed_as_stored_and_read_in_the_page_language():
    labels = feature_labels([FaceFeatureExtractor()])
    token = current_language.set("ja")
    try:
        assert feature_name("face_features.smile_ratio", labels) == "笑顔の割合"
        assert feature_name("face_features.bs_mouthSmileLeft_mean", labels) == "表情：左口角を上げる（笑顔）（平均）"
        assert feature_name("other.unknown", labels) == "other.unknown"  # no label: the stored key
    finally:
        current_language.reset(token)
    assert feature_name("face_features.yaw_std", labels, "en") == "Head turn (left/right) (variation)"
