"""Interviews: set up, rescheduled, cancelled, and moved through their states.

Dates are entered and shown in Asia/Tokyo and stored in UTC.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from piccolo.columns.combination import WhereRaw

from core import hours
from core.db.json_columns import json_value
from core.db.tables import User
from core.interviews.tables import INTERVIEW_KINDS, Interview, QuestionSetVersion
from core.runtime import runtime
from core.tenancy import TenantScope
from core.text_input import TextProblem, clean_text
from core.web.i18n import gettext as _

TOKYO = ZoneInfo("Asia/Tokyo")
# The forward path; "cancelled" is reachable from scheduled only.
NEXT_STATE = {"scheduled": "in_progress", "in_progress": "recorded", "recorded": "evaluated",
              "evaluated": "analysed"}


class InterviewProblem(ValueError):
    """The interview cannot be set up or changed like this; the message is for the admin.

    `code` names the rule for API clients (stable, snake_case); `field` is the input it is
    about ("starts_at", "interviewee", ...), None when it is about the interview as a whole."""

    def __init__(self, message: str, *, code: str = "invalid_interview", field: str | None = None) -> None:
        super().__init__(message)
        self.code, self.field = code, field


class InterviewOverlap(InterviewProblem):
    """The interviewer or interviewee already has an interview at that time: said once, and
    accepted when the admin confirms (`allow_overlap`)."""


def _when(moment: datetime) -> str:
    return in_tokyo(moment).strftime("%Y-%m-%d %H:%M")


MAX_DURATION_MINUTES = 24 * 60  # one day; far larger values overflow date arithmetic
MAX_WINDOW_DAYS = 31  # how long an interview without an interviewer may stay open


async def check_slot(scope: TenantScope, *, starts_at: datetime, duration_minutes: int,
                     people: list[Any], service: hours.ServiceState | None, allow_overlap: bool = False,
                     moving: Any = None) -> None:
    """Refuse a slot in the past or outside the tenant's interactive service hours (the message
    suggests the next open slot), and warn (InterviewOverlap) when one of `people` (user ids)
    already takes part in an interview that overlaps it. `service` is the tenant's calendar state
    (None: open around the clock); `moving` is the interview being moved, left out of the overlaps.
    """
    if starts_at <= hours.now():
        raise InterviewProblem(_("The date and time are in the past; choose a time to come."), code="in_the_past",
                               field="starts_at")
    length = timedelta(minutes=duration_minutes)
    if service is not None and hours.slot_closure(service, starts_at, starts_at + length) is not None:
        suggestion = hours.next_open_slot(service, starts_at, length)
        message = _("That time is outside the service hours (or in a maintenance window), so the interview "
                    "could not take place.")
        if suggestion is not None:
            message += " " + _("The next open slot starts at %(when)s (Japan time).") % {"when": _when(suggestion)}
        raise InterviewProblem(message, code="outside_service_hours", field="starts_at")
    if allow_overlap:
        return
    ids = [str(p) for p in people if p]
    ends_at = starts_at + length
    nearby = await scope.objects(Interview).where(
        (Interview.state != "cancelled") & (Interview.starts_at < ends_at)
        & (Interview.starts_at > starts_at - timedelta(days=1)))
    for other in nearby:
        if moving is not None and other.id == moving:
            continue
        overlaps = other.starts_at + timedelta(minutes=other.duration_minutes) > starts_at
        if overlaps and ({str(other.interviewer), str(other.interviewee)} & set(ids)):
            raise InterviewOverlap(_("The interviewer or interviewee already has an interview at %(when)s. "
                                     "Tick \"Schedule even if it overlaps\" to keep both.")
                                   % {"when": _when(other.starts_at)}, code="interview_overlap", field="starts_at")


def window_minutes(starts_at: datetime, ends_at: datetime | None, *, check: bool = True) -> int:
    """The length in whole minutes of a self-interview's window [starts_at, ends_at).

    Raises InterviewProblem when `ends_at` is missing, not after `starts_at`, in the past (when
    `check`), or more than MAX_WINDOW_DAYS after `starts_at`."""
    if ends_at is None:
        raise InterviewProblem(_("A self-interview needs the end of its window (until)."), code="invalid_window",
                               field="ends_at")
    if ends_at <= starts_at:
        raise InterviewProblem(_("The window must end after it opens."), code="invalid_window", field="ends_at")
    if check and ends_at <= hours.now():
        raise InterviewProblem(_("The window has already closed; choose an end to come."), code="in_the_past",
                               field="ends_at")
    if ends_at - starts_at > timedelta(days=MAX_WINDOW_DAYS):
        raise InterviewProblem(_("A self-interview stays open at most %(days)s days.") % {"days": MAX_WINDOW_DAYS},
                               code="invalid_window", field="ends_at")
    return max(1, int((ends_at - starts_at).total_seconds() // 60))


def window_of(interview: Interview) -> tuple[datetime, datetime]:
    """(opens, closes) in UTC: a self-interview's window, or a live interview's slot."""
    return interview.starts_at, interview.starts_at + timedelta(minutes=interview.duration_minutes)


def tokyo_to_utc(local: str) -> datetime:
    """'2026-12-01T10:30' as typed in a datetime-local field, read as Tokyo time."""
    try:
        naive = datetime.fromisoformat(local.strip())
    except ValueError as exc:
        raise InterviewProblem(_("Enter the date and time as YYYY-MM-DD HH:MM."), code="invalid_date") from exc
    if naive.tzinfo is not None:
        return naive.astimezone(timezone.utc)
    return naive.replace(tzinfo=TOKYO).astimezone(timezone.utc)


def in_tokyo(moment: datetime) -> datetime:
    return moment.astimezone(TOKYO)


def experts_of(interview: Interview) -> list[str]:
    value = interview.experts
    return [str(v) for v in (json_value(value) or [])]


async def _person(scope: TenantScope, user_id: Any, roles: tuple[str, ...], what: str, field: str) -> User:
    user = await scope.objects(User).where(User.id == user_id).first() if user_id else None
    if user is None or not user.active or user.role not in roles:
        raise InterviewProblem(_("Choose an active %(what)s.") % {"what": what}, code="invalid_person", field=field)
    return user


async def schedule_interview(scope: TenantScope, *, kind: str, starts_at: datetime, interviewee_id: Any,
                             interviewer_id: Any, expert_ids: list[Any], version_id: Any,
                             title: str = "", duration_minutes: int = 60,
                             service: hours.ServiceState | None = None, allow_overlap: bool = False,
                             check: bool = True, ends_at: datetime | None = None) -> Interview:
    """A new scheduled interview, after `check_slot` (past, service hours, overlaps) unless
    `check` is False (demo data and imports of interviews already held).

    A self-interview has a window instead of a slot: the interviewee takes it any time from
    `starts_at` until `ends_at` (stored as `starts_at` and the window's length in minutes, at
    most MAX_WINDOW_DAYS); `ends_at` must lie ahead, and neither service hours (the personal link
    says when the service opens) nor overlaps are checked.

    Tells the tenant's plugins and domains (`mendan_interview_scheduled`) once it is stored.
    Raises InterviewProblem (InterviewOverlap for a double booking) with a message for the admin."""
    if kind not in INTERVIEW_KINDS:
        raise InterviewProblem(_("Choose live or self interview."), code="invalid_kind", field="kind")
    if kind == "self":
        duration_minutes = window_minutes(starts_at, ends_at, check=check)
    if duration_minutes <= 0:
        raise InterviewProblem(_("The duration must be positive."), code="invalid_duration", field="duration_minutes")
    if kind != "self" and duration_minutes > MAX_DURATION_MINUTES:
        raise InterviewProblem(_("An interview lasts at most %(minutes)s minutes.") % {"minutes": MAX_DURATION_MINUTES},
                               code="invalid_duration", field="duration_minutes")
    interviewee = await _person(scope, interviewee_id, ("interviewee",), _("interviewee"), "interviewee")
    interviewer = None
    if kind == "live" or interviewer_id:
        interviewer = await _person(scope, interviewer_id, ("interviewer", "expert", "admin"), _("interviewer"),
                                    "interviewer")
    # An expert named twice (an API client's list) takes part, and is mailed, once.
    unique_experts = dict.fromkeys(str(e) for e in expert_ids if e)
    experts = [await _person(scope, e, ("expert",), _("expert interviewer"), "experts") for e in unique_experts]
    version = await scope.get(QuestionSetVersion, version_id)
    try:
        title = clean_text(title, label=_("Title"))
    except TextProblem as exc:
        raise InterviewProblem(str(exc), code="invalid_title", field="title") from exc
    if check and kind != "self":
        await check_slot(scope, starts_at=starts_at, duration_minutes=duration_minutes, service=service,
                         people=[interviewee.id, interviewer.id if interviewer else None],
                         allow_overlap=allow_overlap)
    interview = await scope.add(Interview(
        title=title, kind=kind, starts_at=starts_at, duration_minutes=duration_minutes,
        interviewer=interviewer.id if interviewer else None, interviewee=interviewee.id,
        experts=[str(e.id) for e in experts], question_set_version=version.id,
    ))
    await runtime().host.call_for_tenant("mendan_interview_scheduled", tenant_id=scope.tenant_id,
                                         interview_id=interview.id)
    return interview


async def reschedule(scope: TenantScope, interview: Interview, starts_at: datetime,
                     service: hours.ServiceState | None = None, allow_overlap: bool = False) -> Interview:
    """Move a scheduled interview, under the same `check_slot` rules as a new one."""
    if interview.state != "scheduled":
        raise InterviewProblem(_("Only a scheduled interview can be moved."), code="not_scheduled")
    await check_slot(scope, starts_at=starts_at, duration_minutes=interview.duration_minutes, service=service,
                     people=[interview.interviewee, interview.interviewer], allow_overlap=allow_overlap,
                     moving=interview.id)
    # SEQUENCE is incremented by the database: two moves at once still give two numbers.
    rows = await scope.update(Interview, {Interview.starts_at: starts_at, Interview.sequence: Interview.sequence + 1,
                                          Interview.reminder_sent_at: None}).where(
        Interview.id == interview.id).returning(Interview.sequence)
    interview.starts_at, interview.sequence = starts_at, rows[0]["sequence"]
    return interview


async def cancel(scope: TenantScope, interview: Interview) -> Interview:
    if interview.state != "scheduled":
        raise InterviewProblem(_("Only a scheduled interview can be cancelled."), code="not_scheduled")
    # Only a scheduled row is cancelled, so two cancels at once mail once.
    rows = await scope.update(Interview, {Interview.state: "cancelled", Interview.sequence: Interview.sequence + 1}).where(
        (Interview.id == interview.id) & (Interview.state == "scheduled")).returning(Interview.sequence)
    if not rows:
        raise InterviewProblem(_("Only a scheduled interview can be cancelled."), code="not_scheduled")
    interview.state, interview.sequence = "cancelled", rows[0]["sequence"]
    return interview


async def advance(scope: TenantScope, interview: Interview, to: str) -> bool:
    """Move forwards to `to` when that is later than the current state; never backwards."""
    order = list(NEXT_STATE) + ["analysed"]
    if interview.state not in order or order.index(to) <= order.index(interview.state):
        return False
    await scope.update(Interview, {Interview.state: to}).where(Interview.id == interview.id)
    interview.state = to
    return True


async def mark_finished(scope: TenantScope, interview: Interview) -> bool:
    """The interviewee is done with `interview` (a self-interview's finish): from now on the
    upload API refuses new recordings (409, "This interview has ended."); uploads already started
    may complete. Returns False when it was already marked (a concurrent finish, say)."""
    now = datetime.now(timezone.utc)
    moved = await scope.update(Interview, {Interview.finished_at: now}).where(
        (Interview.id == interview.id) & Interview.finished_at.is_null()).returning(Interview.id)
    if moved:
        interview.finished_at = now
    return bool(moved)


def may_see(user: User, interview: Interview) -> bool:
    """Admins see all; others see the interviews they take part in (interviewer, assigned expert,
    interviewee). Every route and export that reaches an interview's data asks this, plugins'
    included (through `core.interviews.api`): another interview answers as one of another tenant."""
    if user.role == "admin":
        return True
    uid = str(user.id)
    return uid in (str(interview.interviewer), str(interview.interviewee)) or uid in experts_of(interview)


# Evaluated or analysed: over for the participants. A "recorded" interview may still be going on
# (a live room records in segments, a self-interview may be recorded again), so the room window
# decides for it. Not for a self-interview: its first answers are analysed (and may be evaluated)
# while the rest are still to come; its window and its own finish end it.
ENDED_STATES = ("evaluated", "analysed")


def closed_for_participants(interview: Interview, at: datetime, opens_before: timedelta,
                            closes_after: timedelta) -> tuple[str, datetime | None] | None:
    """Why a participant's link cannot lead into this interview at `at`, or None when it can.

    ("cancelled" | "ended" | "too_early" | "too_late", the time the room opens for "too_early").
    The room is open from `opens_before` before the slot to `closes_after` after its end; a
    self-interview exactly within its window, whatever its state (its answers are analysed one
    by one while it goes on; the self_interview plugin ends it at its finish)."""
    if interview.state == "cancelled":
        return ("cancelled", None)
    if interview.state in ENDED_STATES and interview.kind != "self":
        return ("ended", None)
    if interview.kind == "self":
        opens, closes = window_of(interview)
        if at < opens:
            return ("too_early", opens)
        return ("too_late", None) if at >= closes else None
    opens = interview.starts_at - opens_before
    if at < opens:
        return ("too_early", opens)
    if at > interview.starts_at + timedelta(minutes=interview.duration_minutes) + closes_after:
        return ("too_late", None)
    return None


def visible_interviews(scope: TenantScope, user: User) -> Any:
    """A query (`scope.objects(Interview)`) of the interviews `user` may see (`may_see`): all for
    an admin, else those they take part in; callers add filters, order and limits."""
    query = scope.objects(Interview)
    if user.role != "admin":
        query = query.where((Interview.interviewer == user.id) | (Interview.interviewee == user.id)
                            | WhereRaw("CAST(experts AS TEXT) LIKE {}", f'%"{user.id}"%'))
    return query


async def visible_interview_ids(scope: TenantScope, user: User) -> set[str] | None:
    """The ids (text) of the interviews `user` takes part in (`may_see`); None for an admin, who
    sees every interview of the tenant: filter with it only where it is not None."""
    if user.role == "admin":
        return None
    return {str(r.id) for r in await visible_interviews(scope, user) if may_see(user, r)}
