"""Videos as customers really have them, made here (never downloaded).

- `face_y4m`: the astronaut face of plugins/face_features/testing.py as a raw Y4M file, what
  chromium's fake camera plays with `--use-file-for-fake-video-capture` (looped).
- `chrome_webm`: a recording by Chrome's own MediaRecorder (`video/webm;codecs=vp8,opus`,
  1 s timeslices, as plugins/live_interview records): no Duration element, no Cues.
- `vfr_mp4`, `portrait_mp4`, `fragmented_mp4`, `quicktime_mov`: made by Debian's ffmpeg.
Each maker returns the file and the truth to check against (`seconds`, displayed size).
"""

from __future__ import annotations

import asyncio
import base64
import shutil
import struct
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2

from plugins.face_features.testing import HEIGHT, WIDTH, ClipScript, _canvases, render_frame


@dataclass(frozen=True)
class Made:
    path: Path
    seconds: float  # the true length
    width: int  # displayed
    height: int


def face_y4m(path: Path, seconds: float = 2.0, fps: int = 30, script: ClipScript | None = None,
             size: tuple[int, int] = (WIDTH, HEIGHT)) -> Path:
    """The test face (rolling head, no gaps) as 4:2:0 Y4M at `fps`, scaled to `size`."""
    script = script or ClipScript(seconds=seconds, fps=fps, gaps=())
    face, empty = _canvases()
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{size[0]} H{size[1]} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for index in range(round(seconds * fps)):
            frame = cv2.resize(render_frame(script, index / fps, face, empty), size, interpolation=cv2.INTER_AREA)
            out.write(b"FRAME\n" + cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes())
    return path


def _ffmpeg(*args: str) -> None:
    if shutil.which("ffmpeg") is None:
        import pytest

        pytest.skip("Debian's ffmpeg is not installed")
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def vfr_mp4(path: Path) -> Made:
    """25 fps for 3 s, then every fifth frame (5 fps) for 3 s, timestamps kept (H.264)."""
    _ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-t", "6",
            "-vf", "select='lt(t,3)+not(mod(n,5))'", "-fps_mode", "vfr", "-c:v", "libx264", "-pix_fmt", "yuv420p",
            str(path))
    return Made(path, 6.0, 320, 240)


def set_rotation(path: Path, degrees: int) -> None:
    """Write a display matrix into the first track header (tkhd), as a phone does for a
    portrait video: coded landscape, shown turned by `degrees` clockwise."""
    data = bytearray(path.read_bytes())
    at = data.find(b"tkhd")
    version = data[at + 4]
    matrix_at = at + 8 + (32 if version == 1 else 20) + 8 + 8
    one = 0x10000
    a, b, c, d = {90: (0, one, -one, 0), 180: (-one, 0, 0, -one), 270: (0, -one, one, 0)}[degrees]
    struct.pack_into(">9i", data, matrix_at, a, b, 0, c, d, 0, 0, 0, 0x40000000)
    path.write_bytes(bytes(data))


def portrait_mp4(path: Path) -> Made:
    """Coded 640x480, display matrix 90 degrees: shown as 480x640, 3 s at 25 fps."""
    _ffmpeg("-f", "lavfi", "-i", "testsrc=size=640x480:rate=25", "-t", "3", "-c:v", "libx264",
            "-pix_fmt", "yuv420p", str(path))
    set_rotation(path, 90)
    return Made(path, 3.0, 480, 640)


def fragmented_mp4(path: Path) -> Made:
    """Safari-style fragmented MP4 (empty moov, a fragment per keyframe) with AAC audio, 4 s at 30 fps."""
    _ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240:rate=30", "-f", "lavfi", "-i", "sine=f=440:r=48000",
            "-t", "4", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac",
            "-movflags", "frag_keyframe+empty_moov", str(path))
    return Made(path, 4.0, 320, 240)


def quicktime_mov(path: Path) -> Made:
    """A QuickTime .MOV with H.264 at 29.97 fps and AAC audio, as an iPhone writes, 4 s."""
    _ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240:rate=30000/1001", "-f", "lavfi",
            "-i", "sine=f=440:r=48000", "-t", "4", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac",
            "-f", "mov", str(path))
    return Made(path, 120 / (30000 / 1001), 320, 240)


def packet_times(path: Path) -> list[float]:
    """The video packets' PTS in seconds, by ffprobe (a second opinion on what PyAV reads)."""
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time",
                          "-of", "csv=p=0", str(path)], check=True, capture_output=True, text=True).stdout
    return sorted(float(line) for line in out.split() if line.strip() and line.strip() != "N/A")


RECORDER_PAGE = """<!doctype html><meta charset=utf-8><title>recorder</title><script>
async function record(seconds) {
  const stream = await navigator.mediaDevices.getUserMedia({video: true, audio: true});
  const recorder = new MediaRecorder(stream, {mimeType: 'video/webm;codecs=vp8,opus'});
  const chunks = [];
  recorder.ondataavailable = (e) => { if (e.data.size) chunks.push(e.data); };
  let started = 0;
  const stopped = new Promise((resolve) => { recorder.onstop = () => resolve(performance.now()); });
  recorder.onstart = () => { started = performance.now(); };
  recorder.start(1000);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  recorder.stop();
  const ended = await stopped;
  stream.getTracks().forEach((t) => t.stop());
  const bytes = new Uint8Array(await new Blob(chunks, {type: 'video/webm'}).arrayBuffer());
  let binary = '';
  for (let i = 0; i < bytes.length; i += 32768) binary += String.fromCharCode(...bytes.subarray(i, i + 32768));
  return {data: btoa(binary), seconds: (ended - started) / 1000};
}
</script>"""


def chrome_webm(path: Path, y4m: Path, seconds: float) -> float:
    """Record `seconds` of chromium's fake camera (playing `y4m`) with MediaRecorder; returns
    the recorder's own measure of how long it ran (start to stop events)."""
    executable = shutil.which("chromium")
    if executable is None:
        import pytest

        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    from tests.conftest import CHROMIUM_ARGS

    result: dict = {}

    async def run() -> None:
        from playwright.async_api import async_playwright

        async with async_playwright() as pw:
            browser = await pw.chromium.launch(
                executable_path=executable,
                args=[*CHROMIUM_ARGS, f"--use-file-for-fake-video-capture={y4m}"])
            try:
                page = await browser.new_page()
                # A secure origin for getUserMedia, served by Playwright itself (no network).
                await page.route("https://recorder.test/", lambda route: route.fulfill(
                    status=200, content_type="text/html", body=RECORDER_PAGE))
                await page.goto("https://recorder.test/")
                result.update(await page.evaluate("(s) => record(s)", seconds))
            finally:
                await browser.close()

    # A thread of its own: the caller may be inside pytest-asyncio's running loop.
    thread = threading.Thread(target=lambda: asyncio.run(run()))
    thread.start()
    thread.join()
    if "data" not in result:
        raise RuntimeError("chromium did not return a recording")
    path.write_bytes(base64.b64decode(result["data"]))
    return float(result["seconds"])
