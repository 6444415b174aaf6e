"""Service hours (spec table 5-1), maintenance windows and emergency stops.

Two courses: `weekday` opens interactive services Monday to Friday 9:00-21:00
Asia/Tokyo except Japanese public holidays (substitute holidays included, from
the `holidays` library); `always` is open around the clock. Batch services run at
any time in both. A maintenance window closes the interactive services of every
tenant; an emergency stop closes everything of one tenant or of the whole service.

The rules here are pure functions of a time. What a tenant's course is and which
windows and stops exist is asked of the `ServiceCalendar` that the app assembly
puts in `app.state.service_calendar` (the tenants domain keeps them); without one
the service is always open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import cache
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

import holidays
from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException

from core.tenancy import resolve_tenant
from core.web.errors import problem, wants_html
from core.web.i18n import gettext as _
from core.web.rendering import plain_page

TOKYO = ZoneInfo("Asia/Tokyo")
OPENS, CLOSES = time(9), time(21)
# An emergency stop has no planned end: clients are asked to try again after this long.
STOP_RETRY_SECONDS = 600

HoursClass = Literal["interactive", "batch"]


def now() -> datetime:
    """The current time; tests replace it to fix the clock."""
    return datetime.now(timezone.utc)


@cache
def _japan_holidays(year: int) -> holidays.HolidayBase:
    return holidays.Japan(years=year)


def is_business_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _japan_holidays(day.year)


def in_weekday_hours(at: datetime) -> bool:
    local = at.astimezone(TOKYO)
    return is_business_day(local.date()) and OPENS <= local.time() < CLOSES


def next_weekday_opening(at: datetime) -> datetime:
    """The first 9:00 JST at or after `at` on a business day (or `at` itself when open)."""
    if in_weekday_hours(at):
        return at
    local = at.astimezone(TOKYO)
    day = local.date() if local.time() < OPENS else local.date() + timedelta(days=1)
    while not is_business_day(day):
        day += timedelta(days=1)
    return datetime.combine(day, OPENS, tzinfo=TOKYO)


@dataclass(frozen=True)
class Window:
    starts_at: datetime
    ends_at: datetime
    message: str = ""

    def covers(self, at: datetime) -> bool:
        return self.starts_at <= at < self.ends_at


@dataclass(frozen=True)
class ServiceState:
    """What the calendar knows of one tenant at one time."""

    course: str = "always"
    maintenance: tuple[Window, ...] = ()  # windows that have not ended yet
    stop_message: str | None = None  # an emergency stop of the tenant or the service


@dataclass(frozen=True)
class Closure:
    reason: Literal["hours", "maintenance", "stopped"]
    reopens_at: datetime | None  # None when nobody knows (an emergency stop)
    message: str = ""

    def retry_after(self, at: datetime) -> int:
        if self.reopens_at is None:
            return STOP_RETRY_SECONDS
        return max(1, int((self.reopens_at - at).total_seconds()))


def closure(state: ServiceState, hours_class: HoursClass, at: datetime) -> Closure | None:
    """Why a service of this hours class is closed at `at`, or None when it is open."""
    if state.stop_message is not None:
        return Closure("stopped", None, state.stop_message)
    if hours_class == "batch":
        return None
    current = next((w for w in state.maintenance if w.covers(at)), None)
    if current is not None:
        return Closure("maintenance", _reopening(state, at), current.message)
    if state.course == "weekday" and not in_weekday_hours(at):
        return Closure("hours", _reopening(state, at))
    return None


def _reopening(state: ServiceState, at: datetime) -> datetime:
    """Skip maintenance windows and closed hours until both allow service."""
    moment = at
    while True:
        window = next((w for w in state.maintenance if w.covers(moment)), None)
        if window is not None:
            moment = window.ends_at
        elif state.course == "weekday" and not in_weekday_hours(moment):
            moment = next_weekday_opening(moment)
        else:
            return moment


def slot_closure(state: ServiceState, starts: datetime, ends: datetime) -> Closure | None:
    """Why an interactive service cannot hold the whole slot [starts, ends), or None when it can.

    A maintenance window overlapping the slot, or (weekday course) any part of it outside
    business hours, closes it. An emergency stop does not: it is lifted long before most
    scheduled interviews."""
    for window in state.maintenance:
        if window.starts_at < ends and starts < window.ends_at:
            return Closure("maintenance", window.ends_at, window.message)
    if state.course == "weekday":
        last = ends - timedelta(seconds=1)
        same_day = starts.astimezone(TOKYO).date() == last.astimezone(TOKYO).date()
        if not (in_weekday_hours(starts) and in_weekday_hours(last) and same_day):
            return Closure("hours", next_weekday_opening(starts))
    return None


def next_open_slot(state: ServiceState, starts: datetime, length: timedelta) -> datetime | None:
    """The first start at or after `starts` whose slot of `length` `slot_closure` allows, or None
    when none is found within a year (a slot longer than the opening hours)."""
    moment, limit = starts, starts + timedelta(days=366)
    while moment < limit:
        closed = slot_closure(state, moment, moment + length)
        if closed is None:
            return moment
        if closed.reason == "maintenance":
            moment = closed.reopens_at
        elif in_weekday_hours(moment):  # open now, but the slot runs past closing time
            tomorrow = moment.astimezone(TOKYO).date() + timedelta(days=1)
            moment = next_weekday_opening(datetime.combine(tomorrow, time(0), tzinfo=TOKYO))
        else:
            moment = next_weekday_opening(moment)
    return None


class ServiceCalendar(Protocol):
    async def service_state(self, tenant: Any, at: datetime) -> ServiceState: ...


class ServiceClosed(HTTPException):
    """503 with Retry-After; pages say why and when service opens again."""

    status_code = 503

    def __init__(self, closed: Closure, at: datetime) -> None:
        super().__init__(
            detail=closed.reason, headers={"Retry-After": str(closed.retry_after(at))}
        )
        self.closure = closed


async def ensure_open(connection: ASGIConnection, tenant: Any, hours_class: HoursClass) -> None:
    """Raise `ServiceClosed` when the tenant's service of this class is closed now.

    For handlers that find their tenant without a signed-in user (an interview link)."""
    calendar = connection.app.state.get("service_calendar")
    if calendar is None:
        return
    at = now()
    closed = closure(await calendar.service_state(tenant, at), hours_class, at)
    if closed is not None:
        raise ServiceClosed(closed, at)


def service_guard(hours_class: HoursClass):
    """A guard for `/t/{tenant}/` routes: 503 when the tenant's service of this class is closed.

    Plugin routes get the guard of their plugin's hours class; a handler may add a stricter
    one (a batch plugin's result screen follows the course: `service_guard("interactive")`)."""

    async def guard(connection: ASGIConnection, _handler: Any) -> None:
        await ensure_open(connection, await resolve_tenant(connection), hours_class)

    guard.__name__ = f"service_guard_{hours_class}"
    return guard


def service_closed_answer(request: Request, exc: ServiceClosed) -> Response:
    """The closed page in the user's language for browsers, JSON for API clients."""
    closed = exc.closure
    reopens = closed.reopens_at.astimezone(TOKYO) if closed.reopens_at else None
    if not wants_html(request):
        titles = {"maintenance": _("The service is stopped for planned maintenance."),
                  "stopped": _("The service has been stopped for the time being."),
                  "hours": _("Outside service hours")}
        return problem(503, closed.message or titles[closed.reason], headers=exc.headers, code="service_closed",
                       reason=closed.reason,
                       message=closed.message, reopens_at=reopens.isoformat() if reopens else None)
    response = plain_page(request, "service_closed.html", status_code=503, closure=closed, reopens=reopens)
    response.headers.update(exc.headers)
    return response
