"""Mail in business Japanese from per-tenant templates (issue 20): the shipped texts, the admin's
template page with preview, placeholder checks and reset, the sent-mail log, and the invitation
that lets a staff member registered without a password choose one."""

from __future__ import annotations

import email
import re
import time
from datetime import datetime, timedelta, timezone
from email import policy

import pytest

from core.auth.tokens import RESET_LIFETIME
from core.db.json_columns import json_value
from core.db.tables import Job, MailTemplate, PasswordReset, User
from core.interviews.notifications import interview_mail, notify
from core.mail_templates import KINDS, MailTemplateProblem, check, default_text, set_contact
from tests.conftest import HTML, form_csrf, login, wait_for_job
from tests.interview_fixtures import make_interview

NEW_PASSWORD = "a-first-passphrase-42"


def parsed(text: str) -> tuple[email.message.EmailMessage, str]:
    msg = email.message_from_string(text, policy=policy.default)
    return msg, msg.get_body(("plain",)).get_content()


async def mail_jobs(tenant, kind: str | None = None) -> list[tuple[Job, email.message.EmailMessage, str]]:
    jobs = await Job.objects().where((Job.tenant == tenant.id) & (Job.actor == "core.send_mail"))
    found = []
    for job in jobs:
        args = json_value(job.args)
        if kind is None or args.get("kind") == kind:
            found.append((job, *parsed(args["message"])))
    return found


async def test_the_invitation_is_business_japanese_with_company_preparation_and_contact(
        app, settings, make_tenant, make_user):
    tenant = await make_tenant(name="株式会社サンプル")
    setup = await make_interview(tenant, make_user, starts_in=timedelta(days=2))
    await set_contact(setup["scope"], "人事部 採用担当 佐藤\n03-1234-5678 / saiyo@sample.co.jp")
    person = setup["interviewee"]
    await User.update({User.display_name: "山田 花子"}).where(User.id == person.id)
    person.display_name = "山田 花子"

    msg, body = parsed(await interview_mail(setup["scope"], settings, tenant, setup["interview"], person,
                                            "scheduled", "noreply@sample.co.jp"))
    assert "株式会社サンプル" in msg["Subject"] and "オンライン面談" in msg["Subject"]
    assert "対面" not in msg["Subject"] + body
    assert body.startswith("山田 花子 様\n")
    assert all(word in body for word in ("ブラウザ", "カメラ", "マイク", "静か"))
    assert "03-1234-5678 / saiyo@sample.co.jp" in body and "日程の変更" in body
    assert re.search(r"/join/\S+", body)

    await User.update({User.language: "en"}).where(User.id == person.id)
    person.language = "en"
    msg, body = parsed(await interview_mail(setup["scope"], settings, tenant, setup["interview"], person,
                                            "scheduled", "noreply@sample.co.jp"))
    assert msg["Subject"].startswith("[株式会社サンプル]") and "online interview" in msg["Subject"]
    assert body.startswith("Dear 山田 花子,") and "camera" in body and "quiet" in body
    assert "saiyo@sample.co.jp" in body and "another date" in body


async def _edit_form(client, tenant, kind="interview_scheduled", language="ja"):
    page = await client.get(f"/t/{tenant.slug}/mail/templates/{kind}/{language}", headers=HTML)
    assert page.status_code == 200, page.text
    return page


