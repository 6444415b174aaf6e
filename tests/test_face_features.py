"""face_features: the injected ground truth of generated clips comes back out; failures are clear."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import uuid
from pathlib import Path

import numpy as np
import pytest

from core.db.tables import FeatureValue, Job, Tenant
from core.features import features_of
from core.tenancy import TenantScope
from plugins.face_features import frame_table, model_files
from plugins.face_features import plugin as face_plugin
from plugins.face_features.extractor import FaceFeatureExtractor
from plugins.face_features.frame_analysis import EMOTION_COLUMNS
from plugins.face_features.range_analysis import VideoUnreadable, WorkerLost, analyse_video
from plugins.face_features.testing import ClipScript, write_clip

SCRIPT = ClipScript(seconds=6.0, roll_amplitude=10.0, roll_period=2.0, gaps=((2.0, 3.0),), frowns=((4.0, 5.0),))


@pytest.fixture(scope="session")
def models(tmp_path_factory) -> Path:
    """The verified model files: the installed ones, else fetched once as `mendan models fetch` does."""
    try:
        for model in model_files.MODEL_FILES:
            model_files.verified_path(model)
        return model_files.models_dir()
    except model_files.ModelFileError:
        return model_files.fetch(tmp_path_factory.mktemp("models") / "face_features")[0].parent


@pytest.fixture(scope="session")
def clip(tmp_path_factory) -> Path:
    return write_clip(tmp_path_factory.mktemp("clips") / "astronaut.mp4", SCRIPT)


@pytest.fixture(scope="session")
def analysed(clip, models):
    return FaceFeatureExtractor(processes=1, models=models).analyse(clip, emotion_allowed=True)


def test_presence_ratio_matches_the_gap_without_a_face(analysed):
    table, features = analysed
    t = table.column("t").to_numpy()
    expected = np.array([SCRIPT.face_visible(x) for x in t])
    assert table.num_rows == 30  # 6 s sampled at 5 fps
    assert (table.column("face").to_numpy(zero_copy_only=False) == expected).mean() >= 0.95
    assert features["presence_ratio"] == pytest.approx(expected.mean(), abs=0.04)
    assert features["duration_s"] == pytest.approx(SCRIPT.seconds, abs=0.01)


def test_roll_follows_the_injected_sine(analysed):
    table, features = analysed
    face = table.column("face").to_numpy(zero_copy_only=False)
    t = table.column("t").to_numpy()[face]
    roll = table.column("roll").to_numpy()[face]
    injected = np.array([SCRIPT.roll(x) for x in t])
    # The portrait's own head tilt is a constant offset; the motion around it is what was injected.
    assert (roll.max() - roll.min()) / 2 == pytest.approx(SCRIPT.roll_amplitude, abs=1.5)
    assert np.corrcoef(roll, injected)[0, 1] > 0.97
    assert features["roll_std"] == pytest.approx(np.std(injected), abs=1.5)


def test_smile_disappears_while_the_mouth_frowns(analysed):
    table, features = analysed
    face = table.column("face").to_numpy(zero_copy_only=False)
    t = table.column("t").to_numpy()
    smile = (table.column("bs_mouthSmileLeft").to_numpy() + table.column("bs_mouthSmileRight").to_numpy()) / 2
    frowning = np.array([SCRIPT.frowning(x) for x in t])
    assert (smile[face & frowning] < 0.2).all()
    assert (smile[face & ~frowning] > 0.5).all()
    assert features["smile_ratio"] == pytest.approx((face & ~frowning).sum() / face.sum(), abs=0.05)


def test_emotions_are_probabilities_where_allowed(analysed):
    table, features = analysed
    face = table.column("face").to_numpy(zero_copy_only=False)
    emotions = np.column_stack([table.column(c).to_numpy() for c in EMOTION_COLUMNS])[face]
    assert np.allclose(emotions.sum(axis=1), 1.0, atol=1e-3)
    assert "emo_happy_mean" in features
    assert all(table.column(c).null_count == (~face).sum() for c in EMOTION_COLUMNS)


def test_emotions_are_absent_not_zero_where_not_allowed(clip, models):
    table, features = FaceFeatureExtractor(processes=1, models=models).analyse(clip, emotion_allowed=False)
    assert not any(c.startswith("emo_") for c in table.column_names)
    assert not any(name.startswith("emo_") for name in features)
    assert features["smile_ratio"] > 0


def test_parallel_ranges_merge_to_the_same_rows_as_one_process(clip, models):
    kwargs = dict(sample_fps=5, landmarker=models / "face_landmarker.task", emotion=None, range_seconds=1.5)
    one, _ = analyse_video(clip, processes=1, **kwargs)
    two, columns = analyse_video(clip, processes=2, **kwargs)
    assert [r["frame"] for r in two] == list(range(30))  # one sample per 0.2 s interval
    assert frame_table.to_arrow(one, columns).equals(frame_table.to_arrow(two, columns))


def test_seeking_to_a_range_lands_on_the_frame_it_names(clip, models):
    kwargs = dict(sample_fps=5, landmarker=models / "face_landmarker.task", emotion=None, processes=1)
    whole, _ = analyse_video(clip, range_seconds=1000, **kwargs)  # one range, read from the start
    ranged, _ = analyse_video(clip, range_seconds=1.5, **kwargs)  # each range seeks first
    assert [r["face"] for r in ranged] == [r["face"] for r in whole]
    assert [r["t"] for r in ranged] == [r["t"] for r in whole]
    # A sample is 0.2 s apart, where the injected roll moves by up to 6 degrees: a wrong frame would
    # show. A fresh landmarker at a range's start tracks without history, which moves roll ~1 degree.
    assert all(abs(a["roll"] - b["roll"]) < 2.0 for a, b in zip(ranged, whole) if a["face"])


def test_a_killed_worker_fails_the_run_and_the_retry_gives_the_same_rows(clip, models):
    kwargs = dict(sample_fps=5, landmarker=models / "face_landmarker.task", emotion=None, range_seconds=1.0)
    clean, columns = analyse_video(clip, processes=1, **kwargs)

    def kill_a_worker(_percent, _message):
        for child in multiprocessing.active_children():
            os.kill(child.pid, signal.SIGKILL)
            return

    with pytest.raises(WorkerLost, match="retried"):
        analyse_video(clip, processes=2, progress=kill_a_worker, **kwargs)
    retried, _ = analyse_video(clip, processes=2, **kwargs)
    assert frame_table.to_arrow(retried, columns).equals(frame_table.to_arrow(clean, columns))


def test_a_video_without_a_face_gives_zero_presence(tmp_path, models):
    path = write_clip(tmp_path / "empty-room.mp4", ClipScript(seconds=2.0, gaps=((0.0, 2.0),)))
    table, features = FaceFeatureExtractor(processes=1, models=models).analyse(path, emotion_allowed=True)
    assert table.num_rows == 10
    assert features == {"sampled_frames": 10.0, "presence_ratio": 0.0, "duration_s": pytest.approx(2.0, abs=1e-6)}


@pytest.mark.parametrize("content", [b"", b"\x00\x01garbage" * 1000], ids=["empty", "corrupt"])
def test_empty_or_corrupt_video_is_a_clear_error(tmp_path, models, content):
    path = tmp_path / "recording.mp4"
    path.write_bytes(content)
    with pytest.raises(VideoUnreadable, match="recording"):
        FaceFeatureExtractor(processes=1, models=models).analyse(path, emotion_allowed=True)


def test_a_missing_or_altered_model_stops_analysis_without_downloading(tmp_path, clip, models, monkeypatch):
    folder = tmp_path / "models"
    shutil.copytree(models, folder)
    monkeypatch.setattr("subprocess.run", lambda *a, **k: pytest.fail("analysis must not download"))
    altered = folder / "face_landmarker.task"
    content = bytearray(altered.read_bytes())
    content[len(content) // 2] ^= 0xFF
    altered.write_bytes(bytes(content))
    with pytest.raises(model_files.ModelFileError, match="does not match its SHA-256"):
        FaceFeatureExtractor(processes=1, models=folder).analyse(clip, emotion_allowed=False)
    altered.unlink()
    with pytest.raises(model_files.ModelFileError, match="missing: run `mendan models fetch`"):
        FaceFeatureExtractor(processes=1, models=folder).analyse(clip, emotion_allowed=False)


def test_models_fetch_puts_verified_files_in_the_models_folder(tmp_path):
    paths = model_files.fetch(tmp_path)
    assert sorted(p.name for p in paths) == sorted(m.name for m in model_files.MODEL_FILES)
    for model in model_files.MODEL_FILES:
        assert model_files.verified_path(model, tmp_path).stat().st_size > 0


def test_plugin_metadata_lists_the_model_licences():
    meta = face_plugin.mendan_plugin_meta()
    assert any("Apache-2.0" in line and "face_landmarker.task" in line for line in meta.model_licences)
    assert any("MIT" in line and "emotion_model_quantized.tflite" in line for line in meta.model_licences)


async def _run_extraction(app, tenant, storage, recording: Path):
    from core.interviews.analysis import extract_features

    interview_id = uuid.uuid4()
    key = f"recordings/{interview_id}.mp4"
    storage.write_file(storage.tenant_key(tenant), key, recording)
    result = await extract_features(str(tenant.id), str(interview_id), "face_features", key)
    return interview_id, result


@pytest.fixture
def face_app(host, models, monkeypatch, request):
    monkeypatch.setenv("MENDAN_MODELS_DIR", str(models.parent))
    host.register(face_plugin, key="face_features")
    return request.getfixturevalue("app")  # built after the plugin is registered


async def test_the_pipeline_stores_features_and_the_encrypted_frame_table(face_app, make_tenant, storage, clip):
    tenant = await make_tenant(region="JP")
    interview_id, result = await _run_extraction(face_app, tenant, storage, clip)
    assert result.startswith("1") and "face_features 1.0" in result
    stored = await features_of(TenantScope(tenant.id), interview_id)
    assert stored["face_features.presence_ratio"] == pytest.approx(25 / 30, abs=0.04)
    assert "face_features.emo_happy_mean" in stored
    tk = storage.tenant_key(tenant)
    key = frame_table.blob_key(interview_id, "1.0")
    raw = (storage.root / str(tenant.id) / key).read_bytes()
    assert b"PAR1" not in raw  # Parquet's magic never shows: the blob is encrypted
    assert frame_table.load(storage, tk, key).num_rows == 30


async def test_the_pipeline_leaves_emotions_out_outside_the_allowed_regions(face_app, make_tenant, storage, clip):
    tenant = await make_tenant(region="US")
    interview_id, _ = await _run_extraction(face_app, tenant, storage, clip)
    stored = await features_of(TenantScope(tenant.id), interview_id)
    assert "face_features.presence_ratio" in stored
    assert not [name for name in stored if ".emo_" in name]
    table = frame_table.load(storage, storage.tenant_key(tenant), frame_table.blob_key(interview_id, "1.0"))
    assert not [c for c in table.column_names if c.startswith("emo_")]


async def test_a_corrupt_recording_ends_in_a_failed_job_with_a_clear_error(face_app, client, make_tenant, storage, tmp_path):
    import asyncio

    from core.interviews.analysis import start_analysis

    tenant = await make_tenant()
    interview_id = uuid.uuid4()
    garbage = tmp_path / "broken.mp4"
    garbage.write_bytes(b"not a video" * 100)
    storage.write_file(storage.tenant_key(tenant), f"recordings/{interview_id}.mp4", garbage)
    [job_id] = await start_analysis(tenant_id=tenant.id, interview_id=interview_id,
                                    recording_key=f"recordings/{interview_id}.mp4")
    for _ in range(300):
        job = await Job.objects().where(Job.id == job_id).first()
        if job.state == "failed":
            break
        await asyncio.sleep(0.2)
    assert job.state == "failed"
    assert "VideoUnreadable" in job.error and "cannot be opened" in job.error
    assert job.attempts == 1  # refused at once: retrying cannot decode it
    assert await FeatureValue.count().where(FeatureValue.interview_id == interview_id) == 0
    assert await Tenant.exists().where(Tenant.id == tenant.id)


def test_a_variable_frame_rate_video_is_timed_by_its_timestamps(tmp_path, clip, models):
    """25 fps for 3 s, then 5 fps (every fifth frame kept, timestamps kept): the same motion
    as the constant-rate clip, so the same head movement. Frame index over the average rate
    (15 fps) put the last sample at 5.93 s and measured the motion 13 % too high."""
    import subprocess

    vfr = tmp_path / "vfr.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(clip), "-vf", "select='lt(t,3)+not(mod(n,5))'",
                    "-fps_mode", "vfr", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(vfr)], check=True)
    extractor = FaceFeatureExtractor(processes=1, models=models)
    constant_table, constant = extractor.analyse(clip, emotion_allowed=False)
    variable_table, variable = extractor.analyse(vfr, emotion_allowed=False)
    assert variable_table.column("t").to_pylist() == pytest.approx(constant_table.column("t").to_pylist(), abs=1e-3)
    assert variable["duration_s"] == pytest.approx(SCRIPT.seconds, abs=0.2)
    assert variable["head_movement_energy"] == pytest.approx(constant["head_movement_energy"], rel=0.05)
