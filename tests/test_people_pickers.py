"""Searchable people pickers (issues 20 and 21, 9): the set-up page no longer lists the tenant's
users; a JSON search finds a few by name or e-mail, staff only, one tenant only; without
JavaScript the form takes e-mail addresses; the interview pages load only the people they name."""

from __future__ import annotations

import re

from core.db.tables import User
from core.interviews.schedule import experts_of
from core.interviews.tables import Interview
from core.tenancy import TenantScope
from tests.conftest import HTML, form_csrf, login
from tests.interview_fixtures import make_interview

JSON = {"accept": "application/json"}


async def test_the_setup_page_does_not_render_thousands_of_people(client, make_tenant, make_user):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user)
    many = 3000
    await User.insert(*[User(tenant=tenant.id, email=f"many{n}@example.jp", display_name=f"大勢 {n}",
                             role="interviewee") for n in range(many)])
    await login(client, tenant, setup["admin"])
    page = await client.get(f"/t/{tenant.slug}/interviews/new", headers=HTML)
    assert page.status_code == 200
    assert "many1@example.jp" not in page.text and "大勢" not in page.text
    assert 'data-picker' in page.text and "/static/people_picker.js" in page.text
    found = await client.get(f"/t/{tenant.slug}/people/search", params={"q": "MANY12", "role": "interviewee"},
                             headers=JSON)
    people = found.json()["people"]
    assert found.status_code == 200 and len(people) == 20  # many12, many120..many129, many1200.. capped
    assert all("many12" in p["email"] for p in people)
    assert people == sorted(people, key=lambda p: (p["name"], p["email"]))
    assert people[0]["label"] == f"{people[0]['name']} <{people[0]['email']}>"


async def test_search_is_by_role_active_tenant_and_staff_only(client, make_tenant, make_user):
    tenant, other = await make_tenant(), await make_tenant()
    setup = await make_interview(tenant, make_user, experts=1)
    await make_user(tenant, "interviewee", email="hanako.yamada@example.jp", display_name="山田 花子")
    gone = await make_user(tenant, "interviewee", email="yamada.gone@example.jp", display_name="山田 去")
    await TenantScope(tenant.id).update(User, {User.active: False}).where(User.id == gone.id)
    await make_user(other, "interviewee", email="yamada.other@example.jp", display_name="山田 他社")
    await make_user(tenant, "interviewee", email="percent@example.jp", display_name="100%")
    await login(client, tenant, setup["interviewer"])
    url = f"/t/{tenant.slug}/people/search"

    async def emails(q: str, role: str) -> list[str]:
        response = await client.get(url, params={"q": q, "role": role}, headers=JSON)
        assert response.status_code == 200
        return [p["email"] for p in response.json()["people"]]

    assert await emails("山田", "interviewee") == ["hanako.yamada@example.jp"]
    assert await emails("yamada", "interviewer") == []
    assert await emails(setup["experts"][0].email[:10], "expert") == [setup["experts"][0].email]
    assert await emails("%", "interviewee") == ["percent@example.jp"]  # a wildcard is a letter
    assert await emails("", "interviewee") == [] and await emails("山田", "boss") == []
    await login(client, tenant, await make_user(tenant, "interviewee"))
    denied = await client.get(url, params={"q": "山田", "role": "interviewee"}, headers=JSON)
    assert denied.status_code in (401, 403)


async def test_without_javascript_the_form_takes_e_mail_addresses(client, make_tenant, make_user):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user, experts=1)
    await login(client, tenant, setup["admin"])
    new = await client.get(f"/t/{tenant.slug}/interviews/new", headers=HTML)
    version_id = re.search(r'<option value="([0-9a-f-]{36})"', new.text).group(1)
    form = {"_csrf_token": form_csrf(new.text), "kind": "live", "starts_at": "2027-03-01T10:00",
            "duration_minutes": "30", "interviewee": "", "interviewer": "", "version": version_id,
            "interviewee_typed": f"誰か <{setup['interviewee'].email.upper()}>",
            "interviewer_typed": setup["interviewer"].email, "experts_typed": "nobody@example.jp"}
    refused = await client.post(f"/t/{tenant.slug}/interviews", headers=HTML, data=form)
    assert refused.status_code == 400 and "nobody@example.jp" in refused.text
    assert setup["interviewee"].email.upper() in refused.text  # what was typed is kept
    form["experts_typed"] = setup["experts"][0].email
    form["_csrf_token"] = form_csrf(refused.text)
    response = await client.post(f"/t/{tenant.slug}/interviews", headers=HTML, data=form, follow_redirects=False)
    assert response.status_code in (302, 303), response.text
    interview = await TenantScope(tenant.id).get(Interview, response.headers["location"].rsplit("/", 1)[1])
    assert interview.interviewee == setup["interviewee"].id and interview.interviewer == setup["interviewer"].id
    assert experts_of(interview) == [str(setup["experts"][0].id)]
    detail = await client.get(response.headers["location"], headers=HTML)
    assert setup["experts"][0].display_name in detail.text


async def test_the_attributes_page_pages_and_searches_interviewees(client, make_tenant, make_user):
    tenant = await make_tenant()
    admin = await make_user(tenant, "admin")
    await User.insert(*[User(tenant=tenant.id, email=f"cand{n:03d}@example.jp", display_name=f"候補 {n:03d}",
                             role="interviewee") for n in range(60)])
    await login(client, tenant, admin)
    first = await client.get(f"/t/{tenant.slug}/attributes/", headers=HTML)
    assert first.status_code == 200 and "候補 000" in first.text and "候補 024" in first.text
    assert "候補 025" not in first.text and "page_number=2" in first.text
    second = await client.get(f"/t/{tenant.slug}/attributes/", params={"page_number": 2}, headers=HTML)
    assert "候補 025" in second.text and "候補 024" not in second.text
    found = await client.get(f"/t/{tenant.slug}/attributes/", params={"q": "cand059"}, headers=HTML)
    assert "候補 059" in found.text and "候補 000" not in found.text
