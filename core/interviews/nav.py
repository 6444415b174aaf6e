"""The interviews domain's links in the tenant navigation, by role."""

from __future__ import annotations

from typing import Any

from core.plugins import NavItem

INTERVIEWS = NavItem(path="interviews", label_ja="面談", label_en="Interviews", order=10)
ADMIN_ITEMS = (
    NavItem(path="people", label_ja="利用者", label_en="People", order=20),
    NavItem(path="question-sets", label_ja="質問セット", label_en="Question sets", order=30),
    NavItem(path="imports/", label_ja="過去の面談の取り込み", label_en="Import past interviews", order=40),
    NavItem(path="mail", label_ja="メール設定", label_en="Mail settings", order=850),
    NavItem(path="attributes/", label_ja="保護属性", label_en="Protected attributes", order=860),
)
TO_EVALUATE = NavItem(path="interviews/to-evaluate", label_ja="評価待ち", label_en="Waiting for my evaluation", order=15)
SELF_DECLARATION = NavItem(path="attributes/me", label_ja="属性の任意回答", label_en="My attributes", order=860)


def interview_nav(user: Any) -> list[NavItem]:
    if user is None:
        return []
    if user.role == "interviewee":
        return [INTERVIEWS, SELF_DECLARATION]
    if user.role == "expert":
        return [INTERVIEWS, TO_EVALUATE]
    return [INTERVIEWS, *ADMIN_ITEMS] if user.role == "admin" else [INTERVIEWS]
