"""Each role's main task walked in Japanese in Debian's chromium (issue 20): the admin, the
interviewer, the expert and the operator on a PC screen (1366x768), the candidate on a 390x844
phone. Every main page is saved as a screenshot in test-artifacts/ (walk-<role>-NN-<page>.png) and
checked by axe-core (tests/a11y/axe_check.py): no serious or critical WCAG 2 A/AA violation.

One app with the installed plugins (the example plugin left out) and one tenant serve every walk;
each walk works on interviews of its own, so the walks pass in any order.
"""

from __future__ import annotations

import email
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from email import policy
from typing import Any

import pytest
from playwright.async_api import expect

from core.auth.passwords import hash_password
from core.config import Settings, use_settings
from core.db.tables import Tenant, User
from core.interviews.notifications import interview_mail
from core.interviews.question_sets import EvaluationItem, Question, create_question_set
from core.interviews.schedule import TOKYO, advance, schedule_interview
from core.interviews.tables import Interview
from core.plugins import PluginHost
from core.storage import BlobStore
from core.tenancy import TenantScope, create_tenant
from core.web.i18n import translations
from mendan.app import create_app
from tests.a11y.axe_check import axe_results, blocking_report, look
from tests.conftest import PASSWORD, eventually, serve

pytestmark = pytest.mark.browser

PC = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
ja = translations("ja").gettext  # the pages' words as the catalogue has them


@dataclass
class Walk:
    """The tenant every walk uses, its people and the interviews each walk starts from."""

    base: str
    tenant: Tenant
    admin: User
    interviewer: User
    expert: User
    operator: User
    invitee: User  # the admin invites them
    candidate: User  # takes the live interview below
    upcoming: Interview  # the interviewer's, the day after tomorrow
    held: Interview  # held yesterday, waiting for the interviewer's evaluation
    held_for_expert: Interview  # held two days ago, waiting for the expert's evaluation
    live: Interview  # the candidate's, in ten minutes: its room is open


@pytest.fixture(scope="module")
def walk_server(settings: Settings):
    """The product as installed (every plugin but the example one), served on a loopback port."""
    host = PluginHost()
    host.load_entry_points(exclude={"hello"})
    with serve(create_app(use_settings(settings), host=host)) as base:
        yield base


async def _person(tenant: Tenant | None, role: str, name: str) -> User:
    user = User(tenant=tenant.id if tenant else None, email=f"{role}-{secrets.token_hex(4)}@walk.example.jp",
                role=role, display_name=name, language="ja", password_hash=hash_password(PASSWORD))
    await user.save()
    return user


@pytest.fixture(scope="module")
async def walk(walk_server: str, settings: Settings) -> Walk:
    tenant = await create_tenant(BlobStore.from_settings(settings), slug=f"walk-{secrets.token_hex(4)}",
                                 name="さくら商事株式会社")
    scope = TenantScope(tenant.id)
    admin = await _person(tenant, "admin", "人事 花子")
    interviewer = await _person(tenant, "interviewer", "面接 太郎")
    expert = await _person(tenant, "expert", "専門 一郎")
    operator = await _person(None, "operator", "運用 次郎")
    people = [await _person(tenant, "interviewee", name) for name in ("候補 さくら", "応募 健", "受験 次郎", "志望 明")]
    version = await create_question_set(
        scope, name="営業職 一次面談", author=admin,
        questions=[Question("自己紹介をお願いします。"), Question("当社を志望する理由を教えてください。")],
        items=[EvaluationItem(key="", name="論理的思考", description="筋道を立てて話せるか"),
               EvaluationItem(key="", name="コミュニケーション", description="相手に合わせて伝えられるか")])
    now = datetime.now(timezone.utc)

    async def interview(title: str, interviewee: User, starts_at: datetime, experts=(), state=None) -> Interview:
        row = await schedule_interview(scope, kind="live", starts_at=starts_at, interviewee_id=interviewee.id,
                                       interviewer_id=interviewer.id, expert_ids=[e.id for e in experts],
                                       version_id=version.id, title=title, check=False)
        if state:  # held: the recording arrived
            await advance(scope, row, state)
        return row

    return Walk(
        base=walk_server, tenant=tenant, admin=admin, interviewer=interviewer, expert=expert, operator=operator,
        invitee=people[0], candidate=people[1],
        upcoming=await interview("一次面談（営業職）", people[2], now + timedelta(days=2)),
        held=await interview("一次面談（企画職）", people[3], now - timedelta(days=1), state="recorded"),
        held_for_expert=await interview("二次面談（企画職）", people[3], now - timedelta(days=2), [expert], "recorded"),
        live=await interview("オンライン面談（営業職）", people[1], now + timedelta(minutes=10)),
    )