async def test_an_admin_edits_a_template_and_the_next_invitation_uses_it(app, client, settings, make_tenant,
                                                                         make_user):
    tenant = await make_tenant(name="株式会社サンプル")
    setup = await make_interview(tenant, make_user, starts_in=timedelta(days=3))
    await login(client, tenant, setup["admin"])
    form = await _edit_form(client, tenant)
    saved = await client.post(
        f"/t/{tenant.slug}/mail/templates/interview_scheduled/ja", headers=HTML, follow_redirects=False,
        data={"_csrf_token": form_csrf(form.text), "action": "save",
              "subject": "【{{ company }}】一次面接のご案内 {{ name }} 様",
              "body": "{{ name }} 様\n\n当社独自の文面です。\n{{ date }}\n{{ link }}\n{{ contact }}\n"})
    assert saved.status_code in (302, 303), saved.text
    assert await MailTemplate.count().where(MailTemplate.tenant == tenant.id) == 1

    await notify(setup["scope"], settings, app.state.tasks, tenant, setup["interview"], "scheduled")
    sent = {m["To"]: (m, body) for _job, m, body in await mail_jobs(tenant, "interview_scheduled")}
    msg, body = sent[setup["interviewee"].email]  # Japanese: the tenant's own text
    assert msg["Subject"] == f"【株式会社サンプル】一次面接のご案内 {setup['interviewee'].display_name} 様"
    assert "当社独自の文面です。" in body and "/join/" in body
    msg, body = sent[setup["interviewer"].email]  # English: still the default
    assert msg["Subject"].startswith("[株式会社サンプル] Invitation")

    form = await _edit_form(client, tenant)
    assert "当社独自の文面です。" in form.text
    back = await client.post(f"/t/{tenant.slug}/mail/templates/interview_scheduled/ja/reset", headers=HTML,
                             data={"_csrf_token": form_csrf(form.text)}, follow_redirects=False)
    assert back.status_code in (302, 303)
    assert await MailTemplate.count().where(MailTemplate.tenant == tenant.id) == 0
    assert "ご準備いただきたいこと" in (await _edit_form(client, tenant)).text


async def test_the_preview_renders_sample_values_and_keeps_nothing(client, make_tenant, make_user):
    tenant = await make_tenant(name="株式会社プレビュー")
    admin = await make_user(tenant, "admin")
    await login(client, tenant, admin)
    form = await _edit_form(client, tenant, "staff_invitation", "en")
    shown = await client.post(
        f"/t/{tenant.slug}/mail/templates/staff_invitation/en", headers=HTML,
        data={"_csrf_token": form_csrf(form.text), "action": "preview", "subject": "Welcome to {{ company }}",
              "body": "Dear {{ name }}, valid for {{ valid_days }} days: {{ link }}"})
    assert shown.status_code == 200, shown.text
    subject = re.search(r'id="preview-subject">([^<]*)<', shown.text).group(1)
    assert subject == "Welcome to 株式会社プレビュー"
    assert "Dear Hanako Yamada, valid for 7 days:" in shown.text
    assert await MailTemplate.count().where(MailTemplate.tenant == tenant.id) == 0


async def test_an_unknown_placeholder_or_a_line_break_in_the_subject_is_refused(client, make_tenant, make_user):
    tenant = await make_tenant()
    admin = await make_user(tenant, "admin")
    await login(client, tenant, admin)
    form = await _edit_form(client, tenant)
    url = f"/t/{tenant.slug}/mail/templates/interview_scheduled/ja"
    typed = "{{ name }} 様\n年収：{{ salary }}\n"
    refused = await client.post(url, headers=HTML, data={
        "_csrf_token": form_csrf(form.text), "action": "save", "subject": "ご案内", "body": typed})
    assert refused.status_code == 400
    assert "使えない差し込み項目" in refused.text and "salary" in refused.text
    assert "年収：{{ salary }}" in refused.text  # what was typed comes back

    await client.get("/lang/en", params={"next": "/"}, follow_redirects=False)
    english = await client.post(url, headers=HTML, data={
        "_csrf_token": form_csrf(form.text), "action": "save", "subject": "Hi", "body": typed})
    assert english.status_code == 400 and "unknown placeholders: salary" in english.text

    await client.get("/lang/ja", params={"next": "/"}, follow_redirects=False)
    for subject, body in (("ご案内\r\nBcc: x@example.com", "{{ name }}"),
                          ("ご案内", "{{ name.__class__.__mro__ }}"),
                          ("ご案内 {{ name", "{{ name }}")):
        answer = await client.post(url, headers=HTML, data={
            "_csrf_token": form_csrf(form.text), "action": "save", "subject": subject, "body": body})
        assert answer.status_code == 400, (subject, body)
        assert 'role="alert"' in answer.text
    assert await MailTemplate.count().where(MailTemplate.tenant == tenant.id) == 0


