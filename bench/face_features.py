"""How fast face_features analyses a 640x480 25 fps video on this machine.

    python bench/face_features.py --minutes 30 --fps 5      # goal on 2 cores: at most 120 s
    python bench/face_features.py --minutes 30 --fps 25     # every frame; goal: at most 480 s
    python bench/face_features.py --video recording.mp4 --fps 5
    python bench/face_features.py --minutes 30 --fps 5 --webm  # as Chrome's MediaRecorder writes
    python bench/face_features.py --minutes 30 --fps 5 --mp4-codec mpeg4  # the older MP4 baseline

Without --video it first writes a test clip (the astronaut portrait rolling, with
gaps without a face; H.264 in MP4, as phones and Safari record; --mp4-codec mpeg4 for MPEG-4
Part 2, the older and cheaper-to-decode baseline) of --minutes; writing it is not timed. With --webm
the same pictures are written the way a browser records: VP8 in real-time mode, in a WebM
written live by PyAV (no Cues, no Duration; OpenCV sees no frame count), so time and ranges
come from the timestamps alone. Both clips are asked for the same bit rate (--kbps, default
600 kbit/s: what live_interview's recorder is asked for), so MP4 and WebM figures compare.
Models come from MENDAN_MODELS_DIR or the data folder (`mendan models fetch`).
The last line is JSON: wall_s, realtime_factor (video seconds per wall second),
peak_rss_mb (the largest process: the parent or one analysis worker), cpu_s (user + system
CPU seconds of the analysis, its worker processes included; steadier than wall_s on a
shared machine), video_kbps (the file's size over its duration).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from plugins.face_features.extractor import FaceFeatureExtractor  # noqa: E402
from core.media import probe  # noqa: E402
from plugins.face_features.testing import BENCH_KBPS, MP4_CODECS, write_live_webm, write_long_clip  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--fps", type=float, default=5.0, help="sampling rate; 25 = every frame")
    parser.add_argument("--video", type=Path, default=None)
    parser.add_argument("--processes", type=int, default=None, help="default: one per core")
    parser.add_argument("--no-emotion", action="store_true", help="as for tenants outside the emotion regions")
    parser.add_argument("--webm", action="store_true", help="write the test clip as a MediaRecorder-style WebM")
    parser.add_argument("--kbps", type=int, default=BENCH_KBPS, help="the test clip's bit rate, kbit/s")
    parser.add_argument("--mp4-codec", choices=sorted(MP4_CODECS), default="h264",
                        help="the MP4 test clip's codec: h264 (what customers upload) or mpeg4 (MPEG-4 Part 2)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-face-") as tmp:
        video = args.video
        if video is None:
            started = time.monotonic()
            if args.webm:
                video = write_live_webm(Path(tmp) / "bench.webm", args.minutes, kbps=args.kbps)
            else:
                video = write_long_clip(Path(tmp) / "bench.mp4", args.minutes, kbps=args.kbps, codec=args.mp4_codec)
            print(f"wrote {args.minutes} min test clip in {time.monotonic() - started:.1f} s", flush=True)
        info = probe(video)
        video_s = info.duration_s
        kbps = video.stat().st_size * 8 / 1000 / video_s
        extractor = FaceFeatureExtractor(sample_fps=args.fps, processes=args.processes)
        cpu_before = _cpu_s()
        started = time.monotonic()
        table, features = extractor.analyse(
            video, emotion_allowed=not args.no_emotion,
            progress=lambda p, m: print(f"  {p:3d}% {m}", flush=True),
        )
        wall = time.monotonic() - started
        cpu = _cpu_s() - cpu_before  # the pool's workers are joined by now, so counted

    peak_kb = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    print(f"video {video_s:.0f} s ({info.container}, {info.codec}) at {info.average_fps:g} fps, sampled at {args.fps:g} fps: {table.num_rows} frames, "
          f"presence {features.get('presence_ratio', 0):.3f}, {len(features)} features")
    print(f"analysed in {wall:.1f} s ({video_s / wall:.1f}x real time), {cpu:.1f} CPU s")
    print(json.dumps({
        "wall_s": round(wall, 2), "realtime_factor": round(video_s / wall, 2),
        "peak_rss_mb": round(peak_kb / 1024, 1), "video_s": round(video_s, 1), "sample_fps": args.fps,
        "frames_analysed": table.num_rows, "processes": extractor.processes or "per core",
        "container": info.container.split(",")[-1] if args.webm else info.container.split(",")[0],
        "codec": info.codec,
        "presence_ratio": round(features.get("presence_ratio", 0.0), 4),
        "cpu_s": round(cpu, 2), "video_kbps": round(kbps),
    }))


def _cpu_s() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


if __name__ == "__main__":
    main()
