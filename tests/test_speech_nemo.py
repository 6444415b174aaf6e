"""speech's NeMo backend: a tiny CTC model is built, saved as .nemo, restored from that local file
and run through the same provider hook the product uses. Runs only where NeMo imports (.ci/run
installs the extra into .venv-nemo); the model is untrained, so its words are not checked."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from plugins.speech import plugin as speech_plugin
from plugins.speech import testing
from plugins.speech.nemo_backend import NemoRecogniser, NemoUnavailable
from plugins.speech.settings import SpeechSettings

pytestmark = pytest.mark.nemo
LABELS = list(" abcdefghijklmnopqrstuvwxyz'")


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    pytest.importorskip("nemo.collections.asr", reason="the optional extra nemo is not installed")
    from nemo.collections.asr.models import EncDecCTCModel
    from omegaconf import OmegaConf

    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    config = OmegaConf.create({
        "sample_rate": 16000,
        "labels": LABELS,
        "preprocessor": {"_target_": "nemo.collections.asr.modules.AudioToMelSpectrogramPreprocessor",
                         "sample_rate": 16000, "features": 64, "window_size": 0.025, "window_stride": 0.01,
                         "n_fft": 512},
        "encoder": {"_target_": "nemo.collections.asr.modules.ConvASREncoder", "feat_in": 64, "activation": "relu",
                    "conv_mask": True,
                    "jasper": [{"filters": 32, "repeat": 1, "kernel": [11], "stride": [2], "dilation": [1],
                                "dropout": 0.0, "residual": False, "separable": True}]},
        "decoder": {"_target_": "nemo.collections.asr.modules.ConvASRDecoder", "feat_in": 32,
                    "num_classes": len(LABELS), "vocabulary": LABELS},
    })
    path = tmp_path_factory.mktemp("nemo") / "tiny-ctc.nemo"
    EncDecCTCModel(cfg=config).save_to(str(path))
    return path


async def test_tiny_nemo_checkpoint_transcribes_each_utterance_through_the_hook(tiny_checkpoint, tmp_path,
                                                                               monkeypatch):
    first, rate = testing.japanese_speech(testing.JAPANESE_ANSWER[:1], pause_s=0)
    second, _rate = testing.japanese_speech(testing.JAPANESE_ANSWER[1:2], pause_s=0)
    gap = np.zeros(2 * rate, np.int16)
    path = testing.write_audio(tmp_path / "answer.webm", np.concatenate([gap, first, gap, second, gap]), rate,
                               video=True)

    async def nemo_settings(tenant_id):
        return SpeechSettings(backend="nemo", nemo_checkpoint=str(tiny_checkpoint))

    monkeypatch.setattr(speech_plugin, "speech_settings", nemo_settings)
    recogniser = await speech_plugin.mendan_speech_recogniser(tenant_id=uuid.uuid4(), language="ja")
    transcript = recogniser.transcribe(path, "ja", lambda percent, message: None)

    assert isinstance(recogniser, NemoRecogniser) and transcript.source == "nemo:tiny-ctc.nemo"
    first_end = 2 + first.size / rate
    second_start = first_end + 2
    spans = [(segment.start, segment.end) for segment in transcript.segments]
    # an untrained model may emit nothing for an utterance; what it emits sits where the speech was
    assert spans and all(start >= 1.5 for start, _end in spans)
    assert all(end <= first_end + 0.5 or start >= second_start - 0.5 for start, end in spans)
    assert all(set(segment.text) <= set(LABELS) for segment in transcript.segments)


def test_a_missing_checkpoint_is_refused_clearly(tmp_path):
    with pytest.raises(NemoUnavailable, match="missing"):
        NemoRecogniser(tmp_path / "absent.nemo").transcribe(tmp_path / "x.webm", "ja", lambda p, m: None)
