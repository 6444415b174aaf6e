"""Interviews: set up, rescheduled, cancelled, and moved through their states.

Dates are entered and shown in Asia/Tokyo and stored in UTC.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from core.db.json_columns import json_value
from core.db.tables import User
from core.interviews.tables import INTERVIEW_KINDS, Interview, QuestionSetVersion
from core.tenancy import TenantScope
from core.web.i18n import gettext as _

TOKYO = ZoneInfo("Asia/Tokyo")
# The forward path; "cancelled" is reachable from scheduled only.
NEXT_STATE = {"scheduled": "in_progress", "in_progress": "recorded", "recorded": "evaluated",
              "evaluated": "analysed"}


class InterviewProblem(ValueError):
    pass


def tokyo_to_utc(local: str) -> datetime:
    """'2026-12-01T10:30' as typed in a datetime-local field, read as Tokyo time."""
    try:
        naive = datetime.fromisoformat(local.strip())
    except ValueError as exc:
        raise InterviewProblem(_("Enter the date and time as YYYY-MM-DD HH:MM.")) from exc
    if naive.tzinfo is not None:
        return naive.astimezone(timezone.utc)
    return naive.replace(tzinfo=TOKYO).astimezone(timezone.utc)


def in_tokyo(moment: datetime) -> datetime:
    return moment.astimezone(TOKYO)


def experts_of(interview: Interview) -> list[str]:
    value = interview.experts
    return [str(v) for v in (json_value(value) or [])]


async def _person(scope: TenantScope, user_id: Any, roles: tuple[str, ...], what: str) -> User:
    user = await scope.objects(User).where(User.id == user_id).first() if user_id else None
    if user is None or not user.active or user.role not in roles:
        raise InterviewProblem(_("Choose an active %(what)s.") % {"what": what})
    return user


async def schedule_interview(scope: TenantScope, *, kind: str, starts_at: datetime, interviewee_id: Any,
                             interviewer_id: Any, expert_ids: list[Any], version_id: Any,
                             title: str = "", duration_minutes: int = 60) -> Interview:
    if kind not in INTERVIEW_KINDS:
        raise InterviewProblem(_("Choose live or self interview."))
    if duration_minutes <= 0:
        raise InterviewProblem(_("The duration must be positive."))
    interviewee = await _person(scope, interviewee_id, ("interviewee",), _("interviewee"))
    interviewer = None
    if kind == "live" or interviewer_id:
        interviewer = await _person(scope, interviewer_id, ("interviewer", "expert", "admin"), _("interviewer"))
    experts = [await _person(scope, e, ("expert",), _("expert interviewer")) for e in expert_ids if e]
    version = await scope.get(QuestionSetVersion, version_id)
    return await scope.add(Interview(
        title=title.strip()[:200], kind=kind, starts_at=starts_at, duration_minutes=duration_minutes,
        interviewer=interviewer.id if interviewer else None, interviewee=interviewee.id,
        experts=[str(e.id) for e in experts], question_set_version=version.id,
    ))


async def reschedule(scope: TenantScope, interview: Interview, starts_at: datetime) -> Interview:
    if interview.state != "scheduled":
        raise InterviewProblem(_("Only a scheduled interview can be moved."))
    interview.starts_at, interview.sequence = starts_at, interview.sequence + 1
    await scope.update(Interview, {Interview.starts_at: starts_at, Interview.sequence: interview.sequence,
                                   Interview.reminder_sent_at: None}).where(Interview.id == interview.id)
    return interview


async def cancel(scope: TenantScope, interview: Interview) -> Interview:
    if interview.state != "scheduled":
        raise InterviewProblem(_("Only a scheduled interview can be cancelled."))
    interview.state, interview.sequence = "cancelled", interview.sequence + 1
    await scope.update(Interview, {Interview.state: "cancelled", Interview.sequence: interview.sequence}).where(
        Interview.id == interview.id)
    return interview


async def advance(scope: TenantScope, interview: Interview, to: str) -> bool:
    """Move forwards to `to` when that is later than the current state; never backwards."""
    order = list(NEXT_STATE) + ["analysed"]
    if interview.state not in order or order.index(to) <= order.index(interview.state):
        return False
    await scope.update(Interview, {Interview.state: to}).where(Interview.id == interview.id)
    interview.state = to
    return True


def may_see(user: User, interview: Interview) -> bool:
    """Admins see all; others see the interviews they take part in."""
    if user.role == "admin":
        return True
    uid = str(user.id)
    return uid in (str(interview.interviewer), str(interview.interviewee)) or uid in experts_of(interview)
