"""The interviews domain's lists on a staff member's home page: their upcoming interviews (all
the tenant's for an admin) and the held interviews waiting for their evaluation."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from core.interviews.evaluations import awaiting_evaluation
from core.interviews.schedule import in_tokyo, visible_interviews
from core.interviews.tables import Interview
from core.plugins import HomeSection
from core.tenancy import TenantScope

ROWS = 5


def _row(interview: Interview) -> tuple[str, str]:
    when = in_tokyo(interview.starts_at).strftime("%Y-%m-%d %H:%M")
    return f"{when} {interview.title}".strip(), f"interviews/{interview.id}"


async def home_sections(tenant: Any, user: Any) -> list[HomeSection]:
    """Upcoming interviews (scheduled, not yet started, soonest first, times in Japan time; all
    the tenant's for an admin) and, for an interviewer or expert, the held interviews waiting for
    their evaluation."""
    scope = TenantScope(tenant.id)
    rows = await visible_interviews(scope, user).where(
        (Interview.state == "scheduled") & (Interview.starts_at >= datetime.now(timezone.utc))
    ).order_by(Interview.starts_at).limit(ROWS)
    sections = [HomeSection("今後の面談（日本時間）", "Upcoming interviews (Japan time)",
                            tuple(_row(r) for r in rows), "interviews/",
                            empty_ja="予定された面談はありません。", empty_en="No interviews are scheduled.", order=10)]
    if user.role in ("interviewer", "expert"):
        interviewer = user.role == "interviewer"
        waiting, count = await awaiting_evaluation(scope, user, limit=ROWS, offset=0, as_interviewer=interviewer)
        sections.append(HomeSection("評価待ちの面談", "Interviews waiting for my evaluation",
                                    tuple(_row(r) for r in waiting),
                                    "interviews/" if interviewer else "interviews/to-evaluate", count,
                                    empty_ja="評価待ちの面談はありません。",
                                    empty_en="No interview is waiting for your evaluation.", order=20))
    return sections
