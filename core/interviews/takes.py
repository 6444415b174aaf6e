"""Retakes: an answer taken again replaces the earlier take everywhere results are made.

A superseded take keeps its recording, transcript and features stored (until retention
deletes the interview), but its state is "superseded", so analysis, re-analysis,
transcription, transcripts and the interview's features read the newest take only.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from core.interviews.tables import Recording


async def supersede_earlier_takes(scope: Any, recording_id: UUID) -> list[UUID]:
    """Mark every earlier complete take of the same question of the same interview
    (lower `Recording.sequence`) "superseded" by `recording_id`, and re-aggregate the
    interview's features without them. Returns the ids of the takes superseded (none for a
    recording without a `question_key`).

    `scope` is the tenant's `TenantScope`; raises `litestar.exceptions.NotFoundException`
    for a recording of another tenant or none.
    """
    from core.features import supersede_recordings
    from core.interviews.analysis import enabled_extractors

    newest = await scope.get(Recording, recording_id)
    if newest.question_key is None:
        return []
    earlier = [r["id"] for r in await scope.select(Recording, Recording.id).where(
        (Recording.interview == newest.interview) & (Recording.question_key == newest.question_key)
        & (Recording.sequence < newest.sequence) & (Recording.state == "complete"))]
    if not earlier:
        return []
    await scope.update(Recording, {Recording.state: "superseded"}).where(Recording.id.is_in(earlier))
    await supersede_recordings(scope, newest.interview, earlier, await enabled_extractors(scope.tenant_id))
    return earlier