async def _page(browser, viewport: dict[str, int] = PC) -> Any:
    context = await browser.new_context(locale="ja-JP", viewport=viewport)
    return await context.new_page()


async def _sign_in(browser, walk: Walk, user: User, shot: str) -> Any:
    """A page signed in as `user` through the sign-in form (the operators' for an operator), on
    the home page it leads to; the sign-in page is looked at as `shot`."""
    page = await _page(browser)
    path = "/login" if user.role == "operator" else f"/t/{walk.tenant.slug}/login"
    await page.goto(walk.base + path)
    assert await page.get_attribute("html", "lang") == "ja"
    await page.get_by_label(ja("E-mail address")).fill(user.email)
    await page.get_by_label(ja("Password")).fill(PASSWORD)
    await look(page, shot)
    async with page.expect_navigation():
        await page.get_by_role("button", name=ja("Sign in"), exact=True).click()
    await page.wait_for_load_state()
    return page


def _home_section(page, title: str):
    return page.locator("section.home-section").filter(has=page.get_by_role("heading", name=title))


async def _flash(page, message: str) -> None:
    await expect(page.locator("#flash")).to_have_text(ja(message))


async def _mail_to(settings: Settings, address: str) -> email.message.EmailMessage:
    """The first mail to `address` written to the outbox (the embedded worker sends it)."""

    async def find():
        for path in settings.outbox_dir.glob("*.eml") if settings.outbox_dir.exists() else []:
            message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
            if address in str(message["To"]):
                return message
        return None

    return await eventually(find, timeout=60, what=f"a mail to {address}")


async def test_the_admin_sets_up_an_interview_and_the_invitation_is_mailed(walk, browser, settings):
    page = await _sign_in(browser, walk, walk.admin, "walk-admin-01-login")
    assert page.url == f"{walk.base}/t/{walk.tenant.slug}/"
    await expect(page.locator("h1")).to_have_text(walk.tenant.name)
    await expect(_home_section(page, "今後の面談（日本時間）")).to_contain_text("一次面談（営業職）")
    await look(page, "walk-admin-02-home")

    nav = page.get_by_role("navigation", name=ja("Main"))
    await nav.get_by_role("link", name="質問セット", exact=True).click()
    await page.get_by_role("link", name=ja("New question set")).click()
    # wait_for_url waits for `load`: the editor's deferred script has added its row buttons by then.
    await page.wait_for_url(f"{walk.base}/t/{walk.tenant.slug}/question-sets/new")
    await page.get_by_label(ja("Name"), exact=True).fill("経理職 一次面談")
    await page.get_by_label(f"{ja('Question')} 1", exact=True).fill("簿記の経験を教えてください。")
    await page.get_by_role("button", name=ja("Add a question")).click()
    await page.get_by_label(f"{ja('Question')} 2", exact=True).fill("締め作業で工夫したことは何ですか。")
    await page.get_by_label(f"{ja('Name')} 1", exact=True).fill("正確さ")
    await page.get_by_label(f"{ja('Description')} 1", exact=True).fill("数字を確かめながら話せるか")
    await look(page, "walk-admin-03-question-set-editor")
    async with page.expect_navigation():
        await page.get_by_role("button", name=ja("Save"), exact=True).click()
    await _flash(page, "The question set was saved.")
    await expect(page.locator("h1")).to_have_text("経理職 一次面談")
    await look(page, "walk-admin-04-question-set-saved")

    await nav.get_by_role("link", name="面談", exact=True).click()
    await page.wait_for_url(f"{walk.base}/t/{walk.tenant.slug}/interviews")
    await look(page, "walk-admin-05-interviews")
    await page.get_by_role("link", name=ja("Set up an interview")).click()
    # After `load` (which wait_for_url waits for) the people pickers' deferred script listens to typing.
    await page.wait_for_url(f"{walk.base}/t/{walk.tenant.slug}/interviews/new")

    await page.get_by_label(ja("Title"), exact=True).fill("一次面談（経理職）")
    tomorrow = (datetime.now(TOKYO) + timedelta(days=1)).date()
    await page.get_by_label(ja("Date and time (Japan time)")).fill(f"{tomorrow.isoformat()}T10:00")
    await page.get_by_label(ja("Length (minutes)")).fill("45")
    for field, typed, person in (("interviewee", "さくら", walk.invitee), ("interviewer", "面接", walk.interviewer)):
        await page.locator(f"#{field}_typed").fill(typed)
        option = page.locator(f"#{field}_results [role=option]", has_text=person.email)
        await option.click()
        await expect(page.locator(f"input[type=hidden][name={field}]")).to_have_value(str(person.id))
    await page.get_by_label(ja("Question set")).select_option(label=f"経理職 一次面談 ({ja('version')} 1)")
    await look(page, "walk-admin-06-new-interview")

    async with page.expect_navigation():
        await page.get_by_role("button", name=ja("Schedule and send mail")).click()
    await _flash(page, "The interview was scheduled; the invitations are being sent by mail.")
    await expect(page.locator("h1")).to_have_text("一次面談（経理職）")
    await expect(page.locator("main")).to_contain_text("簿記の経験を教えてください。")
    mail = await _mail_to(settings, walk.invitee.email)
    assert walk.tenant.name in str(mail["Subject"])
    await look(page, "walk-admin-07-interview-scheduled")
    await page.context.close()


