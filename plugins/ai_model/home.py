"""ai_model's list on an admin's home page: interviews whose AI scores wait for a person to
confirm or override them."""

from __future__ import annotations

from typing import Any

from core.interviews.api import Interview, in_tokyo
from core.plugins import HomeSection
from plugins.ai_model.tables import Prediction

ROWS = 5


async def unconfirmed_section(tenant: Any) -> HomeSection:
    """The interviews with unconfirmed predictions, newest prediction first, and how many."""
    waiting = (Prediction.tenant == tenant.id) & (Prediction.status == "unconfirmed")
    total = len(await Prediction.select(Prediction.interview_id).where(waiting).distinct())
    # One interview has a prediction per item: the newest rows hold the newest few interviews.
    newest = await Prediction.select(Prediction.interview_id).where(waiting) \
        .order_by(Prediction.created_at, ascending=False).limit(ROWS * 20)
    ids = list(dict.fromkeys(r["interview_id"] for r in newest))
    shown = {i.id: i for i in await Interview.objects().where(
        (Interview.tenant == tenant.id) & Interview.id.is_in(ids[:ROWS]))} if ids else {}
    lines = tuple((f"{in_tokyo(shown[i].starts_at).strftime('%Y-%m-%d %H:%M')} {shown[i].title}".strip(),
                   f"interviews/{i}") for i in ids[:ROWS] if i in shown)
    return HomeSection("確認待ちのAIスコア", "AI scores waiting for confirmation", lines, "ai_model/", total,
                       empty_ja="確認待ちのAIスコアはありません。", empty_en="No AI score is waiting for confirmation.",
                       order=30)
