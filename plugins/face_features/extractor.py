"""The `face_features` feature extractor: video in, per-frame table stored, per-interview features out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from core.features import ExtractionInput, FeatureLabel, Progress
from core.web.i18n import N_
from plugins.face_features import frame_table
from plugins.face_features.aggregates import aggregate
from plugins.face_features.model_files import EMOTION, FACE_LANDMARKER, verified_path
from plugins.face_features.range_analysis import analyse_video, probe_video


@dataclass
class FaceFeatureExtractor:
    sample_fps: float = 5.0
    processes: int | None = None  # None: one per core
    models: Path | None = None  # None: `model_files.models_dir()`
    insightface_pack: Path | None = None  # set: the optional insightface backend instead of MediaPipe
    name: str = "face_features"
    title_ja: str = "表情・視線の特徴"
    title_en: str = "Face and gaze"
    version: str = "1.0"
    input_kind: str = "video"

    def analyse(self, path: Path, *, emotion_allowed: bool, progress: Progress = lambda _p, _m: None,
                sample_fps: float | None = None) -> tuple[pa.Table, dict[str, float]]:
        """The per-frame table and the per-interview features of one video file, sampled at
        `sample_fps` frames a second (the extractor's own rate when None)."""
        # Checked before any decoding: a missing or altered model must stop the job, never be fetched here.
        landmarker = None if self.insightface_pack else verified_path(FACE_LANDMARKER, self.models)
        emotion = verified_path(EMOTION, self.models) if emotion_allowed else None
        info = probe_video(path)
        rows, columns = analyse_video(
            path, sample_fps=sample_fps or self.sample_fps, landmarker=landmarker, emotion=emotion,
            processes=self.processes, progress=progress, insightface_pack=self.insightface_pack, info=info,
        )
        table = frame_table.to_arrow(rows, columns)
        features = aggregate(frame_table.to_columns(table))
        # The recording's length from its timestamps (core.media), not from the sampled rows.
        features["duration_s"] = info.duration_s
        return table, features

    def labels(self) -> Mapping[str, FeatureLabel]:
        """Japanese and English names and meanings of every feature `extract` can return."""
        from plugins.face_features.labels import LABELS

        return LABELS

    def extract(self, source: ExtractionInput, progress: Progress) -> Mapping[str, float]:
        from core.tables import Tenant
        from core.runtime import runtime

        if source.path is None:
            raise ValueError("face_features needs a video file")
        # The tenant's rate (FaceSettings.sample_fps, set by operators) wins over the process default.
        sample_fps = source.settings.sample_fps if source.settings is not None else None
        table, features = self.analyse(source.path, emotion_allowed=source.emotion_allowed, progress=progress,
                                       sample_fps=sample_fps)
        storage = runtime().storage
        tenant = Tenant.objects().where(Tenant.id == source.tenant_id).first().run_sync()
        key = frame_table.blob_key(source.interview_id, self.version, source.recording_id)
        frame_table.store(storage, storage.tenant_key(tenant), key, table)
        progress(97, N_("per-frame table stored"))
        return features
