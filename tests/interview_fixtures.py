"""Building blocks for the interviews tests: a question set, an interview, an interviewee signed in."""

from __future__ import annotations

import base64
import hashlib
import html
import re
from datetime import datetime, timedelta, timezone

from core.interviews.people import issue_join_link
from core.interviews.question_sets import EvaluationItem, Question, create_question_set
from core.interviews.schedule import schedule_interview
from core.tenancy import TenantScope
from tenants.consent import current_consent, record_consent

ITEMS = [EvaluationItem(key="", name="Clarity", description="Speaks clearly"),
         EvaluationItem(key="", name="Warmth", scale_min=1, scale_max=7, required=False)]


async def make_interview(tenant, make_user, *, kind: str = "live", starts_in: timedelta = timedelta(minutes=10),
                         experts: int = 0, language: str = "ja"):
    scope = TenantScope(tenant.id)
    admin = await make_user(tenant, "admin")
    interviewer = await make_user(tenant, "interviewer", language="en")
    interviewee = await make_user(tenant, "interviewee", password=None, language=language)
    expert_users = [await make_user(tenant, "expert") for _ in range(experts)]
    version = await create_question_set(scope, name="Basics", author=admin, items=ITEMS,
                                        questions=[Question(text="Tell us about yourself.")])
    # A self-interview has a window, not a slot: open from now for a week.
    starts_at = datetime.now(timezone.utc) + (starts_in if kind != "self" else timedelta(0))
    interview = await schedule_interview(
        scope, kind=kind, starts_at=starts_at, interviewee_id=interviewee.id,
        interviewer_id=interviewer.id, expert_ids=[e.id for e in expert_users], version_id=version.id,
        ends_at=starts_at + timedelta(days=7) if kind == "self" else None)
    return {"scope": scope, "admin": admin, "interviewer": interviewer, "interviewee": interviewee,
            "experts": expert_users, "version": version, "interview": interview}


async def consent(tenant, user):
    text = await current_consent(tenant.id, "recording")
    await record_consent(tenant.id, user.id, "recording", text.version)


async def open_link(client, url: str, accept: dict | None = None):
    """Open a personal link as the interviewee does: its page, then the page's sign-in button (the
    form's hidden fields as the page rendered them). Returns the button's answer (a redirect on
    the way in); where the link cannot lead in, the link's own answer (a page saying why)."""
    headers = accept or {"accept": "text/html"}
    shown = await client.get(url, headers=headers, follow_redirects=False)
    if shown.status_code != 200:
        return shown
    fields = {name: html.unescape(value)
              for name, value in re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', shown.text)}
    return await client.post(url.split("?")[0], data=fields, headers=headers, follow_redirects=False)


async def join(client, tenant, user, interview):
    """Sign the interviewee in through a personal link, as the mailed link does."""
    token = await issue_join_link(TenantScope(tenant.id), user)
    response = await open_link(client, f"/t/{tenant.slug}/join/{token}?interview={interview.id}")
    assert response.status_code in (302, 303), response.text
    await client.get(f"/t/{tenant.slug}/interviews/{interview.id}/consent", headers={"accept": "text/html"})
    return response


def chunk_checksum(data: bytes) -> str:
    return "sha256 " + base64.b64encode(hashlib.sha256(data).digest()).decode()
