"""iCalendar (RFC 5545) invitations for an interview: REQUEST when set or moved, CANCEL when cancelled."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone


def _text(value: str) -> str:
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> str:
    """Lines longer than 75 octets continue on the next line after a space (RFC 5545 3.1)."""
    out, current = [], b""
    for char in line:
        encoded = char.encode()
        if len(current) + len(encoded) > (75 if not out else 74):
            out.append(current.decode())
            current = b""
        current += encoded
    out.append(current.decode())
    return "\r\n ".join(out)


def _utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def interview_event(*, uid: str, sequence: int, starts_at: datetime, minutes: int, summary: str,
                    description: str, url: str, organizer: str, attendee: str, cancelled: bool = False) -> str:
    method = "CANCEL" if cancelled else "REQUEST"
    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//mendan//interviews//EN", f"METHOD:{method}",
        "BEGIN:VEVENT",
        f"UID:{uid}",
        f"SEQUENCE:{sequence}",
        f"DTSTAMP:{_utc(datetime.now(timezone.utc))}",
        f"DTSTART:{_utc(starts_at)}",
        f"DTEND:{_utc(starts_at + timedelta(minutes=minutes))}",
        f"SUMMARY:{_text(summary)}",
        f"DESCRIPTION:{_text(description)}",
        f"URL:{url}",
        f"ORGANIZER:mailto:{organizer}",
        f"ATTENDEE;ROLE=REQ-PARTICIPANT:mailto:{attendee}",
        f"STATUS:{'CANCELLED' if cancelled else 'CONFIRMED'}",
        "END:VEVENT", "END:VCALENDAR",
    ]
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"