async def test_the_interviewer_opens_an_upcoming_interview_and_saves_an_evaluation(walk, browser):
    page = await _sign_in(browser, walk, walk.interviewer, "walk-interviewer-01-login")
    upcoming = _home_section(page, "今後の面談（日本時間）")
    await expect(upcoming).to_contain_text("一次面談（営業職）")
    await expect(_home_section(page, "評価待ちの面談")).to_contain_text("一次面談（企画職）")
    await look(page, "walk-interviewer-02-home")

    await upcoming.get_by_role("link", name="一次面談（営業職）").click()
    await page.wait_for_url(f"{walk.base}/t/{walk.tenant.slug}/interviews/{walk.upcoming.id}")
    await expect(page.locator("h1")).to_have_text("一次面談（営業職）")
    await look(page, "walk-interviewer-03-upcoming-interview")

    await page.go_back()
    await _home_section(page, "評価待ちの面談").get_by_role("link", name="一次面談（企画職）").click()
    await page.wait_for_url(f"{walk.base}/t/{walk.tenant.slug}/interviews/{walk.held.id}")
    form = page.locator("form", has=page.get_by_role("heading", name=ja("Your evaluation")))
    await form.get_by_label("論理的思考").fill("4")
    await form.get_by_label("コミュニケーション").fill("5")
    await form.get_by_label(ja("Comment")).fill("具体例を挙げて落ち着いて話していた。")
    await look(page, "walk-interviewer-04-evaluation-form")

    async with page.expect_navigation():
        await form.get_by_role("button", name=ja("Save evaluation")).click()
    await _flash(page, "Your evaluation was saved.")
    await expect(page.locator("table")).to_contain_text("具体例を挙げて落ち着いて話していた。")
    await look(page, "walk-interviewer-05-evaluation-saved")
    await page.context.close()


async def test_the_expert_scores_blind_from_the_queue_on_the_home_page(walk, browser):
    page = await _sign_in(browser, walk, walk.expert, "walk-expert-01-login")
    queue = _home_section(page, "評価待ちの面談")
    await expect(queue).to_contain_text("二次面談（企画職）")
    await look(page, "walk-expert-02-home")

    await queue.get_by_role("link", name=ja("See all")).click()
    await page.wait_for_url(f"{walk.base}/t/{walk.tenant.slug}/interviews/to-evaluate")
    row = page.locator(f"tr[data-interview='{walk.held_for_expert.id}']")
    await expect(row).to_contain_text("志望 明")
    await look(page, "walk-expert-03-queue")

    await row.get_by_role("link").click()
    await page.wait_for_url(f"{walk.base}/t/{walk.tenant.slug}/interviews/{walk.held_for_expert.id}")
    await expect(page.locator(".blind")).to_have_text(
        ja("Other evaluations and the AI's scores appear here once you have saved your own evaluation."))
    form = page.locator("form", has=page.get_by_role("heading", name=ja("Your evaluation")))
    await form.get_by_label("論理的思考").fill("3")
    await form.get_by_label("コミュニケーション").fill("4")
    await look(page, "walk-expert-04-blind-form")

    async with page.expect_navigation():
        await form.get_by_role("button", name=ja("Save evaluation")).click()
    await _flash(page, "Your evaluation was saved.")
    await expect(page.locator(".blind")).to_have_count(0)
    await look(page, "walk-expert-05-evaluation-saved")

    await page.get_by_role("navigation", name=ja("Main")).get_by_role("link", name="評価待ち").click()
    await expect(page.locator("#awaiting-count")).to_be_visible()
    await expect(row).to_have_count(0)
    await page.context.close()


