"""iCalendar (RFC 5545) invitations for an interview: REQUEST when set or moved, CANCEL when cancelled.

Built with the `icalendar` library, which escapes text values and folds long lines; the result
has CRLF line ends throughout, as RFC 5545 3.1 requires.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta, timezone

import icalendar

from core.text_input import one_line

LINE_BREAKS = re.compile(r"\r\n|\r|\n")


def _text(value: str) -> str:
    """A one-line value: a line break (or other control character) left in an old title would
    otherwise start a property of its own."""
    return one_line(value)


def _paragraphs(value: str) -> str:
    """A multi-line TEXT value: every line break as LF (the library escapes it as `\\n`); other
    control characters, which RFC 5545 TEXT may not hold, dropped."""
    return "".join(c for c in LINE_BREAKS.sub("\n", value) if c == "\n" or unicodedata.category(c) != "Cc")


def interview_event(*, uid: str, sequence: int, starts_at: datetime, minutes: int, summary: str,
                    description: str, url: str, organizer: str, attendee: str, cancelled: bool = False) -> bytes:
    """The invitation as UTF-8 bytes with CRLF line ends: one VEVENT in a VCALENDAR with
    METHOD REQUEST (or CANCEL, STATUS CANCELLED)."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//mendan//interviews//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "REQUEST")
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("sequence", sequence)
    event.add("dtstamp", datetime.now(timezone.utc))
    event.add("dtstart", starts_at.astimezone(timezone.utc))
    event.add("dtend", (starts_at + timedelta(minutes=minutes)).astimezone(timezone.utc))
    event.add("summary", _text(summary))
    event.add("description", _paragraphs(description))
    event.add("url", _text(url))
    event.add("organizer", icalendar.vCalAddress(f"mailto:{_text(organizer)}"))
    event.add("attendee", icalendar.vCalAddress(f"mailto:{_text(attendee)}"), parameters={"ROLE": "REQ-PARTICIPANT"})
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    calendar.add_component(event)
    return calendar.to_ical()
