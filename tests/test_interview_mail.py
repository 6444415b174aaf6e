"""Interview mail (issue 4, point 4): STARTTLS delivery to a real SMTP server, each person in
their language with date, personal link and iCalendar; DKIM that verifies; failures shown to the admin."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import ipaddress
import json
import re
import socket
import ssl
from dataclasses import replace
from email import policy
from pathlib import Path

import dkim
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from litestar.testing import AsyncTestClient

from mendan.app import create_app
from core.db.tables import Job
from core.interviews.notifications import interview_mail, notify
from core.interviews.reminders import send_due_reminders
from core.interviews.senders import set_sender
from core.mail import MailError, build_message, deliver
from tests.conftest import HTML, login
from tests.interview_fixtures import make_interview, open_link


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mail.test")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "smtp.crt", folder / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class Inbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.tls_used: list[bool] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope.original_content or envelope.content)
        self.tls_used.append(session.ssl is not None)
        return "250 OK"


def accept_login(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"mendan" and auth_data.password == b"s3cret"
    return AuthResult(success=ok)


@pytest.fixture
def smtp_server(tmp_path):
    cert, key = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True,
                            authenticator=accept_login, auth_require_tls=True)
    controller.start()
    yield inbox, port, cert
    controller.stop()


async def wait_for(predicate, seconds: float = 30.0):
    for _ in range(int(seconds * 10)):
        if predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("timed out")


def parts(raw: bytes):
    msg = email.message_from_bytes(raw, policy=policy.default)
    body = msg.get_body(("plain",)).get_content()
    calendar = next(p for p in msg.iter_attachments() if p.get_content_type() == "text/calendar")
    return msg, body, calendar.get_content()


async def test_scheduling_mail_reaches_a_starttls_server_signed_with_the_tenants_dkim_key(app, 
        settings, host, make_tenant, make_user, smtp_server, monkeypatch):
    inbox, port, cert = smtp_server
    smtp_settings = replace(settings, smtp_url=f"smtp://mendan:s3cret@127.0.0.1:{port}", smtp_ca_file=str(cert))
    app = create_app(smtp_settings, host=host)
    async with AsyncTestClient(app, base_url="http://testserver.local") as client:
        tenant = await make_tenant()
        setup = await make_interview(tenant, make_user, starts_in=dt.timedelta(days=2))
        await set_sender(setup["scope"], app.state.storage, tenant, "interviews@example-tenant.jp")
        await notify(setup["scope"], smtp_settings, app.state.tasks, tenant, setup["interview"], "scheduled")
        await wait_for(lambda: len(inbox.messages) == 2)
        assert inbox.tls_used == [True, True]

        await login(client, tenant, setup["admin"])
        page = (await client.get(f"/t/{tenant.slug}/mail", headers=HTML)).text
        published = re.search(r'<code>([^<]+\._domainkey\.example-tenant\.jp)</code>.*?<code class="dns-value">([^<]+)</code>',
                              page, re.S)
        assert published, page
        assert "v=spf1 a:127.0.0.1 ~all" in page
        record_name, shown = published.group(1), published.group(2).replace("&#34;", '"')
        strings = re.findall(r'"([^"]*)"', shown)
        assert len(strings) == 2 and all(len(s.encode()) <= 255 for s in strings)
        assert "255" in page  # the note on the split value
        record_value = "".join(strings)  # what a resolver hands the verifier

        def dnsfunc(name, timeout=5):
            return record_value.encode() if name.decode().rstrip(".") == record_name else None

        by_person = {}
        for raw in inbox.messages:
            assert dkim.verify(raw, dnsfunc=dnsfunc)
            tampered = raw.replace(b"Subject: ", b"Subject: [changed] ", 1)
            assert not dkim.verify(tampered, dnsfunc=dnsfunc)
            msg, body, calendar = parts(raw)
            by_person[msg["To"]] = (msg, body, calendar)

        interview = setup["interview"]
        tokyo = interview.starts_at.astimezone(dt.timezone(dt.timedelta(hours=9))).strftime("%Y-%m-%d")
        msg, body, calendar = by_person[setup["interviewee"].email]
        assert msg["Subject"].startswith(f"【{tenant.name}】オンライン面談のご案内") and tokyo in msg["Subject"]
        assert msg["From"] == "interviews@example-tenant.jp"
        link = re.search(r"http://\S+/join/\S+", body).group(0)
        assert f"interview={interview.id}" in link
        assert "METHOD:REQUEST" in calendar and f"UID:{interview.id}@mendan" in calendar
        assert f"DTSTART:{interview.starts_at.astimezone(dt.timezone.utc):%Y%m%dT%H%M%SZ}" in calendar
        msg, body, calendar = by_person[setup["interviewer"].email]
        assert msg["Subject"].startswith(f"[{tenant.name}] Invitation: your online interview") and "(Japan time)" in body
        assert f"/interviews/{interview.id}" in body

        # The personal link from the mail signs the interviewee in, at the interview's time.
        monkeypatch.setattr("core.hours.now", lambda: interview.starts_at - dt.timedelta(minutes=5))
        joined = await open_link(client, link.replace(smtp_settings.base_url, ""))
        assert joined.status_code in (302, 303) and joined.headers["location"].endswith("/consent")


async def test_credentials_are_never_sent_to_a_server_without_starttls(settings):
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        plain = replace(settings, smtp_url=f"smtp://mendan:s3cret@127.0.0.1:{port}")
        msg = build_message(sender="a@example.jp", to="b@example.jp", subject="x", text="y")
        with pytest.raises(MailError, match="STARTTLS"):
            await asyncio.to_thread(deliver, plain, msg)
        assert inbox.messages == []
    finally:
        controller.stop()


async def test_a_mail_that_finally_fails_is_shown_to_the_admin(app, settings, host, make_tenant, make_user):
    broken = replace(settings, smtp_url=f"smtp://127.0.0.1:{free_port()}")
    app = create_app(broken, host=host)
    async with AsyncTestClient(app, base_url="http://testserver.local") as client:
        tenant = await make_tenant()
        setup = await make_interview(tenant, make_user)
        jobs = await notify(setup["scope"], broken, app.state.tasks, tenant, setup["interview"], "cancelled")
        assert len(jobs) == 2

        async def failed() -> int:
            return await Job.count().where(Job.id.is_in(jobs) & (Job.state == "failed"))

        for _ in range(600):
            if await failed() == 2:
                break
            await asyncio.sleep(0.1)
        assert await failed() == 2
        await login(client, tenant, setup["admin"])
        page = (await client.get(f"/t/{tenant.slug}/mail", headers={**HTML, "accept-language": "en"})).text
        assert setup["interviewee"].email in page and "ConnectionRefusedError" in page


async def test_the_reminder_goes_out_once_the_day_before(app, settings, host, make_tenant, make_user):
    app = create_app(settings, host=host)
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user, starts_in=dt.timedelta(days=1))
    now = setup["interview"].starts_at - dt.timedelta(days=1)
    sent = await send_due_reminders(settings, app.state.tasks, now=now)
    assert sent >= 1
    assert await send_due_reminders(settings, app.state.tasks, now=now) == 0
    jobs = await Job.objects().where((Job.tenant == tenant.id) & (Job.actor == "core.send_mail"))
    assert len(jobs) == 2
    messages = [(json.loads(j.args) if isinstance(j.args, str) else j.args)["message"] for j in jobs]
    subjects = sorted(email.message_from_string(m, policy=policy.default)["Subject"].strip() for m in messages)
    assert subjects[0].startswith(f"[{tenant.name}] Reminder: your online interview")  # the interviewer reads English
    assert subjects[1].startswith(f"【{tenant.name}】明日のオンライン面談のご案内")


async def test_the_invitation_is_an_inline_calendar_alternative_and_an_attachment_with_crlf(app, 
        settings, make_tenant, make_user):
    """RFC 5545 wants CRLF; Outlook wants a text/calendar; method=REQUEST alternative part. A
    title with a bare CR (typed before titles refused control characters) adds no property."""
    import icalendar

    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user)
    interview = setup["interview"]
    interview.title = "一次面接; 営業, 東京\rATTENDEE:mailto:evil@example.com"
    raw = await interview_mail(setup["scope"], settings, tenant, interview, setup["interviewee"], "scheduled",
                               "interviews@example-tenant.jp")
    msg = email.message_from_string(raw, policy=policy.default)
    alternative = next(p for p in msg.walk() if p.get_content_type() == "multipart/alternative")
    inline = [p for p in alternative.iter_parts() if p.get_content_type() == "text/calendar"]
    attached = [p for p in msg.iter_attachments() if p.get_filename() == "interview.ics"]
    assert len(inline) == 1 and inline[0].get_param("method") == "REQUEST"
    assert inline[0].get_content_disposition() is None
    assert len(attached) == 1 and attached[0].get_content_type() == "text/calendar"
    for part in (inline[0], attached[0]):
        data = part.get_payload(decode=True)
        assert data.count(b"\n") == data.count(b"\r\n") > 10  # every line ends in CRLF
        calendar = icalendar.Calendar.from_ical(data)
        assert str(calendar["METHOD"]) == "REQUEST"
        events = list(calendar.walk("VEVENT"))
        assert len(events) == 1
        event = events[0]
        assert str(event["UID"]) == f"{interview.id}@mendan"
        assert str(event["SUMMARY"]) == "一次面接; 営業, 東京 ATTENDEE:mailto:evil@example.com"
        assert [str(a) for a in (event["ATTENDEE"] if isinstance(event["ATTENDEE"], list) else [event["ATTENDEE"]])] \
            == [f"mailto:{setup['interviewee'].email}"]
        assert event.decoded("DTSTART") == interview.starts_at.astimezone(dt.timezone.utc).replace(microsecond=0)
    cancelled = email.message_from_string(await interview_mail(
        setup["scope"], settings, tenant, interview, setup["interviewee"], "cancelled", "x@example-tenant.jp"),
        policy=policy.default)
    parsed = [icalendar.Calendar.from_ical(p.get_payload(decode=True)) for p in cancelled.walk()
              if p.get_content_type() == "text/calendar"]
    assert len(parsed) == 2 and all(str(c["METHOD"]) == "CANCEL" for c in parsed)
    assert str(next(iter(parsed[0].walk("VEVENT")))["STATUS"]) == "CANCELLED"
