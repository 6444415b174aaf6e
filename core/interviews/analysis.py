"""The analysis pipeline: recordings and transcripts go through every enabled feature extractor.

An *analysis* is the set of extractor jobs started together for one interview: after a
recording completed, one `core.extract_features` job per enabled video or audio extractor;
after a transcript was stored, one per transcript extractor; a re-analysis, one per
extractor and recording. Each job runs on its own, so extractors fail, retry and report
progress apart. A job decrypts the recording to a private temporary file (PyAV and
OpenCV read files, not streams), runs the extractor, stores that recording's features (the
core aggregates them per interview, core.features) and tells the tenant's plugins through
`mendan_features_extracted`.

When the last job of an analysis has finished (succeeded, or failed for good after its
retries) `mendan_interview_analysed` fires, exactly once: each job's end moves its
`AnalysisStep` from queued to succeeded/failed with a conditional update (so a job counts
once), then adds one to its `AnalysisRun.finished` in a single UPDATE; the job that brings
`finished` to `expected` claims `announced_at` (another conditional update) and fires.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import structlog

from core.db.tables import AnalysisRun, AnalysisStep, Tenant
from core.features import ExtractionInput, FeatureExtractor, store_features, supersede_recordings
from core.interviews.schedule import advance
from core.interviews.tables import Interview, Recording
from core.runtime import runtime
from core.tasks import JobRefused, on_final_failure, report_progress
from core.tenancy import TenantScope
from core.web.i18n import N_

log = structlog.get_logger("mendan.analysis")

MEDIA_KINDS = ("video", "audio")


class ExtractorMissing(JobRefused):
    """The extractor is not installed or not enabled for the tenant (any more): no retry helps."""


@dataclass(frozen=True)
class Target:
    """What one analysis step reads: a recording's media file, or its stored transcript."""

    recording_id: UUID | None
    blob_key: str | None  # the recording's blob; None: its transcript
    question_key: str | None = None


def emotion_allowed(tenant: Tenant) -> bool:
    """Emotion inference only in the regions the operator allows (spec 4.2.1 (11): Japan)."""
    return tenant.region.upper() in runtime().settings.allowed_emotion_regions


async def enabled_extractors(tenant_id: Any, input_kind: str | None = None) -> list[FeatureExtractor]:
    extractors = await runtime().host.extractors_for(tenant_id)
    return [e for e in extractors if input_kind is None or e.input_kind == input_kind]


async def start_analysis(*, tenant_id: UUID, interview_id: UUID, recording_key: str,
                         recording_id: UUID | None = None, question_key: str | None = None) -> list[UUID]:
    """Queue one extraction job per enabled video or audio extractor over one recording; returns the job ids."""
    return await queue_analysis(tenant_id, interview_id, [Target(recording_id, recording_key, question_key)])


async def queue_analysis(tenant_id: Any, interview_id: Any, targets: list[Target], *,
                         reason: str = "recording") -> list[UUID]:
    """One analysis: a job per (target, enabled extractor of the target's kind): video and audio
    extractors for a target with a blob, transcript extractors for one without. Returns the job
    ids ([] when nothing applies: no hook fires then)."""
    extractors = await enabled_extractors(tenant_id)
    steps = [(target, e) for target in targets for e in extractors
             if (e.input_kind in MEDIA_KINDS) == (target.blob_key is not None)]
    if not steps:
        return []
    run = AnalysisRun(id=uuid4(), tenant=tenant_id, interview_id=interview_id, reason=reason, expected=len(steps))
    await AnalysisRun.insert(run)
    rows = [AnalysisStep(id=uuid4(), tenant=tenant_id, run=run.id, recording_id=t.recording_id, extractor=e.name)
            for t, e in steps]
    await AnalysisStep.insert(*rows)
    tasks = runtime().tasks
    jobs = []
    for row, (target, extractor) in zip(rows, steps):
        job_id = await tasks.enqueue(
            "core.extract_features", tenant_id=tenant_id, interview_id=str(interview_id),
            extractor=extractor.name, recording_key=target.blob_key,
            recording_id=str(target.recording_id) if target.recording_id else None,
            question_key=target.question_key, step_id=str(row.id),
        )
        await AnalysisStep.update({AnalysisStep.job_id: job_id}).where(AnalysisStep.id == row.id)
        jobs.append(job_id)
    return jobs