async def test_the_operator_saves_a_tenants_contract_without_changing_its_course(walk, browser):
    page = await _sign_in(browser, walk, walk.operator, "walk-operator-01-login")
    assert page.url == f"{walk.base}/ops/"
    await look(page, "walk-operator-02-ops-home")

    await page.get_by_role("link", name=walk.tenant.slug).first.click()
    await page.wait_for_url(f"{walk.base}/ops/tenants/{walk.tenant.slug}")
    course_now = page.locator("#course-now")
    await expect(course_now).to_contain_text(ja("always"))
    await look(page, "walk-operator-03-tenant")

    contract = page.locator("form", has=page.locator("#course"))
    await expect(contract.get_by_label(ja("Course"), exact=True)).to_have_value("always")
    await contract.get_by_label(ja("Contract start")).fill(date.today().isoformat())
    async with page.expect_navigation():
        await contract.get_by_role("button", name=ja("Save contract")).click()
    history = page.locator("section[aria-labelledby=contract-h] tbody tr")
    await expect(history).to_have_count(1)
    await expect(history).to_contain_text(walk.operator.email)
    await expect(course_now).to_contain_text(ja("always"))
    await look(page, "walk-operator-04-contract-saved")
    await page.context.close()


async def test_the_candidate_follows_the_mail_link_on_a_phone_to_the_room_and_the_thanks(walk, browser, settings):
    scope = TenantScope(walk.tenant.id)
    mail = email.message_from_string(
        await interview_mail(scope, settings, walk.tenant, walk.live, walk.candidate, "scheduled", settings.mail_from),
        policy=policy.default)
    body = mail.get_body(("plain",)).get_content()
    link = next(word for word in body.split() if "/join/" in word)
    page = await _page(browser, PHONE)
    await page.goto(link.replace(settings.base_url, walk.base))
    await expect(page.locator("#join")).to_contain_text(walk.tenant.name)
    await look(page, "walk-candidate-01-join")

    async with page.expect_navigation():
        await page.get_by_role("button", name=ja("Continue to the interview")).click()
    assert page.url.startswith(f"{walk.base}/t/{walk.tenant.slug}/interviews/{walk.live.id}/consent")
    await expect(page.get_by_role("button", name=ja("I do not agree"))).to_be_visible()
    await look(page, "walk-candidate-02-consent")

    await page.get_by_label(ja("I have read the text above and agree.")).check()
    async with page.expect_navigation():
        await page.get_by_role("button", name=ja("I agree"), exact=True).click()
    await page.wait_for_url(f"{walk.base}/t/{walk.tenant.slug}/live_interview/{walk.live.id}")
    join = page.get_by_role("button", name=ja("Join the room"))
    await expect(join).to_be_enabled(timeout=20000)  # the fake camera and microphone passed the check
    await look(page, "walk-candidate-03-device-check")
    await join.click()
    await expect(page.locator("#room-status")).to_have_text(ja("Waiting for the other person to join…"))
    await look(page, "walk-candidate-04-waiting-room")

    # The room leads here when the interviewer ends the interview (tests/test_interview_end_browser.py).
    await page.goto(f"{walk.base}/t/{walk.tenant.slug}/interviews/{walk.live.id}/thanks")
    await expect(page.locator("#next-steps")).to_contain_text(walk.tenant.name)
    await look(page, "walk-candidate-05-thanks")
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await page.context.close()


async def test_the_accessibility_check_fails_on_serious_violations(browser):
    """The check the walks rely on can fail: a picture without a text, a nameless button, faint text."""
    page = await _page(browser)
    await page.set_content('<!doctype html><html lang="ja"><head><title>x</title></head><body><main>'
                           '<img src="data:,"><button></button><p style="color:#bbb;background:#fff">薄い文字</p>'
                           '</main></body></html>')
    report = blocking_report((await axe_results(page))["violations"])
    for rule in ("image-alt (critical)", "button-name (critical)", "color-contrast (serious)"):
        assert rule in report, report
    await page.context.close()
