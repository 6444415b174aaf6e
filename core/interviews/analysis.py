"""The analysis pipeline: a completed recording goes through every enabled feature extractor.

One `core.extract_features` job per extractor, so extractors fail, retry and
report progress on their own. Each job decrypts the recording to a private
temporary file (OpenCV and PyAV read files, not streams), runs the extractor,
stores its features and tells the tenant's enabled plugins through
`mendan_features_extracted` (the AI model predicts from there).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any
from uuid import UUID

import structlog

from core.db.tables import Tenant
from core.features import ExtractionInput, FeatureExtractor, store_features
from core.interviews.schedule import advance
from core.interviews.tables import Interview
from core.runtime import runtime
from core.tasks import report_progress
from core.tenancy import TenantScope

log = structlog.get_logger("mendan.analysis")


class ExtractorMissing(RuntimeError):
    pass


def emotion_allowed(tenant: Tenant) -> bool:
    """Emotion inference only in the regions the operator allows (spec 4.2.1 (11): Japan)."""
    return tenant.region.upper() in runtime().settings.allowed_emotion_regions


async def enabled_extractors(tenant_id: Any, input_kind: str | None = None) -> list[FeatureExtractor]:
    extractors = await runtime().host.extractors_for(tenant_id)
    return [e for e in extractors if input_kind is None or e.input_kind == input_kind]


async def start_analysis(*, tenant_id: UUID, interview_id: UUID, recording_key: str) -> list[UUID]:
    """Queue one extraction job per enabled video or audio extractor; returns the job ids."""
    tasks = runtime().tasks
    jobs = []
    for extractor in await enabled_extractors(tenant_id):
        if extractor.input_kind not in ("video", "audio"):
            continue
        jobs.append(await tasks.enqueue(
            "core.extract_features", tenant_id=tenant_id, interview_id=str(interview_id),
            extractor=extractor.name, recording_key=recording_key,
        ))
    return jobs


async def extract_features(tenant_id: str, interview_id: str, extractor: str, recording_key: str) -> str:
    rt = runtime()
    tenant = await Tenant.objects().where(Tenant.id == tenant_id).first()
    if tenant is None:
        raise ExtractorMissing(f"tenant {tenant_id} no longer exists")
    chosen = next((e for e in await enabled_extractors(tenant.id) if e.name == extractor), None)
    if chosen is None:
        raise ExtractorMissing(f"extractor {extractor!r} is not installed or not enabled for this tenant")
    tk = rt.storage.tenant_key(tenant)
    suffix = Path(recording_key).suffix
    with tempfile.TemporaryDirectory(prefix="mendan-analysis-") as tmp:
        path = Path(tmp) / f"recording{suffix}"
        with path.open("wb") as fh:
            for block in rt.storage.read(tk, recording_key):
                fh.write(block)
        report_progress(1, "decrypted")
        owner = rt.host.extractor_owner(chosen.name)
        source = ExtractionInput(tenant_id=tenant.id, interview_id=UUID(interview_id), path=path,
                                 emotion_allowed=emotion_allowed(tenant),
                                 settings=await rt.host.settings_for(tenant.id, owner) if owner else None)
        features = chosen.extract(source, report_progress)
    scope = TenantScope(tenant.id)
    count = await store_features(scope, UUID(interview_id), chosen, features)
    interview = await scope.objects(Interview).where(Interview.id == UUID(interview_id)).first()
    if interview is not None:
        await advance(scope, interview, "analysed")
    log.info("features_extracted", extractor=extractor, interview_id=interview_id, count=count)
    host = rt.host
    await host.call_for_tenant("mendan_features_extracted", tenant_id=tenant.id, interview_id=UUID(interview_id),
                               extractor=extractor)
    return f"{count} features from {chosen.name} {chosen.version}"


ANALYSIS_ACTORS = {"core.extract_features": extract_features}