async def extract_features(tenant_id: str, interview_id: str, extractor: str, recording_key: str | None,
                           recording_id: str | None = None, question_key: str | None = None,
                           step_id: str | None = None) -> str:
    """The `core.extract_features` actor: one extractor over one recording's file or transcript."""
    tenant = await Tenant.objects().where(Tenant.id == tenant_id).first()
    if tenant is None:
        raise ExtractorMissing(f"tenant {tenant_id} no longer exists")
    chosen = next((e for e in await enabled_extractors(tenant.id) if e.name == extractor), None)
    if chosen is None:
        raise ExtractorMissing(f"extractor {extractor!r} is not installed or not enabled for this tenant")
    target = Target(UUID(recording_id) if recording_id else None, recording_key, question_key)
    count = await run_extractor(tenant, UUID(interview_id), chosen, target)
    if step_id:
        await finish_step(UUID(step_id), succeeded=True)
    return f"{count} features from {chosen.name} {chosen.version}"


_FIXED_QUESTION = re.compile(r"q([1-9][0-9]*)")


async def question_text(scope: TenantScope, interview_id: UUID, question_key: str | None) -> str | None:
    """The text of the question a recording answers: key `q{n}` is the n-th question (from 1) of the
    interview's question set version. None for other keys (a generated follow-up `q2.f1`), no key, or
    a number beyond the set."""
    from core.interviews.question_sets import questions_of
    from core.interviews.tables import QuestionSetVersion

    match = _FIXED_QUESTION.fullmatch(question_key or "")
    if match is None:
        return None
    interview = await scope.objects(Interview).where(Interview.id == interview_id).first()
    version = await scope.objects(QuestionSetVersion).where(
        QuestionSetVersion.id == interview.question_set_version).first() if interview is not None else None
    questions = questions_of(version) if version is not None else []
    index = int(match[1]) - 1
    return questions[index].text if index < len(questions) else None


async def _superseded(scope: TenantScope, recording_id: UUID | None) -> bool:
    if recording_id is None:
        return False
    row = await scope.select(Recording, Recording.state).where(Recording.id == recording_id).first()
    return row is not None and row["state"] == "superseded"


async def run_extractor(tenant: Tenant, interview_id: UUID, chosen: FeatureExtractor, target: Target,
                        progress: Any = report_progress) -> int:
    """Run one extractor over one target now, store the recording's features (the interview's
    are re-aggregated) and fire `mendan_features_extracted`. Returns how many were stored."""
    rt = runtime()
    scope = TenantScope(tenant.id)
    if await _superseded(scope, target.recording_id):
        # A job queued before a retake replaced its recording: the old take no longer counts.
        log.info("extraction_skipped_superseded", recording_id=str(target.recording_id), extractor=chosen.name)
        return 0
    owner = rt.host.extractor_owner(chosen.name)
    common = dict(tenant_id=tenant.id, interview_id=interview_id, emotion_allowed=emotion_allowed(tenant),
                  recording_id=target.recording_id, question_key=target.question_key,
                  settings=await rt.host.settings_for(tenant.id, owner) if owner else None)
    if target.blob_key is None:
        from core.interviews.transcripts import transcript_of  # it builds on this module

        transcript = await transcript_of(scope, target.recording_id) if target.recording_id else None
        if transcript is None:
            raise JobRefused(N_("the recording has no stored transcript") + f": {target.recording_id}")
        question = await question_text(scope, interview_id, target.question_key)
        features = chosen.extract(ExtractionInput(**common, text=transcript.text(), transcript=transcript,
                                                  question_text=question), progress)
    else:
        tk = rt.storage.tenant_key(tenant)
        with tempfile.TemporaryDirectory(prefix="mendan-analysis-") as tmp:
            path = Path(tmp) / f"recording{Path(target.blob_key).suffix}"
            with path.open("wb") as fh:
                for block in rt.storage.read(tk, target.blob_key):
                    fh.write(block)
            progress(1, N_("decrypted"))
            features = chosen.extract(ExtractionInput(**common, path=path), progress)
    count = await store_features(scope, interview_id, chosen, features, recording_id=target.recording_id,
                                 question_key=target.question_key)
    if await _superseded(scope, target.recording_id):  # a retake replaced it while the extractor ran
        await supersede_recordings(scope, interview_id, [target.recording_id], [chosen])
    interview = await scope.objects(Interview).where(Interview.id == interview_id).first()
    if interview is not None:
        await advance(scope, interview, "analysed")
    log.info("features_extracted", extractor=chosen.name, interview_id=str(interview_id),
             recording_id=str(target.recording_id), count=count)
    host = rt.host
    await host.call_for_tenant("mendan_features_extracted", tenant_id=tenant.id, interview_id=interview_id, extractor=chosen.name)
    return count


