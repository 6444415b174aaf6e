"""core.media on the files customers really send (issue 11): timing from timestamps,
displayed sizes after rotation, sampling at a rate in seconds. Every file is made here."""

from __future__ import annotations

import numpy as np
import pytest

from core.media import MediaUnreadable, plan_ranges, probe, sample_frames
from tests import media_fixtures as mf

RATE = 5.0


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def chrome(media_dir) -> mf.Made:
    """15 s of MediaRecorder WebM from chromium's fake camera showing the test face."""
    y4m = mf.face_y4m(media_dir / "face.y4m", size=(320, 240))
    path = media_dir / "chrome.webm"
    seconds = mf.chrome_webm(path, y4m, 15)
    return mf.Made(path, seconds, 320, 240)


@pytest.fixture(scope="session")
def made(media_dir, request) -> dict[str, mf.Made]:
    return {
        "vfr": mf.vfr_mp4(media_dir / "vfr.mp4"),
        "portrait": mf.portrait_mp4(media_dir / "portrait.mp4"),
        "fragmented": mf.fragmented_mp4(media_dir / "fragmented.mp4"),
        "mov": mf.quicktime_mov(media_dir / "iphone.mov"),
    }


def check(video: mf.Made) -> None:
    info = probe(video.path)
    assert abs(info.duration_s - video.seconds) <= 0.2, (info.duration_s, video.seconds)
    assert (info.width, info.height) == (video.width, video.height)
    frames = list(sample_frames(video.path, RATE, info=info))
    expected = video.seconds * RATE
    assert abs(len(frames) - expected) <= 0.05 * expected, (len(frames), expected)
    assert all(f.image.shape[:2] == (video.height, video.width) for f in frames)
    # Each sampled time is a frame's PTS (ffprobe's reading), counted from the first frame.
    pts = np.asarray(mf.packet_times(video.path)) - info.start_s
    one_frame = 1 / info.average_fps
    for frame in frames:
        assert np.min(np.abs(pts - frame.t)) < one_frame, frame.t
    # One frame per 1/RATE-second interval, in order.
    indices = [f.index for f in frames]
    assert indices == sorted(set(indices))
    assert all(abs(f.t - f.index / RATE) < 1 / RATE for f in frames)


@pytest.mark.browser
def test_a_chrome_mediarecorder_webm_is_timed_by_its_timestamps(chrome):
    info = probe(chrome.path)
    assert info.container.startswith("matroska") and info.codec == "vp8"
    assert [a.codec for a in info.audio] == ["opus"]
    check(chrome)


@pytest.mark.parametrize("kind", ["vfr", "portrait", "fragmented", "mov"])
def test_real_files_have_true_durations_sizes_and_frame_times(made, kind):
    check(made[kind])


def test_variable_frame_rate_is_recognised_and_sampled_by_time(made):
    info = probe(made["vfr"].path)
    assert info.frame_rate_kind == "variable"
    assert info.frames == 75 + 15
    times = [f.t for f in sample_frames(made["vfr"].path, RATE, info=info)]
    # Index over average fps (15) would put the last frame at 89/15 = 5.93 s and the 16th at 1.0 s.
    assert times[15] == pytest.approx(3.0, abs=0.01) and times[-1] == pytest.approx(5.8, abs=0.01)
    assert probe(made["mov"].path).frame_rate_kind == "constant"


def test_a_portrait_phone_video_is_shown_upright(made):
    info = probe(made["portrait"].path)
    assert info.rotation == 90 and (info.coded_width, info.coded_height) == (640, 480)
    first = next(sample_frames(made["portrait"].path, RATE, info=info))
    assert first.image.shape[:2] == (640, 480)


@pytest.mark.parametrize("kind", ["vfr", "fragmented", "mov"])
def test_reading_in_ranges_gives_the_frames_of_reading_whole(made, kind):
    path = made[kind].path
    info = probe(path)
    whole = [(f.index, f.t) for f in sample_frames(path, RATE, info=info)]
    ranges = plan_ranges(info.duration_s, RATE, 1.3)
    assert len(ranges) > 1 and all(round(start * RATE, 9).is_integer() for start, _end in ranges)
    pieces = [(f.index, f.t) for start, end in ranges
              for f in sample_frames(path, RATE, start_s=start, end_s=end, info=info)]
    assert pieces == whole


@pytest.mark.browser
def test_a_chrome_webm_without_cues_reads_in_ranges_too(chrome):
    info = probe(chrome.path)
    whole = [f.index for f in sample_frames(chrome.path, RATE, info=info)]
    pieces = [f.index for start, end in plan_ranges(info.duration_s, RATE, 4.0)
              for f in sample_frames(chrome.path, RATE, start_s=start, end_s=end, info=info)]
    assert pieces == whole


@pytest.mark.parametrize("content", [b"", b"not a video at all" * 100])
def test_what_is_not_a_video_is_a_clear_error(tmp_path, content):
    path = tmp_path / "bad.webm"
    path.write_bytes(content)
    with pytest.raises(MediaUnreadable):
        probe(path)


def test_a_long_live_webm_without_cues_is_timed_and_split_by_its_timestamps(media_dir):
    """What bench/face_features.py --webm analyses: a MediaRecorder-style WebM, no Cues, no Duration."""
    import cv2

    from plugins.face_features.testing import ClipScript, write_live_webm

    path = write_live_webm(media_dir / "live.webm", 0.5, ClipScript(seconds=2.0, gaps=()))
    data = path.read_bytes()
    assert bytes.fromhex("1C53BB6B") not in data  # the Matroska Cues element
    capture = cv2.VideoCapture(str(path))
    assert capture.get(cv2.CAP_PROP_FRAME_COUNT) <= 0  # what OpenCV cannot count
    capture.release()
    info = probe(path)
    assert info.duration_s == pytest.approx(30.0, abs=0.2) and info.frames == 750
    ranges = plan_ranges(info.duration_s, RATE, 7.0)
    pieces = [f.t for start, end in ranges for f in sample_frames(path, RATE, start_s=start, end_s=end, info=info)]
    assert len(ranges) == 5 and len(pieces) == 150
    assert pieces == pytest.approx([k / RATE for k in range(150)], abs=1e-3)
