"""face_features: non-verbal features from interview video (a basic service).

Adds
- extractor `face_features` (video): MediaPipe FaceLandmarker and the fer emotion
  model per sampled frame; per-frame Parquet table in the tenant's encrypted blob
  store (`face_features/{interview}/frames-v{version}.parquet`); per-interview
  features through core's analysis pipeline (`core.extract_features`);
- its model files for `mendan models fetch` (through `mendan_model_files`);
- meter `face_features.analysis_minutes`, recorded once per analysed interview;
- no routes, actors or tables of its own.
The report over these features is the option `video_analysis` (./video_analysis/plugin.py).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from core.hookspecs import hookimpl
from core.plugins import Meter, PluginMeta
from plugins.face_features.model_files import MODEL_FILES

ANALYSIS_MINUTES = "face_features.analysis_minutes"
SAMPLE_FPS = float(os.environ.get("MENDAN_FACE_SAMPLE_FPS", "5"))
INSIGHTFACE_PACK = os.environ.get("MENDAN_INSIGHTFACE_PACK")  # optional backend, see insightface_backend.py


@hookimpl
def mendan_plugin_meta() -> PluginMeta:
    return PluginMeta(
        key="face_features",
        name_ja="表情・視線の特徴量",
        name_en="Face and gaze features",
        version="1.0.0",
        kind="basic",
        hours="batch",
        meters=(Meter(ANALYSIS_MINUTES, "minute", "動画解析（分）", "Video analysis minutes"),),
        model_licences=(
            *(str(model) for model in MODEL_FILES),
            "insightface model pack (optional, supplied by the operator): its own licence; "
            "insightface's pretrained packs are for non-commercial research only",
        ),
        description_ja="面談動画から顔の向き・視線・まばたき・表情（ブレンドシェイプ）・感情確率を測ります。",
        description_en="Measures head pose, gaze, blinks, facial expressions (blendshapes) and emotion "
        "probabilities from interview video.",
    )


@hookimpl
def mendan_feature_extractors() -> list:
    from plugins.face_features.extractor import FaceFeatureExtractor

    return [FaceFeatureExtractor(sample_fps=SAMPLE_FPS, insightface_pack=Path(INSIGHTFACE_PACK) if INSIGHTFACE_PACK else None)]


@hookimpl
def mendan_model_files() -> list:
    return list(MODEL_FILES)


@hookimpl
def mendan_demo_recording(path, seconds, presence, head_movement, smile) -> bool:
    """The demo's interviews: the astronaut clip with a gap without a face, head roll and frowns."""
    from plugins.face_features.testing import ClipScript, write_clip

    gap = seconds * (1 - presence)
    frown = seconds * (1 - smile)
    write_clip(Path(path), ClipScript(
        seconds=seconds,
        roll_amplitude=2 + 18 * head_movement,
        gaps=(((seconds - gap) / 2, (seconds + gap) / 2),) if gap > 0.2 else (),
        frowns=((0.0, frown),) if frown > 0.2 else (),
    ))
    return True


@hookimpl
async def mendan_features_extracted(tenant_id, interview_id, extractor) -> None:
    """Bill the minutes of video analysed, once per interview and extractor version."""
    if extractor != "face_features":
        return
    from core.features import features_of
    from core.tenancy import TenantScope
    from core.usage import record_usage
    from plugins.face_features.extractor import FaceFeatureExtractor

    duration = (await features_of(TenantScope(tenant_id), interview_id)).get("face_features.duration_s", 0.0)
    if duration > 0:
        await record_usage(tenant_id, ANALYSIS_MINUTES, math.ceil(duration / 60),
                           act=f"{interview_id}:{FaceFeatureExtractor.version}")