async def finish_step(step_id: UUID, *, succeeded: bool) -> bool:
    """Count one step of an analysis as done; fire `mendan_interview_analysed` when it was the
    last. Safe to call twice for a step (the second call changes nothing). Returns whether
    this call fired the hook."""
    moved = await AnalysisStep.update({AnalysisStep.state: "succeeded" if succeeded else "failed"}).where(
        (AnalysisStep.id == step_id) & (AnalysisStep.state == "queued")
    ).returning(AnalysisStep.run)
    if not moved:
        return False
    run_id = moved[0]["run"]
    counted = await AnalysisRun.update({AnalysisRun.finished: AnalysisRun.finished + 1}).where(
        AnalysisRun.id == run_id).returning(AnalysisRun.finished, AnalysisRun.expected)
    if not counted or counted[0]["finished"] < counted[0]["expected"]:
        return False
    claimed = await AnalysisRun.update({AnalysisRun.announced_at: datetime.now(timezone.utc)}).where(
        (AnalysisRun.id == run_id) & AnalysisRun.announced_at.is_null()
    ).returning(AnalysisRun.tenant, AnalysisRun.interview_id)
    if not claimed:
        return False
    steps = await AnalysisStep.select(AnalysisStep.extractor, AnalysisStep.state).where(AnalysisStep.run == run_id)
    failed = {s["extractor"] for s in steps if s["state"] == "failed"}
    await announce_analysed(claimed[0]["tenant"], claimed[0]["interview_id"],
                            {s["extractor"] for s in steps} - failed, failed)
    return True


async def announce_analysed(tenant_id: Any, interview_id: UUID, succeeded: set[str], failed: set[str]) -> None:
    """Fire `mendan_interview_analysed` (an extractor that failed on any recording counts as failed)."""
    succeeded_names, failed_names = sorted(succeeded - failed), sorted(failed)
    log.info("interview_analysed", interview_id=str(interview_id), succeeded=succeeded_names, failed=failed_names)
    host = runtime().host
    await host.call_for_tenant("mendan_interview_analysed", tenant_id=tenant_id, interview_id=interview_id, succeeded=succeeded_names,
                               failed=failed_names)


async def _extraction_failed(kwargs: dict[str, Any]) -> None:
    """An extraction job failed for good: its step counts as finished, and failed."""
    if kwargs.get("step_id"):
        await finish_step(UUID(kwargs["step_id"]), succeeded=False)


on_final_failure("core.extract_features", _extraction_failed)


async def _reanalyse(**kwargs: Any) -> str:
    from core.interviews.reanalysis import reanalyse  # it builds on this module

    return await reanalyse(**kwargs)


_reanalyse.__doc__ = "The `core.reanalyse` actor (core.interviews.reanalysis.reanalyse)."
ANALYSIS_ACTORS = {"core.extract_features": extract_features, "core.reanalyse": _reanalyse}
