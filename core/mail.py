"""Outgoing mail: written to the outbox folder by default, or sent by SMTP with STARTTLS.

Credentials are never sent over a connection that is not encrypted: with a
user in SMTP_URL, a server that does not offer STARTTLS is refused.
"""

from __future__ import annotations

import smtplib
import ssl
import uuid
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, make_msgid, parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import structlog

from core.config import Settings
from core.text_input import one_line

log = structlog.get_logger("mendan.mail")


class MailError(Exception):
    pass


def build_message(*, sender: str, to: str, subject: str, text: str, html: str | None = None) -> EmailMessage:
    """One message; every mail's subject goes through here (the one place its header is made)."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = one_line(subject)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "mendan.localhost")
    msg.set_content(text)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    return msg


async def queue_mail(tasks: Any, *, tenant_id: Any, message: EmailMessage | str, kind: str) -> Any:
    """Queue `message` as the `core.send_mail` job of `tenant_id` (None: no tenant); `kind` names
    the mail in the tenant's sent-mail log (core.mail_log), e.g. "interview_scheduled". Returns
    the job id."""
    text = message if isinstance(message, str) else message.as_string()
    return await tasks.enqueue("core.send_mail", tenant_id=tenant_id, message=text, kind=kind)


def deliver(settings: Settings, msg: EmailMessage, raw: bytes | None = None) -> str:
    """Send one message; returns where it went (an outbox path or the SMTP host).

    `raw`, when given, is sent byte for byte instead of `msg` flattened again: a
    DKIM signature covers the exact bytes it was made over.
    """
    data = raw if raw is not None else msg.as_bytes(policy=policy.SMTP)
    if settings.smtp_url:
        return _send_smtp(settings.smtp_url, msg, data, settings.smtp_ca_file)
    return str(_write_outbox(settings.outbox_dir, msg, data))


def _write_outbox(outbox: Path, msg: EmailMessage, data: bytes) -> Path:
    outbox.mkdir(parents=True, exist_ok=True)
    path = outbox / f"{uuid.uuid4().hex}.eml"
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.rename(path)  # readers never see half a message
    log.info("mail_written", path=str(path), to=msg["To"])
    return path


def _recipients(msg: EmailMessage) -> list[str]:
    fields = [str(v) for name in ("To", "Cc") for v in msg.get_all(name, [])]
    return [address for _name, address in getaddresses(fields) if address]


def _send_smtp(url: str, msg: EmailMessage, data: bytes, cafile: str | None = None) -> str:
    parsed = urlparse(url)
    host, port = parsed.hostname or "localhost", parsed.port or 587
    context = ssl.create_default_context(cafile=cafile)
    with smtplib.SMTP(host, port, timeout=30) as smtp:
        smtp.ehlo()
        if smtp.has_extn("starttls"):
            smtp.starttls(context=context)
            smtp.ehlo()
        elif parsed.username:
            raise MailError(f"{host} offers no STARTTLS; refusing to send credentials in clear text")
        if parsed.username:
            smtp.login(unquote(parsed.username), unquote(parsed.password or ""))
        smtp.sendmail(parseaddr(str(msg["From"]))[1], _recipients(msg), data)
    log.info("mail_sent", host=host, to=msg["To"])
    return host
