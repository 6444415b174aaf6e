"""face_features: non-verbal features from interview video (a basic service).

Adds
- extractor `face_features` (video): MediaPipe FaceLandmarker and the fer emotion
  model per sampled frame; per-frame Parquet table in the tenant's encrypted blob
  store (`face_features/{interview}/frames-v{version}.parquet`); per-interview
  features through core's analysis pipeline (`core.extract_features`);
- its model files for `mendan models fetch` (through `mendan_model_files`);
- meter `face_features.analysis_minutes`, recorded once per analysed recording;
- a panel on the interview result page: what was measured, in figures and a timeline;
- no routes, actors or tables of its own.
The report over these features is the option `video_analysis` (./video_analysis/plugin.py).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from core.hookspecs import hookimpl
from core.plugins import Meter, PluginMeta
from plugins.face_features.model_files import MODEL_FILES

ANALYSIS_MINUTES = "face_features.analysis_minutes"
SAMPLE_FPS = float(os.environ.get("MENDAN_FACE_SAMPLE_FPS", "5"))
INSIGHTFACE_PACK = os.environ.get("MENDAN_INSIGHTFACE_PACK")  # optional backend, see insightface_backend.py


@dataclass(frozen=True)
class FaceSettings:
    """Per tenant, set by operators: the sampling rate costs analysis time on the operator's machines."""

    sample_fps: float = field(default=SAMPLE_FPS, metadata={
        "label_ja": "解析するフレーム数（毎秒）", "label_en": "Frames analysed per second", "unit": "fps",
        "min": 0.2, "max": 60, "operator_only": True,
        "help_ja": "多いほど細かく測れますが、解析に時間がかかります。",
        "help_en": "More frames measure finer detail but take longer to analyse."})


@hookimpl
def mendan_plugin_meta() -> PluginMeta:
    return PluginMeta(
        key="face_features",
        name_ja="表情・視線の特徴量",
        name_en="Face and gaze features",
        version="1.0.0",
        kind="basic",
        hours="batch",
        settings=FaceSettings,
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
def mendan_template_dirs() -> list[Path]:
    return [Path(__file__).parent / "templates"]


@hookimpl
async def mendan_interview_panels(tenant, interview) -> list:
    """What the face analysis measured, or that it has not run yet."""
    from core.interviews.api import Panel
    from plugins.face_features.panel import panel_context

    context = await panel_context(tenant, interview)
    return [Panel(title_ja="顔の動きの解析", title_en="Face analysis", template="face_features/panel.html",
                  context={"analysed": context is not None, **(context or {})}, order=40)]


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
    """Bill the minutes of video analysed, once per recording and extractor version."""
    if extractor != "face_features":
        return
    from core.features import features_by_recording
    from core.tenancy import TenantScope
    from core.usage import record_usage
    from plugins.face_features.extractor import FaceFeatureExtractor

    for recording_id, recording in (await features_by_recording(TenantScope(tenant_id), interview_id)).items():
        duration = recording.features.get("face_features.duration_s", 0.0)
        if duration > 0:
            await record_usage(tenant_id, ANALYSIS_MINUTES, math.ceil(duration / 60),
                               act=f"{recording_id}:{FaceFeatureExtractor.version}")
