"""The `core.send_mail` actor: the platform's mail delivery, signed with the DKIM key of the
tenant's sender, which the interviews domain keeps; joined here because it needs both."""

from __future__ import annotations

from email import message_from_string, policy
from email.utils import parseaddr

from core.auth.password_reset_mail import send_password_reset
from core.dkim import domain_of
from core.interviews.senders import signer_for
from core.mail import deliver
from core.runtime import runtime


async def send_mail(tenant_id: str | None, message: str, kind: str = "") -> str:
    """Deliver one message (RFC 5322 text), DKIM-signed when the tenant has its own sender;
    `kind` is only read by the sent-mail log (core.mail_log), from the job's arguments.

    Retried by Dramatiq when the server fails; once retries are spent the job is
    marked failed and the admin sees the mail on the tenant's mail page.
    """
    rt = runtime()
    msg = message_from_string(message, policy=policy.SMTP)
    raw = None
    if tenant_id:
        signer = await signer_for(tenant_id, rt.storage)
        if signer is not None and domain_of(parseaddr(str(msg["From"]))[1]) == signer.domain:
            raw = signer.sign(msg.as_bytes())
    return deliver(rt.settings, msg, raw)


CORE_ACTORS = {"core.send_mail": send_mail, "core.send_password_reset": send_password_reset}
