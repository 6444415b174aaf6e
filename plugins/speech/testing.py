"""Speech made for tests and benchmarks, with the text known: Japanese with pyopenjtalk-plus
(OpenJTalk's dictionary and voice ship in its wheel), English with Debian's espeak-ng; and the
error rates the tests assert (CER for Japanese, WER for English, on normalised text)."""

from __future__ import annotations

import re
import subprocess
import tempfile
import unicodedata
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

JAPANESE_ANSWER = (
    "前職では法人向けの営業を五年間担当していました。",
    "最初の一年は新規の顧客を開拓することに苦労しました。",
    "そこで既存のお客様からの紹介を増やす仕組みを作りました。",
    "毎月の訪問の後に、必ず感謝の手紙を送るようにしました。",
    "その結果、紹介による契約が大きく増えました。",
    "チームの後輩には、断られても記録を残すように伝えています。",
    "失敗した商談こそ、次の提案に役立つ情報が多いからです。",
    "また、社内の技術部門と週に一度の勉強会を開きました。",
    "お客様の課題を正しく理解するためには、製品の知識が欠かせません。",
    "御社では、これまでの経験を生かして、長く続く信頼関係を築きたいと考えています。",
    "特に、地方の中小企業のお客様を支援することに関心があります。",
    "どうぞよろしくお願いいたします。",
)
ENGLISH_ANSWER = (
    "In my last job I worked as a sales manager for a software company.",
    "My team was responsible for customers in the northern region.",
    "When I joined, the team was missing its targets every quarter.",
    "I started a weekly meeting where we shared what we had learned from each customer.",
    "We also changed the way we followed up after every visit.",
    "Within a year, the team reached its target for the first time.",
    "I believe that listening carefully is the most important skill in sales.",
    "I would like to bring this experience to your company.",
    "Outside of work, I volunteer at a local library on weekends.",
    "I help older people learn how to use computers and smart phones.",
    "This taught me to explain difficult ideas in simple words.",
    "Thank you very much for your time today.",
)


_WHEN = ("前職では", "大学時代には", "入社して二年目に", "新しい部署に移ったとき", "昨年の春に", "海外の拠点で")
_WHO = ("チームの仲間と", "上司と相談しながら", "お客様と一緒に", "一人で", "後輩を指導しながら", "他部署の方々と")
_WHAT = ("新しい商品の企画を進めました", "業務の手順を見直しました", "問題の原因を丁寧に調べました",
         "毎週の会議の進め方を変えました", "お客様の声を集める仕組みを作りました", "資料の作り方を統一しました")
_RESULT = ("その結果、作業の時間が大きく減りました", "お客様からの評価が上がりました",
           "チームの雰囲気がとても良くなりました", "同じ失敗が起きなくなりました",
           "売り上げが少しずつ伸びていきました", "多くのことを学ぶことができました")


def japanese_sentences(count: int, seed: int = 0) -> list[str]:
    """`count` plausible interview sentences, varied, reproducible from `seed`."""
    rng = np.random.default_rng(seed)
    sentences = []
    for index in range(count):
        parts = (_WHEN, _WHO, _WHAT) if index % 2 == 0 else (_RESULT,)
        sentences.append("、".join(str(rng.choice(part)) for part in parts) + "。")
    return sentences


def japanese_speech(sentences: tuple[str, ...] | list[str], pause_s: float = 0.6) -> tuple[np.ndarray, int]:
    """The sentences read by OpenJTalk's mei_normal voice with pauses between: (int16 samples, 48000)."""
    import pyopenjtalk

    pieces = []
    rate = 48000
    for sentence in sentences:
        samples, rate = pyopenjtalk.tts(sentence)
        pieces += [samples.astype(np.int16), np.zeros(int(pause_s * rate), np.int16)]
    return np.concatenate(pieces), rate


def english_speech(sentences: tuple[str, ...] | list[str], pause_s: float = 0.6) -> tuple[np.ndarray, int]:
    """The sentences read by espeak-ng (en-us, 150 words a minute): (int16 samples, 22050)."""
    pieces = []
    rate = 22050
    with tempfile.TemporaryDirectory() as tmp:
        for index, sentence in enumerate(sentences):
            wav = Path(tmp) / f"{index}.wav"
            subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(wav), sentence], check=True)
            samples, rate = read_audio(wav)
            pieces += [samples, np.zeros(int(pause_s * rate), np.int16)]
    return np.concatenate(pieces), rate


