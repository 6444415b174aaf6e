"""A candidate sees only their own interviews: no jobs, no API tokens, no file names and no
internal states on any page they can reach, and the staff routes answer 403/404 to them."""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

from core.interviews.tables import Interview, Recording
from tests.conftest import HTML, login
from tests.interview_fixtures import consent, join, make_interview

FORBIDDEN = re.compile(r"\bjobs?\b|ジョブ|\btokens?\b|トークン|\.webm|\.mp4|\b(recorded|analysed|evaluated|in_progress|"
                       r"uploading|queued|failed|superseded|analysing)\b|録画済み|分析済み|評価済み", re.IGNORECASE)


def visible_text(page: str) -> str:
    """What a reader sees: the text outside tags, scripts and styles."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.DOTALL | re.IGNORECASE)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def tenant_links(page: str, slug: str) -> set[str]:
    return {urlsplit(html.unescape(href)).path for href in re.findall(r'href="([^"]+)"', page)
            if html.unescape(href).startswith(f"/t/{slug}/")}


async def walk_as_interviewee(client, tenant, setup, language: str) -> dict[str, str]:
    """Every page the interviewee reaches from the home page's links, the navigation, their
    interview's page and its links (one level), as the visible text by path."""
    interview = setup["interview"]
    start = [f"/t/{tenant.slug}/", f"/t/{tenant.slug}/interviews/", f"/t/{tenant.slug}/interviews/{interview.id}",
             f"/t/{tenant.slug}/interviews/{interview.id}/thanks"]
    seen: dict[str, str] = {}
    queue = list(start)
    while queue:
        path = queue.pop(0)
        if path in seen or "/lang/" in path or path.endswith("/logout"):
            continue
        response = await client.get(path, headers={**HTML, "accept-language": language})
        assert response.status_code == 200, (path, response.status_code)
        seen[path] = response.text
        if path in start:
            queue.extend(tenant_links(response.text, tenant.slug))
    return seen


async def test_an_interviewee_sees_no_jobs_tokens_file_names_or_internal_states(client, make_tenant, make_user):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user, language="en")
    interview = setup["interview"]
    await consent(tenant, setup["interviewee"])
    await Recording.insert(Recording(tenant=tenant.id, interview=interview.id, filename="answer-q1.webm",
                                     container="webm", size=10, sha256="0" * 64, state="complete",
                                     uploaded_by=setup["interviewee"].id))
    await Interview.update({Interview.state: "recorded"}).where(Interview.id == interview.id)
    await join(client, tenant, setup["interviewee"], interview)

    pages = await walk_as_interviewee(client, tenant, setup, "en")
    assert len(pages) >= 5, sorted(pages)
    for path, page in pages.items():
        found = FORBIDDEN.search(visible_text(page))
        assert found is None, f"{path} shows {found.group(0)!r}"
        assert not any(link.rstrip("/").endswith(("/jobs", "/tokens")) for link in tenant_links(page, tenant.slug)), path
    assert "Completed" in visible_text(pages[f"/t/{tenant.slug}/interviews/{interview.id}"])

    for staff_only in ("jobs", "tokens", "interviews/to-evaluate", "people", "mail/",
                       f"interviews/{interview.id}/recordings/{(await Recording.objects().first()).id}/media"):
        response = await client.get(f"/t/{tenant.slug}/{staff_only}", headers=HTML, follow_redirects=False)
        assert response.status_code in (403, 404), (staff_only, response.status_code)


async def test_staff_still_see_the_jobs_link(client, make_tenant, make_user):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user)
    await login(client, tenant, setup["interviewer"])
    home = await client.get(f"/t/{tenant.slug}/", headers=HTML)
    assert f"/t/{tenant.slug}/jobs" in tenant_links(home.text, tenant.slug)
    assert f"/t/{tenant.slug}/tokens" in tenant_links(home.text, tenant.slug)
