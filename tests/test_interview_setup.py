"""Question sets, interviews and evaluations (issue 4, points 2, 3, 7 and 8)."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from core.interviews.evaluations import EvaluationProblem, expert_labels, save_evaluation
from core.interviews.question_sets import EvaluationItem, Question, add_version, items_of
from core.interviews.schedule import tokyo_to_utc
from core.interviews.tables import Evaluation, Interview, QuestionSetVersion
from core.tenancy import TenantScope
from tests.conftest import HTML, form_csrf, login
from tests.interview_fixtures import make_interview


def test_dates_are_entered_in_tokyo_and_stored_in_utc():
    assert tokyo_to_utc("2026-12-01T09:30") == datetime(2026, 12, 1, 0, 30, tzinfo=timezone.utc)
    assert tokyo_to_utc("2027-01-01 00:15") == datetime(2026, 12, 31, 15, 15, tzinfo=timezone.utc)


async def test_a_new_version_keeps_earlier_evaluations_tied_to_theirs(app, make_tenant, make_user):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user)
    scope, interview = setup["scope"], setup["interview"]
    await scope.update(Interview, {Interview.state: "recorded"}).where(Interview.id == interview.id)
    interview.state = "recorded"
    first = await save_evaluation(scope, interview, setup["interviewer"], {"clarity": "4"}, "good")
    v2 = await add_version(scope, setup["version"].question_set, questions=[Question(text="Why us?")],
                           items=[EvaluationItem(key="", name="Clarity", scale_max=10),
                                  EvaluationItem(key="", name="Drive")])
    assert v2.number == 2
    assert [i.key for i in items_of(v2)] == ["clarity", "drive"]  # the kept name keeps its key
    stored = await scope.get(Evaluation, first.id)
    assert stored.question_set_version == setup["version"].id
    old = await scope.get(QuestionSetVersion, setup["version"].id)
    assert [i.scale_max for i in items_of(old)] == [5, 7]


async def test_evaluations_check_scales_stay_one_per_evaluator_and_lock(app, make_tenant, make_user):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user, experts=2)
    scope, interview = setup["scope"], setup["interview"]
    with pytest.raises(EvaluationProblem):  # nothing to evaluate before it happened
        await save_evaluation(scope, interview, setup["interviewer"], {"clarity": "3"}, "")
    await scope.update(Interview, {Interview.state: "recorded"}).where(Interview.id == interview.id)
    interview.state = "recorded"
    with pytest.raises(EvaluationProblem):
        await save_evaluation(scope, interview, setup["interviewer"], {"clarity": "6"}, "")
    with pytest.raises(EvaluationProblem):
        await save_evaluation(scope, interview, setup["interviewer"], {"warmth": "3"}, "")  # clarity required
    with pytest.raises(EvaluationProblem):
        await save_evaluation(scope, interview, setup["interviewee"], {"clarity": "3"}, "")
    await save_evaluation(scope, interview, setup["interviewer"], {"clarity": "3"}, "first")
    await save_evaluation(scope, interview, setup["interviewer"], {"clarity": "5"}, "second")
    rows = await scope.objects(Evaluation).where(Evaluation.interview == interview.id)
    assert len(rows) == 1 and rows[0].comment == "second"
    assert (await scope.get(Interview, interview.id)).state == "evaluated"
    from core.interviews.evaluations import lock_evaluations
    assert await lock_evaluations(scope, interview) == 1
    with pytest.raises(EvaluationProblem):
        await save_evaluation(scope, interview, setup["interviewer"], {"clarity": "1"}, "")


async def test_expert_labels_are_the_mean_expert_score_per_item(app, make_tenant, make_user):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user, experts=2)
    scope, interview = setup["scope"], setup["interview"]
    await scope.update(Interview, {Interview.state: "recorded"}).where(Interview.id == interview.id)
    interview.state = "recorded"
    one, two = setup["experts"]
    await save_evaluation(scope, interview, one, {"clarity": "4", "warmth": "7"}, "")
    await save_evaluation(scope, interview, two, {"clarity": "5"}, "")
    await save_evaluation(scope, interview, setup["interviewer"], {"clarity": "1"}, "")  # not a label
    other = await make_interview(tenant, make_user)  # no expert evaluation: not in the labels
    labels = await expert_labels(scope)
    assert labels == {interview.id: {"clarity": 4.5, "warmth": 7.0}}
    assert other["interview"].id not in labels
    assert await expert_labels(TenantScope((await make_tenant()).id)) == {}


async def test_admin_sets_up_an_interview_through_the_pages(client, make_tenant, make_user):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user)
    await login(client, tenant, setup["admin"])
    page = await client.get(f"/t/{tenant.slug}/question-sets/new", headers=HTML)
    assert page.status_code == 200
    response = await client.post(f"/t/{tenant.slug}/question-sets", headers=HTML, follow_redirects=False, data={
        "_csrf_token": form_csrf(page.text), "name": "営業職",
        "q_text_0": "自己紹介をしてください", "q_limit_0": "90", "q_recorded_0": "1", "q_follow_0": "1",
        "q_text_1": "", "i_name_0": "論理性", "i_min_0": "1", "i_max_0": "5", "i_required_0": "1"})
    assert response.status_code in (302, 303), response.text
    new = await client.get(f"/t/{tenant.slug}/interviews/new", headers=HTML)
    assert "営業職" in new.text
    version_id = re.search(r'<option value="([0-9a-f-]{36})">営業職', new.text).group(1)
    response = await client.post(f"/t/{tenant.slug}/interviews", headers=HTML, follow_redirects=False, data={
        "_csrf_token": form_csrf(new.text), "kind": "live", "starts_at": "2026-12-01T10:00",
        "duration_minutes": "45", "interviewee": str(setup["interviewee"].id),
        "interviewer": str(setup["interviewer"].id), "version": version_id})
    assert response.status_code in (302, 303), response.text
    interview_id = response.headers["location"].rsplit("/", 1)[1]
    interview = await TenantScope(tenant.id).get(Interview, interview_id)
    assert interview.starts_at == datetime(2026, 12, 1, 1, 0, tzinfo=timezone.utc)
    assert interview.state == "scheduled" and interview.duration_minutes == 45
    detail = await client.get(f"/t/{tenant.slug}/interviews/{interview_id}", headers=HTML)
    assert "2026-12-01 10:00" in detail.text and "自己紹介をしてください" in detail.text
    listing = await client.get(f"/t/{tenant.slug}/interviews", headers={**HTML, "accept-language": "en"})
    assert listing.status_code == 200 and "2026-12-01 10:00" in listing.text


async def test_people_see_only_the_interviews_they_take_part_in(client, make_tenant, make_user):
    tenant = await make_tenant()
    mine = await make_interview(tenant, make_user)
    theirs = await make_interview(tenant, make_user)
    await login(client, tenant, mine["interviewer"])
    assert (await client.get(f"/t/{tenant.slug}/interviews/{mine['interview'].id}", headers=HTML)).status_code == 200
    response = await client.get(f"/t/{tenant.slug}/interviews/{theirs['interview'].id}", headers=HTML)
    assert response.status_code == 404
    listing = await client.get(f"/t/{tenant.slug}/interviews", headers=HTML)
    assert str(mine["interview"].id) in listing.text and str(theirs["interview"].id) not in listing.text


@pytest.mark.parametrize("language", ["ja", "en"])
async def test_every_interviews_page_renders_in_both_languages(client, make_tenant, make_user, language):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user, experts=1)
    await login(client, tenant, setup["admin"])
    headers = {**HTML, "accept-language": language}
    await client.get(f"/lang/{language}", headers=headers)
    for path in ("people", "question-sets", f"question-sets/{setup['version'].question_set}", "interviews",
                 "interviews/new", f"interviews/{setup['interview'].id}", f"interviews/{setup['interview'].id}/consent",
                 "mail"):
        response = await client.get(f"/t/{tenant.slug}/{path}", headers=headers)
        assert response.status_code == 200, (path, response.text[:300])
        assert f'<html lang="{language}">' in response.text
        assert response.headers["content-type"].startswith("text/html")
    interviews = await client.get(f"/t/{tenant.slug}/interviews", headers=headers)
    assert ("面談を設定" if language == "ja" else "Set up an interview") in interviews.text
    assert f'href="/t/{tenant.slug}/people"' in interviews.text  # the admin's navigation


async def test_a_refused_question_set_shows_what_was_typed_again_and_long_text_is_refused_not_cut(
        client, make_tenant, make_user):
    tenant = await make_tenant()
    admin = await make_user(tenant, "admin")
    await login(client, tenant, admin)
    editor = await client.get(f"/t/{tenant.slug}/question-sets/new", headers=HTML)
    form = {"_csrf_token": form_csrf(editor.text), "name": "中途採用 セルフ面談 😀",
            "q_text_0": "あなたの強みを教えてください。", "q_limit_0": "90", "q_recorded_0": "1",
            "q_thinking_0": "30", "q_retakes_0": "5", "q_follow_0": "1",
            "i_name_0": "主体性", "i_desc_0": "自ら動けるか", "i_min_0": "1", "i_max_0": "5"}

    refused = await client.post(f"/t/{tenant.slug}/question-sets", data=form, headers=HTML)
    assert refused.status_code == 400 and "撮り直し" in refused.text
    for typed in ("中途採用 セルフ面談 😀", "あなたの強みを教えてください。", 'value="90"', 'value="30"', 'value="5"',
                  "主体性", "自ら動けるか"):
        assert typed in refused.text, typed

    long_question = "志望動機" * 250 + "👨‍👩‍👧"  # 1005 code points: cutting at 1000 would split the emoji
    too_long = await client.post(f"/t/{tenant.slug}/question-sets",
                                 data={**form, "q_retakes_0": "1", "q_text_0": long_question}, headers=HTML)
    assert too_long.status_code == 400 and "1005" in too_long.text
    assert await TenantScope(tenant.id).count(QuestionSetVersion) == 0
