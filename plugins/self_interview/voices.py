"""The avatar's voices rendered when a question set is saved (issue 14, item 3): the job
`self_interview.render_voices` speaks each question of the saved version into the voice cache,
in each language the tenant's interviewees use, so the first interviewee finds them ready. The
rendering when the interviewee's page opens stays as the fallback (a set saved before, a voice
that changed, a cache entry lost)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import structlog

from core.interviews.api import QuestionSetVersion, questions_of
from core.tables import User
from core.tenancy import TenantScope
from core.web import i18n

ACTOR = "self_interview.render_voices"
log = structlog.get_logger("mendan.self_interview")


async def queue_voices(tenant_id: Any, version_id: str) -> UUID:
    """Queue `render_voices` for one saved question set version; returns the job id."""
    from core.runtime import runtime

    return await runtime().tasks.enqueue(ACTOR, tenant_id=tenant_id, version_id=str(version_id))


async def languages_of(scope: TenantScope) -> list[str]:
    """The languages the tenant's interviewees read (sorted); ["ja"] when it has none yet."""
    rows = await scope.select(User, User.language).where(User.role == "interviewee").distinct()
    found = sorted({r["language"] for r in rows if r["language"] in i18n.LANGUAGES})
    return found or ["ja"]


async def render_voices(tenant_id: str, version_id: str) -> str:
    """The actor `self_interview.render_voices`: each question of the version spoken into the
    tenant's voice cache (`speech_synthesis.spoken_text`). A question that cannot be spoken
    (too long, no voice for the language) is skipped and logged: asked for on the interviewee's
    page, it answers with the reason. Returns "N voices ready, M skipped"."""
    from plugins.self_interview.speech_synthesis import SpeechSynthesisError, spoken_text

    scope = TenantScope(UUID(tenant_id))
    version = await scope.get(QuestionSetVersion, UUID(version_id))
    ready = skipped = 0
    for language in await languages_of(scope):
        for question in questions_of(version):
            try:
                await spoken_text(scope.tenant_id, question.text, language)
                ready += 1
            except SpeechSynthesisError as exc:
                log.info("voice_skipped", version_id=version_id, language=language, reason=str(exc))
                skipped += 1
    return f"{ready} voices ready, {skipped} skipped"
