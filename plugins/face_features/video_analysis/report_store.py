"""The stored reports: one per tenant and audience, read by the page, computed ahead of it.

A report is computed when an interview's analysis finishes, an expert's evaluation or a question
set is saved (the `video_analysis.refresh` job, queued by the plugin's hooks), and otherwise on
the first view that finds none (old data) or finds its inputs changed. Whether they changed is
told by a fingerprint of everything the report is made of (`inputs_stamp`), read on each view
with a few aggregate queries, so a change that no hook announces (an import, a retake's
re-aggregation) is never shown stale either.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import structlog
from piccolo.query.functions.aggregate import Count, Max

from core.db.constraints import retry_on_conflict, write_transaction
from core.interviews.api import Evaluation, QuestionSetVersion, visible_interview_ids
from core.tables import FeatureValue, User, json_value
from core.tenancy import TenantScope
from plugins.face_features.video_analysis.report_data import EXTRACTOR
from plugins.face_features.video_analysis.report_content import FORMAT, compute_report
from plugins.face_features.video_analysis.tables import VideoAnalysisReport

log = structlog.get_logger("video_analysis")

ALL = "all"  # the audience of admins: every interview of the tenant


def audience_of(user: Any, visible: set[str] | None) -> str:
    """ALL for a reader who sees every interview (`visible` None), else "user:{id}"."""
    return ALL if visible is None else f"user:{user.id}"


async def inputs_stamp(scope: TenantScope, visible: set[str] | None) -> str:
    """A fingerprint (hex) of what a report for these interviews is made of: the interview-level
    face features (rewritten whole at each aggregation, so their count and newest time move), the
    expert evaluations (count, newest change), the question set versions (item names), the
    interviews the reader sees, and FORMAT. The features' aggregate reads every feature row of the
    tenant (measured on SQLite: 10 ms for 60 interviews, 65 ms for 1,000), the others are small."""
    features = await scope.select(FeatureValue, Count(), Max(FeatureValue.created_at)).where(
        (FeatureValue.extractor == EXTRACTOR) & FeatureValue.recording_id.is_null())
    evaluations = await scope.select(Evaluation, Count(), Max(Evaluation.updated_at)).where(
        Evaluation.evaluator_role == "expert")
    versions = await scope.select(QuestionSetVersion, Count(), Max(QuestionSetVersion.created_at))
    parts = [f"format={FORMAT}", *(f"{row['count']}@{_instant(row['max'])}" for row in
                                   (features[0], evaluations[0], versions[0]))]
    parts.append("all" if visible is None else ",".join(sorted(visible)))
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def _instant(value: Any) -> str:
    """A newest-change time as one text whatever the database gave (datetime, or SQLite's text)."""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    return str(value)


async def _stored(scope: TenantScope, audience: str) -> VideoAnalysisReport | None:
    return await scope.objects(VideoAnalysisReport).where(VideoAnalysisReport.audience == audience).first()


async def _store(scope: TenantScope, audience: str, inputs: str, content: dict[str, Any]) -> None:
    """Replace the audience's report (one row per tenant and audience, by a unique index: of two
    writers at once, the second finds the first's row and updates it)."""
    values = {VideoAnalysisReport.inputs: inputs, VideoAnalysisReport.report: content,
              VideoAnalysisReport.computed_at: datetime.now(timezone.utc)}

    async def write() -> None:
        async with write_transaction():
            updated = await scope.update(VideoAnalysisReport, values).where(
                VideoAnalysisReport.audience == audience).returning(VideoAnalysisReport.id)
            if not updated:
                await scope.add(VideoAnalysisReport(audience=audience, inputs=inputs, report=content))

    await retry_on_conflict(write)


@dataclass(frozen=True)
class CurrentReport:
    content: dict[str, Any]  # report_content's shape
    computed_at: datetime
    computed_now: bool  # False: read as stored


async def current_report(scope: TenantScope, audience: str, visible: set[str] | None) -> CurrentReport:
    """The audience's report over `visible` (None: every interview): the stored one while its
    inputs are unchanged, else computed now and stored. The fingerprint is taken before the
    inputs are read, so a change made while computing leaves a stale fingerprint behind
    (computed again next time), never a stale report under a fresh fingerprint."""
    stamp = await inputs_stamp(scope, visible)
    row = await _stored(scope, audience)
    if row is not None and row.inputs == stamp:
        return CurrentReport(json_value(row.report), row.computed_at, computed_now=False)
    content = await compute_report(scope, visible)
    await _store(scope, audience, stamp, content)
    log.info("video_analysis_report_computed", tenant=str(scope.tenant_id), audience=audience,
             interviews=content["interviews"], reason="missing" if row is None else "inputs_changed")
    return CurrentReport(content, datetime.now(timezone.utc), computed_now=True)


async def report_for(scope: TenantScope, user: Any) -> CurrentReport:
    """The report `user` (an admin or an expert) may read."""
    visible = await visible_interview_ids(scope, user)
    return await current_report(scope, audience_of(user, visible), visible)


async def refresh(tenant_id: str) -> str:
    """The `video_analysis.refresh` job: bring the tenant's reports up to date, the admins' and
    each expert's (over their own interviews), so that every reader's first view finds one; a
    report already up to date is left as it is. Reports of people who are no longer experts go.
    Returns what it did."""
    scope = TenantScope(tenant_id)
    experts = {f"user:{user.id}": user for user in await scope.objects(User).where(User.role == "expert")}
    stored = {row["audience"] for row in await scope.select(VideoAnalysisReport, VideoAnalysisReport.audience)}
    for gone in stored - experts.keys() - {ALL}:
        await scope.delete(VideoAnalysisReport).where(VideoAnalysisReport.audience == gone)
    computed = (await current_report(scope, ALL, None)).computed_now
    for audience, expert in experts.items():
        visible = await visible_interview_ids(scope, expert)
        computed += (await current_report(scope, audience, visible)).computed_now
    return f"{computed} of {1 + len(experts)} video analysis reports computed"