def music(seconds: float, rate: int = 44100) -> tuple[np.ndarray, int]:
    """Instrumental music without a voice: a chord progression of harmonic tones with a beat."""
    t = np.arange(int(seconds * rate)) / rate
    chords = ((220.0, 277.2, 329.6), (196.0, 246.9, 293.7), (174.6, 220.0, 261.6), (196.0, 246.9, 311.1))
    signal = np.zeros_like(t)
    for index, chord in enumerate(chords * int(seconds // 8 + 1)):
        part = (t >= index * 2.0) & (t < index * 2.0 + 2.0)
        for root in chord:
            for harmonic in (1, 2, 3):
                signal[part] += np.sin(2 * np.pi * root * harmonic * t[part]) / harmonic
    beat = np.exp(-((t % 0.5) * 30.0)) * np.sin(2 * np.pi * 60.0 * t)
    signal = signal / np.abs(signal).max() * 0.5 + beat * 0.4
    return (signal * 20000).astype(np.int16), rate


def read_audio(path: Path) -> tuple[np.ndarray, int]:
    """(int16 mono samples, rate) of a file's first audio stream, at its own rate."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="s16", layout="mono", rate=stream.rate)
        chunks = [out.to_ndarray().reshape(-1) for frame in container.decode(stream) for out in resampler.resample(frame)]
        return np.concatenate(chunks), stream.rate


def write_audio(path: Path, samples: np.ndarray, rate: int, video: bool = False) -> Path:
    """Write mono int16 samples as the browser or a phone would: `.webm` (Opus, with a VP8 video
    track when `video`), `.mp4` (AAC, H.264 when `video`) or `.wav` (PCM)."""
    codec = {".webm": ("libopus", "libvpx"), ".mp4": ("aac", "libx264"), ".wav": ("pcm_s16le", None)}[path.suffix]
    audio_rate = 48000 if codec[0] == "libopus" else rate
    with av.open(str(path), "w") as container:
        if video and codec[1]:
            vstream = container.add_stream(codec[1], rate=5)
            vstream.width, vstream.height, vstream.pix_fmt = 160, 120, "yuv420p"
        astream = container.add_stream(codec[0], rate=audio_rate, layout="mono")
        resampler = av.AudioResampler(format=astream.format.name, layout="mono", rate=audio_rate)
        step = rate // 10
        for start in range(0, samples.size, step):
            frame = av.AudioFrame.from_ndarray(samples[None, start:start + step].astype(np.int16), format="s16",
                                               layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
            for out in resampler.resample(frame):
                container.mux(astream.encode(out))
        for out in resampler.resample(None):
            container.mux(astream.encode(out))
        container.mux(astream.encode(None))
        if video and codec[1]:
            for index in range(int(samples.size / rate * 5)):
                picture = av.VideoFrame.from_ndarray(np.full((120, 160, 3), index % 255, np.uint8), format="rgb24")
                container.mux(vstream.encode(picture))
            container.mux(vstream.encode(None))
    return path


_PUNCTUATION = re.compile(r"[\s、。，,．.！!？?「」『』（）()・:;\"'-]+")


def normalised(text: str) -> str:
    """NFKC, lower case, without punctuation and spaces (Japanese) for error rates."""
    return _PUNCTUATION.sub(" ", unicodedata.normalize("NFKC", text).lower()).strip()


def _edit_distance(ref: list[str], hyp: list[str]) -> int:
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        previous, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (r != h))
    return row[-1]


def character_error_rate(reference: str, hypothesis: str) -> float:
    """Edits per reference character, spaces and punctuation ignored (0 = perfect)."""
    ref, hyp = normalised(reference).replace(" ", ""), normalised(hypothesis).replace(" ", "")
    return _edit_distance(list(ref), list(hyp)) / max(1, len(ref))


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Edits per reference word, case and punctuation ignored (0 = perfect)."""
    ref, hyp = normalised(reference).split(), normalised(hypothesis).split()
    return _edit_distance(ref, hyp) / max(1, len(ref))
