"""AI explanations HR can read (issue 20): every feature of every installed extractor has a Japanese
and an English name and a one-line meaning, which the extractor supplies through the contract
(`labels()`, core.features.FeatureLabel).

Each installed extractor runs over a realistic sample of its input (a face clip, spoken Japanese,
a Japanese answer to a question) and its recordings are combined as the core does; every feature
name that comes out has a label, so an explanation never shows a code."""

from __future__ import annotations

import re
from uuid import uuid4

import numpy as np
import pytest

from core.features import ExtractionInput, FeatureLabel, RecordingFeatures, combine, extractor_title
from core.plugins import PluginHost
from tests.test_conversation_analysis import CONCRETE, spoken
from tests.test_face_features import models  # noqa: F401  (the verified model files fixture)

QUESTION = "売上を伸ばすために工夫した経験を教えてください。"
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def installed_extractors() -> list:
    host = PluginHost()
    host.load_entry_points()
    return host.feature_extractors(None)


EXTRACTORS = installed_extractors()


@pytest.fixture(scope="module")
def samples(tmp_path_factory, models):  # noqa: F811
    """One sample input per input kind: a face clip with speech, the same as audio, a spoken answer."""
    from plugins.face_features.testing import ClipScript, write_clip
    from plugins.speech import testing

    folder = tmp_path_factory.mktemp("label-samples")
    clip = write_clip(folder / "face.mp4", ClipScript(seconds=4.0, gaps=((1.5, 2.0),), frowns=((2.5, 3.0),)))
    samples, rate = testing.japanese_speech(testing.JAPANESE_ANSWER[:3], pause_s=0.8)
    voice = testing.write_audio(folder / "answer.mp4", np.concatenate([np.zeros(rate, np.int16), samples]), rate,
                                video=True)
    answer = spoken(CONCRETE)
    return {"video": {"path": clip, "emotion_allowed": True}, "audio": {"path": voice},
            "transcript": {"text": answer.text(), "transcript": answer, "question_text": QUESTION}}


def _labels(extractor) -> dict[str, FeatureLabel]:
    labels = getattr(extractor, "labels", None)
    assert callable(labels), f"{extractor.name} supplies no labels(): its features would show as codes"
    return dict(labels())


@pytest.mark.parametrize("extractor", EXTRACTORS, ids=lambda e: e.name)
async def test_every_feature_an_extractor_returns_has_a_label(app, make_tenant, samples, extractor):
    tenant = await make_tenant()  # an extractor may keep what it measured under the tenant (face_features)
    source = ExtractionInput(tenant_id=tenant.id, interview_id=uuid4(), recording_id=uuid4(), question_key="q1",
                             **samples[extractor.input_kind])
    measured = dict(extractor.extract(source, lambda _percent, _message: None))
    interview = combine([RecordingFeatures(uuid4(), "q1", measured), RecordingFeatures(uuid4(), "q2", measured)],
                        extractor)
    produced = set(measured) | set(interview)
    assert produced, f"{extractor.name} measured nothing in its sample: the check proves nothing"
    missing = sorted(produced - set(_labels(extractor)))
    assert not missing, f"{extractor.name}: features without a label: {missing}"


@pytest.mark.parametrize("extractor", EXTRACTORS, ids=lambda e: e.name)
def test_each_label_names_the_feature_in_both_languages_and_says_what_it_means(extractor):
    labels = _labels(extractor)
    assert labels
    wrong = []
    for name, label in labels.items():
        if not isinstance(label, FeatureLabel):
            wrong.append(f"{name}: not a FeatureLabel")
            continue
        if not JAPANESE.search(label.name_ja) or not JAPANESE.search(label.meaning_ja):
            wrong.append(f"{name}: the Japanese name or meaning is not Japanese")
        if not label.name_en or label.name_en == label.name_ja or "_" in label.name_en:
            wrong.append(f"{name}: the English name is missing or a code ({label.name_en!r})")
        if not label.meaning_ja.endswith("。") or not label.meaning_en.endswith("."):
            wrong.append(f"{name}: a meaning is not one sentence")
    assert not wrong, f"{extractor.name}:\n" + "\n".join(wrong)


@pytest.mark.parametrize("extractor", EXTRACTORS, ids=lambda e: e.name)
def test_each_analysis_is_called_by_a_name_in_both_languages(extractor):
    """The admin's analysis page names each analysis; without titles it would show the code."""
    japanese, english = extractor_title(extractor, "ja"), extractor_title(extractor, "en")
    assert JAPANESE.search(japanese), f"{extractor.name}: no Japanese title ({japanese!r})"
    assert english != extractor.name and "_" not in english, f"{extractor.name}: no English title ({english!r})"