async def test_the_sent_mail_log_lists_each_mail_with_its_status_in_japan_time(app, client, settings, make_tenant,
                                                                             make_user):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user, starts_in=timedelta(days=2))
    jobs = await notify(setup["scope"], settings, app.state.tasks, tenant, setup["interview"], "scheduled")
    finished = [await wait_for_job(job) for job in jobs]
    assert all(job.state == "done" for job in finished)

    await login(client, tenant, setup["admin"])
    log = await client.get(f"/t/{tenant.slug}/mail/log", headers=HTML)
    assert log.status_code == 200
    rows = re.findall(r"<tr><td><time.*?</tr>", log.text, re.S)
    assert len(rows) == 2
    for person in (setup["interviewee"], setup["interviewer"]):
        row = next(r for r in rows if person.email in r)
        assert "送信済み" in row and "面談のご案内" in row
    queued_at = min(job.created_at for job in finished).astimezone(timezone(timedelta(hours=9)))
    assert queued_at.strftime("%Y-%m-%d %H:") in log.text
    assert "<pre" not in log.text and "/join/" not in log.text  # no body in the log


async def test_the_log_is_paged(app, client, make_tenant, make_user):
    from core.mail import build_message, queue_mail

    tenant = await make_tenant()
    admin = await make_user(tenant, "admin")
    jobs = [await queue_mail(app.state.tasks, tenant_id=tenant.id, kind="",
                             message=build_message(sender="a@example.jp", to=f"p{i}@example.jp",
                                                   subject=f"Mail {i}", text="x"))
            for i in range(26)]
    await wait_for_job(jobs[-1])
    await login(client, tenant, admin)
    first = (await client.get(f"/t/{tenant.slug}/mail/log", headers=HTML)).text
    second = (await client.get(f"/t/{tenant.slug}/mail/log?page_number=2", headers=HTML)).text
    assert len(re.findall(r"<tr><td><time", first)) == 25 and "page_number=2" in first
    assert len(re.findall(r"<tr><td><time", second)) == 1 and "p0@example.jp" in second


async def test_staff_registered_without_a_password_choose_one_through_the_invitation_once(
        app, client, settings, make_tenant, make_user):
    tenant = await make_tenant(name="株式会社サンプル")
    admin = await make_user(tenant, "admin")
    await login(client, tenant, admin)
    people = await client.get(f"/t/{tenant.slug}/people/", headers=HTML)
    for address, password in (("new-expert@example.jp", ""), ("has-password@example.jp", "a-given-passphrase-1")):
        added = await client.post(f"/t/{tenant.slug}/people/", headers=HTML, follow_redirects=False, data={
            "_csrf_token": form_csrf(people.text), "email": address, "display_name": "鈴木 一郎", "role": "expert",
            "language": "ja", "password": password})
        assert added.status_code in (302, 303), added.text
    invitations = await mail_jobs(tenant, "staff_invitation")
    assert [m["To"] for _job, m, _body in invitations] == ["new-expert@example.jp"]
    _job, msg, body = invitations[0]
    assert "株式会社サンプル" in msg["Subject"] and body.startswith("鈴木 一郎 様")
    link = re.search(re.escape(settings.base_url) + r"(/t/\S+/password-reset/\S+)", body).group(1)

    expert = await User.objects().where(User.email == "new-expert@example.jp").first()
    reset = await PasswordReset.objects().where(PasswordReset.user == expert.id).first()
    lifetime = reset.expires_at - datetime.now(timezone.utc)
    assert timedelta(days=6) < lifetime <= timedelta(days=7) and lifetime > RESET_LIFETIME

    await client.post("/logout", data={"_csrf_token": client.cookies["csrftoken"]}, headers=HTML)
    choose = await client.get(link, headers=HTML)
    assert choose.status_code == 200
    applied = await client.post(link, headers=HTML, follow_redirects=False, data={
        "password": NEW_PASSWORD, "password_again": NEW_PASSWORD, "_csrf_token": form_csrf(choose.text)})
    assert applied.status_code == 302
    await login(client, tenant, expert, password=NEW_PASSWORD)
    assert (await client.get(link, headers=HTML)).status_code == 404  # once only


