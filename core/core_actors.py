"""The core's own background tasks, declared like a plugin's: `core.{task}`."""

from __future__ import annotations

from email import message_from_string, policy

from core.config import get_settings
from core.mail import deliver


def send_mail(tenant_id: str | None, message: str) -> str:
    """Deliver one message (RFC 5322 text); retried by Dramatiq when the server fails."""
    return deliver(get_settings(), message_from_string(message, policy=policy.SMTP))


CORE_ACTORS = {"core.send_mail": send_mail}
