"""Experts score blind (issue 20): an assigned expert who has not saved their own evaluation of
an interview sees no one else's scores of it, nor the AI's — on the interview page (its
evaluations list and the AI panel), the self-interview review and the REST API — and sees them
once they have saved theirs. Admins and the interviewer are never blinded."""

from __future__ import annotations

import pytest

from core.auth.tokens import create_api_token
from core.interviews.evaluations import may_see_scores, save_evaluation
from core.interviews.question_sets import items_of
from core.interviews.schedule import advance
from core.interviews.tables import Evaluation
from plugins.ai_model.tables import Prediction
from plugins.live_interview import plugin as live_interview
from plugins.self_interview import plugin as self_interview
from tests.conftest import HTML, form_csrf, login
from tests.interview_fixtures import make_interview
from tests.test_ai_model_flow import host as ai_host  # noqa: F401

NOTE = 'class="notice blind"'  # the note that others' scores appear after saving


@pytest.fixture
def host(ai_host):  # noqa: F811
    ai_host.register(live_interview, key="live_interview")
    ai_host.register(self_interview, key="self_interview")
    return ai_host


async def _held_and_scored(tenant, make_user, *, kind: str = "live"):
    """An interview held, with two experts, the interviewer's evaluation and an AI score."""
    setup = await make_interview(tenant, make_user, kind=kind, experts=2)
    scope, interview = setup["scope"], setup["interview"]
    await advance(scope, interview, "recorded")
    item = items_of(setup["version"])[0]
    await save_evaluation(scope, interview, setup["interviewer"], {item.key: "2"}, "interviewer-says-anchor")
    await save_evaluation(scope, interview, setup["experts"][1], {item.key: "3"}, "other-expert-says-anchor")
    prediction = Prediction(tenant=tenant.id, interview_id=interview.id, item_key=item.key, value=4.6, source="v1")
    await prediction.save()
    return setup | {"item": item, "prediction": prediction}


async def test_the_rule_blinds_only_an_assigned_expert_until_they_have_saved(app, make_tenant, make_user):
    tenant = await make_tenant()
    setup = await _held_and_scored(tenant, make_user)
    scope, interview, (expert, evaluated_expert) = setup["scope"], setup["interview"], setup["experts"]
    assert await may_see_scores(scope, setup["admin"], interview)
    assert await may_see_scores(scope, setup["interviewer"], interview)
    assert await may_see_scores(scope, evaluated_expert, interview)
    assert not await may_see_scores(scope, expert, interview)
    assert not await may_see_scores(scope, setup["interviewee"], interview)
    assert not await may_see_scores(scope, await make_user(tenant, "expert"), interview)  # takes no part
    await save_evaluation(scope, interview, expert, {setup["item"].key: "5"}, "")
    assert await may_see_scores(scope, expert, interview)


async def test_interview_page_hides_evaluations_and_ai_panel_until_the_expert_saves(
        app, client, make_tenant, make_user):
    tenant = await make_tenant()
    setup = await _held_and_scored(tenant, make_user)
    interview, expert = setup["interview"], setup["experts"][0]
    url = f"/t/{tenant.slug}/interviews/{interview.id}"
    for person in (setup["admin"], setup["interviewer"]):
        await login(client, tenant, person)
        shown = (await client.get(url, headers=HTML)).text
        assert "other-expert-says-anchor" in shown and "4.6" in shown and NOTE not in shown, person.role

    await login(client, tenant, expert)
    before = await client.get(url, headers=HTML)
    assert before.status_code == 200
    assert NOTE in before.text
    for leak in ("interviewer-says-anchor", "other-expert-says-anchor", "4.6", 'class="ai-score"'):
        assert leak not in before.text, leak
    assert 'action="' + url + '/evaluation"' in before.text  # the form itself is there
    exported = await client.get(f"/t/{tenant.slug}/ai_model/predictions.csv", headers=HTML)
    assert exported.status_code == 200 and str(interview.id) not in exported.text
    confirm = await client.post(f"/t/{tenant.slug}/ai_model/predictions/{setup['prediction'].id}/review",
                                data={"action": "confirm", "_csrf_token": form_csrf(before.text)},
                                headers=HTML, follow_redirects=False)
    assert confirm.status_code == 403 and confirm.headers["content-type"].startswith("text/html")

    saved = await client.post(f"{url}/evaluation", headers=HTML, follow_redirects=False,
                              data={f"score_{setup['item'].key}": "4", "comment": "mine",
                                    "_csrf_token": form_csrf(before.text)})
    assert saved.status_code in (302, 303)
    after = (await client.get(url, headers=HTML)).text
    assert NOTE not in after
    for shown in ("interviewer-says-anchor", "other-expert-says-anchor", "4.6", "mine"):
        assert shown in after, shown
    exported = await client.get(f"/t/{tenant.slug}/ai_model/predictions.csv", headers=HTML)
    assert str(interview.id) in exported.text


