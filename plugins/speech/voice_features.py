"""Voice activity features of one recording (audio extractor `speech_voice`) and the speech rate
of a transcript.

Features, all of the interviewee's recording:
- `duration_s` (s): audio analysed (the quality feature every audio extractor reports);
- `speech_s` (s): time the Silero VAD hears speech;
- `speaking_ratio` (0-1): speech_s / duration_s;
- `mean_pause_s` (s): mean silence between two stretches of speech (pauses of 0.25 s and more);
- `pauses_per_minute` (1/min): such pauses per minute of speech;
- `loudness_variation_db` (dB): standard deviation of the loudness of 50 ms frames of speech;
  monotone speech is low, lively speech high.
Speech rate needs the words, so it comes from the transcript: `speech_rate` gives morae per
minute for Japanese (counted by OpenJTalk's reading) and words per minute for English, over
the time the segments span.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from core.features import ExtractionInput, FeatureLabel, Progress
from core.transcripts import Transcript
from core.web.i18n import N_
from plugins.speech.audio import SAMPLE_RATE, audio_blocks, speech_spans

FRAME_S = 0.05

LABELS = {
    "duration_s": FeatureLabel("解析した音声の長さ", "Length of audio analysed", "解析した録音の長さです。",
                               "How long the analysed recording is.", "s"),
    "speech_s": FeatureLabel("話している時間", "Speaking time", "録音のうち声が聞こえた時間の合計です。",
                             "Total time in the recording with a voice heard.", "s"),
    "speaking_ratio": FeatureLabel("話している時間の割合", "Share of time speaking",
                                   "録音のうち声が聞こえた時間の割合（0〜1）です。",
                                   "Share of the recording with a voice heard (0-1)."),
    "mean_pause_s": FeatureLabel("間の長さ（平均）", "Mean pause", "話の途中の0.25秒以上の沈黙の平均の長さです。",
                                 "Mean length of the silences of 0.25 s or more between stretches of speech.", "s"),
    "pauses_per_minute": FeatureLabel("間の回数", "Pauses per minute",
                                      "話している時間1分あたりの、0.25秒以上の沈黙の回数です。",
                                      "Silences of 0.25 s or more per minute of speaking.", "/min"),
    "loudness_variation_db": FeatureLabel("声の大きさの変化", "Loudness variation",
                                          "話している間の声の大きさのばらつき（標準偏差）です。大きいほど抑揚のある話し方です。",
                                          "How much the loudness of the speech varies (standard deviation); higher "
                                          "means livelier speech.", "dB"),
}


class VoiceActivityExtractor:
    name = "speech_voice"
    title_ja = "話し方の特徴（声・間）"
    title_en = "Voice and pauses"
    version = "1.0.0"
    input_kind = "audio"

    def labels(self) -> Mapping[str, FeatureLabel]:
        """Japanese and English names and meanings of every feature `extract` can return."""
        return LABELS

    def extract(self, source: ExtractionInput, progress: Progress) -> dict[str, float]:
        """Features above; only `duration_s` (and speech_s, speaking_ratio = 0) when no speech is
        heard. Raises AudioMissing when the recording has no audio track."""
        duration = speech = 0.0
        pauses: list[float] = []
        loudness: list[np.ndarray] = []
        last_end: float | None = None
        for offset, samples in audio_blocks(source.path):
            for start, end in speech_spans(samples):
                if last_end is not None and offset + start - last_end >= 0.25:
                    pauses.append(offset + start - last_end)
                last_end = offset + end
                speech += end - start
                loudness.append(_frame_db(samples[int(start * SAMPLE_RATE):int(end * SAMPLE_RATE)]))
            duration = offset + samples.size / SAMPLE_RATE
            progress(50, N_("voice activity"))
        features = {"duration_s": duration, "speech_s": speech,
                    "speaking_ratio": speech / duration if duration else 0.0}
        if pauses:
            features["mean_pause_s"] = float(np.mean(pauses))
        if speech >= 1.0:
            features["pauses_per_minute"] = 60.0 * len(pauses) / speech
            frames = np.concatenate(loudness)
            features["loudness_variation_db"] = float(np.std(frames[frames > -60.0])) if np.any(frames > -60) else 0.0
        progress(100, N_("voice activity"))
        return features


def _frame_db(samples: np.ndarray) -> np.ndarray:
    size = int(FRAME_S * SAMPLE_RATE)
    count = samples.size // size
    if count == 0:
        return np.zeros(0)
    rms = np.sqrt(np.mean(samples[:count * size].reshape(count, size) ** 2, axis=1))
    return 20 * np.log10(np.maximum(rms, 1e-6))


def morae(text: str) -> int:
    """Morae in Japanese text, from OpenJTalk's katakana reading (small ゃゅょ and the like join
    the kana before them; ー, ン and ッ count as morae)."""
    import pyopenjtalk

    reading = pyopenjtalk.g2p(text, kana=True)
    return sum(1 for char in reading if "ァ" <= char <= "ヴ" or char == "ー") - sum(reading.count(c) for c in "ャュョァィゥェォヮ")


def speech_rate(transcript: Transcript) -> dict[str, float]:
    """`{"morae_per_minute"}` for Japanese, `{"words_per_minute"}` otherwise, over the seconds the
    segments span (pauses between segments left out); empty when under one second of speech."""
    seconds = sum(max(0.0, s.end - s.start) for s in transcript.segments if s.text.strip())
    if seconds < 1.0:
        return {}
    if transcript.language == "ja":
        return {"morae_per_minute": 60.0 * morae(transcript.text()) / seconds}
    return {"words_per_minute": 60.0 * len(transcript.text().split()) / seconds}
