"""A whole video through FrameAnalyser: fixed time ranges, one process per core, merged in order.

The video is cut into ranges of `RANGE_SECONDS`, fixed by the video alone, and
each range is analysed from a fresh landmarker. The rows therefore depend only
on the video and the sampling rate, never on how many processes ran or which
one died: a retried job computes exactly the same table. Which frames are
sampled follows from the absolute frame number, so ranges cannot shift them.
"""

from __future__ import annotations

import math
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

import cv2

from core.tasks import JobRefused
from plugins.face_features.frame_analysis import FrameAnalyser, columns

RANGE_SECONDS = 60.0
Progress = Callable[[int, str], None]


class VideoUnreadable(JobRefused):
    """The recording cannot be decoded (empty, corrupt or not a video): retrying cannot help."""


class WorkerLost(RuntimeError):
    """A worker process died mid-way; the job is retried and recomputes the same result."""


@dataclass(frozen=True)
class VideoInfo:
    fps: float
    frames: int  # 0 when the container does not say (e.g. MediaRecorder's webm)


@dataclass(frozen=True)
class RangeTask:
    path: str
    start: int  # first frame
    end: int | None  # one past the last frame; None = to the end
    video_fps: float
    sample_fps: float
    landmarker: str | None  # MediaPipe's model file, or None with an insightface pack
    emotion: str | None
    insightface_pack: str | None = None


def probe(path: Path) -> VideoInfo:
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise VideoUnreadable(f"the recording cannot be opened as a video ({path.name})")
        fps = capture.get(cv2.CAP_PROP_FPS)
        frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    finally:
        capture.release()
    if not fps or not math.isfinite(fps) or fps <= 0 or fps > 1000:
        raise VideoUnreadable(f"the recording has no usable frame rate ({fps!r})")
    return VideoInfo(fps=fps, frames=max(frames, 0))


def is_sampled(index: int, video_fps: float, sample_fps: float) -> bool:
    """Frame `index` starts a new sampling interval (every frame when sampling at or above the video rate)."""
    if sample_fps >= video_fps:
        return True
    return index == 0 or math.floor(index * sample_fps / video_fps) > math.floor((index - 1) * sample_fps / video_fps)


def plan_ranges(info: VideoInfo, range_seconds: float = RANGE_SECONDS) -> list[tuple[int, int | None]]:
    if info.frames <= 0:
        return [(0, None)]
    step = max(1, round(range_seconds * info.fps))
    return [(start, min(start + step, info.frames)) for start in range(0, info.frames, step)]


def analyse_range(task: RangeTask) -> list[dict]:
    """Grab every frame of the range, decode only the sampled ones, analyse them."""
    capture = cv2.VideoCapture(task.path)
    rows: list[dict] = []
    try:
        if task.start:
            capture.set(cv2.CAP_PROP_POS_FRAMES, task.start)
        with _analyser(task) as analyser:
            index = task.start
            while task.end is None or index < task.end:
                if not capture.grab():
                    break
                if is_sampled(index, task.video_fps, task.sample_fps):
                    ok, frame = capture.retrieve()
                    if ok and frame is not None:
                        rows.append(analyser.analyse(frame, index, index / task.video_fps))
                index += 1
    finally:
        capture.release()
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
    range_seconds: float = RANGE_SECONDS, insightface_pack: Path | None = None,
) -> tuple[list[dict], tuple[str, ...]]:
    """All sampled rows of the video in frame order, and the column names."""
    info = probe(path)
    tasks = [
        RangeTask(str(path), start, end, info.fps, sample_fps, str(landmarker) if landmarker else None,
                  str(emotion) if emotion else None, str(insightface_pack) if insightface_pack else None)
        for start, end in plan_ranges(info, range_seconds)
    ]
    processes = min(processes or default_processes(), len(tasks))
    results: dict[int, list[dict]] = {}
    if processes == 1:
        for number, task in enumerate(tasks):
            results[number] = analyse_range(task)
            progress(_percent(len(results), len(tasks)), f"{len(results)}/{len(tasks)} ranges")
    else:
        # spawn: the worker process has threads (Dramatiq, MediaPipe); forking them is unsafe.
        context = multiprocessing.get_context("spawn")
        try:
            with ProcessPoolExecutor(max_workers=processes, mp_context=context) as pool:
                futures = {pool.submit(analyse_range, task): number for number, task in enumerate(tasks)}
                for future in as_completed(futures):
                    results[futures[future]] = future.result()
                    progress(_percent(len(results), len(tasks)), f"{len(results)}/{len(tasks)} ranges")
        except BrokenProcessPool as exc:
            raise WorkerLost("a face analysis worker process died; the job will be retried") from exc
    rows = [row for number in range(len(tasks)) for row in results[number]]
    if not rows:
        raise VideoUnreadable(f"no frame of the recording could be decoded ({path.name})")
    return rows, columns(emotion is not None)


def _percent(done: int, total: int) -> int:
    # 2-95: decryption reported 1 before us; storing the table and features takes the rest.
    return 2 + int(93 * done / total)