async def test_live_room_and_self_interview_review_show_an_expert_no_one_elses_scores(
        app, client, make_tenant, make_user):
    tenant = await make_tenant()
    live = await _held_and_scored(tenant, make_user, kind="live")
    await login(client, tenant, live["experts"][0])
    # The live room's evaluation form is the interviewer's: an expert has no room to see.
    room = await client.get(f"/t/{tenant.slug}/live_interview/{live['interview'].id}", headers=HTML)
    assert room.status_code == 404
    solo = await _held_and_scored(tenant, make_user, kind="self")
    await login(client, tenant, solo["experts"][0])
    review = await client.get(f"/t/{tenant.slug}/self_interview/{solo['interview'].id}/review", headers=HTML)
    assert review.status_code == 200 and 'id="evaluation-form"' in review.text
    for leak in ("interviewer-says-anchor", "other-expert-says-anchor", "4.6"):
        assert leak not in review.text, leak


async def test_rest_api_hides_evaluations_and_ai_scores_until_the_expert_saves(app, client, make_tenant, make_user):
    tenant = await make_tenant()
    setup = await _held_and_scored(tenant, make_user)
    interview, expert, prediction = setup["interview"], setup["experts"][0], setup["prediction"]
    base = f"/api/v1/t/{tenant.slug}"
    auth = {"authorization": f"Bearer {await create_api_token(expert, 'blind', scope='write')}"}
    others = await setup["scope"].objects(Evaluation).where(Evaluation.interview == interview.id)

    listed = (await client.get(f"{base}/interviews/{interview.id}/evaluations", headers=auth)).json()
    assert listed == {"items": [], "hidden_until_evaluated": True}
    one = await client.get(f"{base}/interviews/{interview.id}/evaluations/{others[0].id}", headers=auth)
    assert one.status_code == 403 and one.json()["code"] == "evaluate_first"
    assert one.headers["content-type"].startswith("application/problem+json")
    predictions = (await client.get(f"{base}/ai_model/predictions", headers=auth)).json()
    assert predictions["items"] == []
    hidden = await client.get(f"{base}/ai_model/predictions/{prediction.id}", headers=auth)
    assert hidden.status_code == 403 and hidden.json()["code"] == "evaluate_first"
    confirm = await client.post(f"{base}/ai_model/predictions/{prediction.id}/confirm", json={}, headers=auth)
    assert confirm.status_code == 403
    assert (await Prediction.objects().where(Prediction.id == prediction.id).first()).status == "unconfirmed"

    created = await client.post(f"{base}/interviews/{interview.id}/evaluations", headers=auth,
                                json={"scores": {setup["item"].key: 4}, "comment": "mine"})
    assert created.status_code == 201
    listed = (await client.get(f"{base}/interviews/{interview.id}/evaluations", headers=auth)).json()
    assert not listed["hidden_until_evaluated"]
    assert {e["comment"] for e in listed["items"]} == {"interviewer-says-anchor", "other-expert-says-anchor", "mine"}
    one = await client.get(f"{base}/interviews/{interview.id}/evaluations/{others[0].id}", headers=auth)
    assert one.status_code == 200
    predictions = (await client.get(f"{base}/ai_model/predictions", headers=auth)).json()
    assert [p["id"] for p in predictions["items"]] == [str(prediction.id)]
    assert (await client.get(f"{base}/ai_model/predictions/{prediction.id}", headers=auth)).status_code == 200

    interviewer = {"authorization": f"Bearer {await create_api_token(setup['interviewer'], 'i', scope='read')}"}
    seen = (await client.get(f"{base}/interviews/{interview.id}/evaluations", headers=interviewer)).json()
    assert not seen["hidden_until_evaluated"] and len(seen["items"]) == 3
