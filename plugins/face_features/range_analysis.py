"""A whole video through FrameAnalyser: fixed time ranges, one process per core, merged in order.

The video is cut into time ranges of about `RANGE_SECONDS` (core.media.plan_ranges: bounds
on multiples of the sampling interval), fixed by the video's timestamps alone, and each
range is analysed from a fresh landmarker. Which frames are sampled follows from their
timestamps (the first frame of each 1/rate-second interval, core.media.sample_frames), so
the rows depend only on the video and the sampling rate, never on how many processes ran
or which one died: a retried job computes exactly the same table. A WebM from MediaRecorder,
which has no frame count and no index, splits the same way.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from core.media import MediaInfo, MediaUnreadable, plan_ranges, probe, sample_frames
from core.job_texts import job_text
from core.tasks import JobRefused
from core.web.i18n import N_
from plugins.face_features.frame_analysis import FrameAnalyser, columns

RANGES_DONE = N_("%(done)s of %(total)s parts of the video analysed")
RANGE_SECONDS = 60.0
Progress = Callable[[int, str], None]


class VideoUnreadable(JobRefused):
    """The recording cannot be decoded (empty, corrupt or not a video): retrying cannot help."""


class WorkerLost(RuntimeError):
    """A worker process died mid-way; the job is retried and recomputes the same result."""


@dataclass(frozen=True)
class RangeTask:
    path: str
    start_s: float
    end_s: float | None  # None = to the end
    info: MediaInfo
    sample_fps: float
    landmarker: str | None  # MediaPipe's model file, or None with an insightface pack
    emotion: str | None
    insightface_pack: str | None = None
    decoder_threads: int = 0  # core.media.sample_frames: 1 when every core already runs a range


def probe_video(path: Path) -> MediaInfo:
    """core.media's probe; an unreadable file is a refusal (no retry)."""
    try:
        return probe(path)
    except MediaUnreadable as exc:
        raise VideoUnreadable(N_("the recording cannot be opened as a video") + f": {path.name}: {exc}") from exc


def analyse_range(task: RangeTask) -> list[dict]:
    """Analyse the sampled frames of one time range; `frame` is the sample's interval number."""
    rows: list[dict] = []
    with _analyser(task) as analyser:
        try:
            for sampled in sample_frames(task.path, task.sample_fps, start_s=task.start_s, end_s=task.end_s,
                                         info=task.info, decoder_threads=task.decoder_threads):
                rows.append(analyser.analyse(sampled.image, sampled.index, sampled.t))
        except MediaUnreadable as exc:
            raise VideoUnreadable(N_("the recording cannot be decoded") + f": {Path(task.path).name}: {exc}") from exc
    return rows


def _analyser(task: RangeTask):
    emotion = Path(task.emotion) if task.emotion else None
    if task.insightface_pack:
        from plugins.face_features.insightface_backend import InsightFaceAnalyser

        return InsightFaceAnalyser(Path(task.insightface_pack), emotion)
    return FrameAnalyser(Path(task.landmarker), emotion)


def default_processes() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def analyse_video(
    path: Path, *, sample_fps: float, landmarker: Path | None, emotion: Path | None,
    processes: int | None = None, progress: Progress = lambda _p, _m: None,
    range_seconds: float = RANGE_SECONDS, insightface_pack: Path | None = None, info: MediaInfo | None = None,
) -> tuple[list[dict], tuple[str, ...]]:
    """All sampled rows of the video in time order, and the column names."""
    info = info or probe_video(path)
    spans = plan_ranges(info.duration_s, sample_fps, range_seconds)
    processes = min(processes or default_processes(), len(spans))
    # With a process on every core, FFmpeg's decoder threads have no idle core to use and
    # only cost CPU time (measured: a quarter more for MPEG-4, a tenth more for VP8).
    decoder_threads = 1 if processes >= default_processes() else 0
    tasks = [
        RangeTask(str(path), start, end, info, sample_fps, str(landmarker) if landmarker else None,
                  str(emotion) if emotion else None, str(insightface_pack) if insightface_pack else None,
                  decoder_threads)
        for start, end in spans
    ]
    results: dict[int, list[dict]] = {}
    if processes == 1:
        for number, task in enumerate(tasks):
            results[number] = analyse_range(task)
            progress(_percent(len(results), len(tasks)), job_text(RANGES_DONE, done=len(results), total=len(tasks)))
    else:
        # spawn: the worker process has threads (Dramatiq, MediaPipe); forking them is unsafe.
        context = multiprocessing.get_context("spawn")
        try:
            with ProcessPoolExecutor(max_workers=processes, mp_context=context) as pool:
                futures = {pool.submit(analyse_range, task): number for number, task in enumerate(tasks)}
                for future in as_completed(futures):
                    results[futures[future]] = future.result()
                    progress(_percent(len(results), len(tasks)),
                             job_text(RANGES_DONE, done=len(results), total=len(tasks)))
        except BrokenProcessPool as exc:
            raise WorkerLost(N_("a face analysis worker process died; the job will be retried")) from exc
    rows = [row for number in range(len(tasks)) for row in results[number]]
    if not rows:
        raise VideoUnreadable(N_("no frame of the recording could be decoded") + f": {path.name}")
    return rows, columns(emotion is not None)


def _percent(done: int, total: int) -> int:
    # 2-95: decryption reported 1 before us; storing the table and features takes the rest.
    return 2 + int(93 * done / total)