async def test_an_expired_invitation_sets_no_password(app, client, settings, make_tenant, make_user):
    from core.interviews.staff_invitation import invite_staff
    from core.tenancy import TenantScope

    tenant = await make_tenant()
    expert = await make_user(tenant, "expert", password=None)
    await invite_staff(TenantScope(tenant.id), settings, app.state.tasks, tenant, expert)
    [(_job, _msg, body)] = await mail_jobs(tenant, "staff_invitation")
    link = re.search(re.escape(settings.base_url) + r"(/t/\S+/password-reset/\S+)", body).group(1)
    await PasswordReset.update({PasswordReset.expires_at: datetime.now(timezone.utc) - timedelta(minutes=1)}).where(
        PasswordReset.user == expert.id)
    assert (await client.get(link, headers=HTML)).status_code == 404
    form = await client.get(f"/t/{tenant.slug}/login", headers=HTML)
    tried = await client.post(link, headers=HTML, data={
        "password": NEW_PASSWORD, "password_again": NEW_PASSWORD, "_csrf_token": form_csrf(form.text)})
    assert tried.status_code == 404
    assert (await User.objects().where(User.id == expert.id).first()).password_hash is None


async def test_a_saved_text_that_fails_with_real_values_gives_way_to_the_default(app, settings, make_tenant,
                                                                                make_user):
    from core.interviews.tables import Interview
    from core.mail_templates import MailTemplateProblem, save

    tenant = await make_tenant(name="株式会社サンプル")
    setup = await make_interview(tenant, make_user, starts_in=timedelta(days=2))
    # Checked with the sample length (30 minutes) it renders; for a 60-minute interview it adds 1 to a text.
    await save(setup["scope"], "interview_scheduled", "ja", "{% if minutes == 60 %}{{ name + 1 }}{% endif %}{{ company }}",
               "{{ name }} 様\n", setup["admin"].id)
    try:
        await save(setup["scope"], "interview_scheduled", "ja", "{% if minutes == 30 %}{{ name + 1 }}{% endif %}", "x",
                   setup["admin"].id)
    except MailTemplateProblem as exc:
        assert "str" in str(exc)
    else:
        raise AssertionError("a text that fails with the sample values was saved")
    await Interview.update({Interview.duration_minutes: 60}).where(Interview.id == setup["interview"].id)
    setup["interview"].duration_minutes = 60
    msg, body = parsed(await interview_mail(setup["scope"], settings, tenant, setup["interview"],
                                            setup["interviewee"], "scheduled", "noreply@sample.co.jp"))
    assert msg["Subject"].startswith("【株式会社サンプル】オンライン面談のご案内")
    assert "ご準備いただきたいこと" in body


async def test_staff_from_a_csv_import_are_invited_and_interviewees_are_not(client, make_tenant, make_user):
    from core.auth.tokens import create_api_token

    tenant = await make_tenant()
    admin = await make_user(tenant, "admin")
    token = await create_api_token(admin, "import", scope="write")
    csv = ("email,display_name,role,language\ncandidate@example.jp,候補者,interviewee,ja\n"
           "expert@example.jp,Ann Lee,expert,en\n")
    made = await client.post(f"/api/v1/t/{tenant.slug}/people/import", content=csv.encode(),
                             headers={"authorization": f"Bearer {token}", "content-type": "text/csv"})
    assert made.status_code == 201, made.text
    invitations = await mail_jobs(tenant, "staff_invitation")
    assert [(m["To"], body.split(",")[0]) for _job, m, body in invitations] == [("expert@example.jp", "Dear Ann Lee")]


@pytest.mark.parametrize("body", [
    "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}",  # hours of work
    "{{ 'x' * 10**7 }}",  # a 10 MB page
    "{{ name|center(100000000) }}",
    "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}",
    "{{ lipsum() }}", "{{ self }}", "{{ cycler }}", "{{ namespace() }}", "{{ range(3) }}",
    "{{ ''.__class__ }}", "{{ name.__class__.__mro__ }}", "{% include 'x' %}",
])
def test_a_template_beyond_placeholders_ifs_and_simple_filters_is_refused_quickly(body):
    started = time.monotonic()
    with pytest.raises(MailTemplateProblem) as refused:
        check("interview_reminder", "【{{ company }}】面談のご案内", body)
    assert time.monotonic() - started < 2
    message = str(refused.value)
    assert "__" not in message and "unsafe" not in message  # no Python internals shown to the admin


def test_the_shipped_texts_pass_the_same_check():
    for kind in KINDS:
        for language in ("ja", "en"):
            subject, body = default_text(kind, language)
            assert check(kind, subject, body)
