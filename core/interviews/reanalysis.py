"""Re-analysis: existing recordings through extractors that are new to them.

An extractor whose version was bumped, or that a tenant newly enabled, has never seen the
recordings already there, and models only read features of the current versions. So:

- `stale_analyses(tenant_id)` tells, per enabled extractor, how many interviews lack its
  current version (the admin page /t/{tenant}/analysis/ shows it, with a button);
- the job `core.reanalyse` (declared in core.interviews.analysis) runs the chosen extractors over the chosen interviews' recordings
  (or stored transcripts), one interview after another with progress, and fires
  `mendan_interview_analysed` once per interview, so the AI model predicts again and its
  next build uses them;
- `mendan analyse --tenant SLUG [--extractor NAME] [--interview ID] [--all]` starts that job
  (core/analysis_cli.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import structlog

from core.interviews.analysis import MEDIA_KINDS, Target, announce_analysed, enabled_extractors, run_extractor
from core.db.tables import FeatureValue, Tenant, TranscriptRecord
from core.interviews.tables import Recording
from core.job_texts import job_text
from core.tasks import JobRefused, report_progress
from core.tenancy import TenantScope
from core.web.i18n import N_

log = structlog.get_logger("mendan.analysis")
INTERVIEWS_DONE = N_("%(done)s of %(total)s interviews")


@dataclass(frozen=True)
class StaleExtractor:
    """One enabled extractor: its current version, how many interviews it applies to
    (`total`) and which of those lack its current version on some recording (`stale`)."""

    name: str
    version: str
    input_kind: str
    total: int
    stale: list[UUID] = field(default_factory=list)


async def _targets(scope: TenantScope, kind: str) -> dict[UUID, list[Target]]:
    """What an extractor of `kind` reads, per interview: complete recordings, or those with a
    transcript; superseded takes (an answer taken again) are left out."""
    out: dict[UUID, list[Target]] = {}
    if kind in MEDIA_KINDS:
        rows = await scope.select(Recording, Recording.id, Recording.interview, Recording.blob_key,
                                  Recording.question_key).where(Recording.state == "complete").order_by(
            Recording.sequence)
        for r in rows:
            out.setdefault(r["interview"], []).append(Target(r["id"], r["blob_key"], r["question_key"]))
        return out
    rows = await scope.select(TranscriptRecord, TranscriptRecord.interview_id, TranscriptRecord.recording_id,
                              TranscriptRecord.question_key).distinct()
    superseded = {r["id"] for r in await scope.select(Recording, Recording.id).where(Recording.state == "superseded")}
    for r in rows:
        if r["recording_id"] in superseded:  # a retake replaced it
            continue
        targets = out.setdefault(r["interview_id"], [])
        if all(t.recording_id != r["recording_id"] for t in targets):
            targets.append(Target(r["recording_id"], None, r["question_key"]))
    return out


async def stale_analyses(tenant_id: Any) -> list[StaleExtractor]:
    """Per enabled extractor, the interviews where some recording lacks its current version."""
    scope = TenantScope(tenant_id)
    measured = {(r["recording_id"], r["extractor"], r["extractor_version"]) for r in await scope.select(
        FeatureValue, FeatureValue.recording_id, FeatureValue.extractor, FeatureValue.extractor_version).where(
        FeatureValue.recording_id.is_not_null()).distinct()}
    # Interviews analysed before features were kept per recording have interview-level rows only.
    legacy = {(r["interview_id"], r["extractor"], r["extractor_version"]) for r in await scope.select(
        FeatureValue, FeatureValue.interview_id, FeatureValue.extractor, FeatureValue.extractor_version).where(
        FeatureValue.recording_id.is_null()).distinct()}
    per_recording = {rid for rid, _e, _v in measured}
    out = []
    targets_by_kind: dict[str, dict[UUID, list[Target]]] = {}
    for extractor in await enabled_extractors(tenant_id):
        kind = extractor.input_kind
        if kind not in targets_by_kind:
            targets_by_kind[kind] = await _targets(scope, kind)
        by_interview = targets_by_kind[kind]
        stale = []
        for interview_id, targets in by_interview.items():
            current = all(
                (t.recording_id, extractor.name, extractor.version) in measured
                or (t.recording_id not in per_recording
                    and (interview_id, extractor.name, extractor.version) in legacy)
                for t in targets)
            if not current:
                stale.append(interview_id)
        out.append(StaleExtractor(extractor.name, extractor.version, kind, len(by_interview), stale))
    return out


async def reanalyse(tenant_id: str, extractor: str | None = None, interview_id: str | None = None,
                    all_interviews: bool = False) -> str:
    """The `core.reanalyse` actor. Runs `extractor` (default: every enabled one) over
    `interview_id`'s recordings, or over every interview lacking the extractor's current
    version, or with `all_interviews` over every interview it applies to. Progress is
    reported per interview; a failing extractor is logged and reported in the hook's
    `failed`, and the others go on."""
    tenant = await Tenant.objects().where(Tenant.id == tenant_id).first()
    if tenant is None:
        raise JobRefused(N_("the tenant no longer exists") + f": {tenant_id}")
    scope = TenantScope(tenant.id)
    extractors = {e.name: e for e in await enabled_extractors(tenant.id)}
    if extractor is not None and extractor not in extractors:
        raise JobRefused(N_("the extractor is not installed or not enabled for this tenant") + f": {extractor}")
    chosen = [extractors[extractor]] if extractor else list(extractors.values())
    stale = {s.name: set(s.stale) for s in await stale_analyses(tenant.id)}
    plan: dict[UUID, list[tuple[Any, Target]]] = {}
    for e in chosen:
        for iid, targets in (await _targets(scope, e.input_kind)).items():
            if interview_id is not None and str(iid) != str(interview_id):
                continue
            if interview_id is None and not all_interviews and iid not in stale.get(e.name, set()):
                continue
            plan.setdefault(iid, []).extend((e, t) for t in targets)
    if not plan:
        report_progress(100, N_("nothing to re-analyse"))
        return "0 interviews re-analysed"
    failures = 0
    for number, (iid, steps) in enumerate(plan.items()):
        report_progress(100 * number // len(plan), job_text(INTERVIEWS_DONE, done=number, total=len(plan)))
        succeeded, failed = set(), set()
        for e, target in steps:
            try:
                await run_extractor(tenant, iid, e, target, progress=lambda _p, _m: None)
                succeeded.add(e.name)
            except Exception as exc:  # one recording's failure must not stop the others
                log.warning("reanalysis_step_failed", interview_id=str(iid), extractor=e.name, error=repr(exc))
                failed.add(e.name)
        failures += bool(failed)
        await announce_analysed(tenant.id, iid, succeeded, failed)
    report_progress(100, job_text(INTERVIEWS_DONE, done=len(plan), total=len(plan)))
    return f"{len(plan)} interviews re-analysed" + (f", {failures} with failures" if failures else "")

