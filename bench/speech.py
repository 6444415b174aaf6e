"""Speed and accuracy of the default speech recogniser on synthetic Japanese speech.

    python bench/speech.py --minutes 30 --answers 20

1. Throughput: `--minutes` of Japanese read by pyopenjtalk-plus (text known), written as
   MediaRecorder's webm (Opus), transcribed through `WhisperRecogniser.transcribe` (beam 1,
   int8) in a child process: audio_s, wall_s, rtf, cer, peak_rss_mb. Targets on 2 cores:
   rtf <= 0.2 with cer <= 0.12.
2. Latency of 10-second answers: from the upload complete (the file on disk) to the
   transcript, p50/p95 over `--answers` answers, (a) whole and (b) chunked: the first part,
   up to the last pause before 6 s, is transcribed while the answer is still being
   recorded, so only the rest is left when it ends. Target p95 <= 2.5 s.
The last line is JSON, with the machine's load average (other work slows every figure) and
the CPU seconds an answer took (answer_cpu_p95_s, over all threads). MENDAN_SPEECH_THREADS
sets the threads (default min(4, cores)).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from plugins.speech import testing
from plugins.speech.audio import SAMPLE_RATE, decode_audio, speech_spans
from plugins.speech.whisper_backend import WhisperRecogniser, whisper_model


def long_audio(folder: Path, minutes: float) -> tuple[Path, str, float]:
    """A webm of about `minutes` of Japanese, its text and its length in seconds."""
    sentences: list[str] = []
    pieces = []
    total = 0
    rate = 48000
    seed = 0
    while total < minutes * 60 * rate:
        batch = testing.japanese_sentences(20, seed)
        samples, rate = testing.japanese_speech(batch, pause_s=0.7)
        sentences += batch
        pieces.append(samples)
        total += samples.size
        seed += 1
    samples = np.concatenate(pieces)
    path = testing.write_audio(folder / "long.webm", samples, rate)
    return path, "".join(sentences), samples.size / rate


def _throughput(path: str, reference: str, queue) -> None:
    whisper_model()  # loading (0.6-3 s) is once per worker process, not per recording
    started, cpu_started = time.perf_counter(), time.process_time()
    transcript = WhisperRecogniser(beam_size=1, max_audio_s=4 * 3600).transcribe(Path(path), "ja", lambda p, m: None)
    wall = time.perf_counter() - started
    queue.put({"wall_s": wall, "cpu_s": time.process_time() - cpu_started, "cer": testing.character_error_rate(reference, transcript.text()),
               "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})


def answers(folder: Path, count: int) -> list[tuple[Path, str]]:
    """`count` answers of 10 seconds each: whole sentences, then silence up to 10 s."""
    made = []
    for index in range(count):
        sentences: list[str] = []
        for candidate in testing.japanese_sentences(12, seed=1000 + index):
            samples, rate = testing.japanese_speech([*sentences, candidate], pause_s=0.5)
            if samples.size > 10 * rate:
                break
            sentences.append(candidate)
        samples, rate = testing.japanese_speech(sentences, pause_s=0.5)
        samples = np.concatenate([samples, np.zeros(10 * rate - samples.size, np.int16)])
        made.append((testing.write_audio(folder / f"answer-{index}.webm", samples, rate, video=True),
                     "".join(sentences)))
    return made


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--answers", type=int, default=20)
    args = parser.parse_args()
    result: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="mendan-bench-speech-") as tmp:
        folder = Path(tmp)
        if args.minutes > 0:
            path, reference, audio_s = long_audio(folder, args.minutes)
            print(f"synthesised {audio_s:.0f} s of Japanese", flush=True)
            context = multiprocessing.get_context("spawn")
            queue = context.Queue()
            child = context.Process(target=_throughput, args=(str(path), reference, queue))
            child.start()
            measured = queue.get()
            child.join()
            result.update(audio_s=round(audio_s, 1), wall_s=round(measured["wall_s"], 1),
                          rtf=round(measured["wall_s"] / audio_s, 3), cer=round(measured["cer"], 4),
                          peak_rss_mb=round(measured["peak_rss_mb"]), cpu_s=round(measured["cpu_s"], 1),
                          load_average=round(os.getloadavg()[0], 1), cores=os.cpu_count())
            print(json.dumps(result), flush=True)
        if args.answers > 0:
            recogniser = WhisperRecogniser(beam_size=1)
            whisper_model()
            whole, chunked, errors, cpu = [], [], [], []
            for path, reference in answers(folder, args.answers):
                started, cpu_started = time.perf_counter(), time.process_time()
                transcript = recogniser.transcribe(path, "ja", lambda p, m: None)
                whole.append(time.perf_counter() - started)
                cpu.append(time.process_time() - cpu_started)
                errors.append(testing.character_error_rate(reference, transcript.text()))
                samples = decode_audio(path)
                # while recording: cut at the last pause that ends before 6 s and transcribe up to it
                pauses = [end for _start, end in speech_spans(samples[:6 * SAMPLE_RATE], 0.3)][:-1]
                cut = int((pauses[-1] + 0.15) * SAMPLE_RATE) if pauses else 0
                early = recogniser.transcribe_samples(samples[:cut], "ja") if cut else []
                started = time.perf_counter()
                rest = recogniser.transcribe_samples(decode_audio(path)[cut:], "ja", cut / SAMPLE_RATE)
                chunked.append(time.perf_counter() - started)
                assert [s.start for s in early + rest] == sorted(s.start for s in early + rest)
            result.update(answer_p50_s=round(percentile(whole, 50), 2), answer_p95_s=round(percentile(whole, 95), 2),
                          chunked_p50_s=round(percentile(chunked, 50), 2),
                          chunked_p95_s=round(percentile(chunked, 95), 2),
                          answer_cpu_p95_s=round(percentile(cpu, 95), 2), answer_cer=round(float(np.mean(errors)), 4),
                          load_average=round(os.getloadavg()[0], 1), cores=os.cpu_count())
    print(json.dumps(result))


if __name__ == "__main__":
    main()
