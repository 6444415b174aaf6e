"""AI scores by participation (issue 21, item 1): an interviewer or expert sees, exports,
confirms and overrides the AI's scores of the interviews they take part in, and no others
(those answer 404, as another tenant's); an admin sees every interview of the tenant. Pages,
the CSV export and the REST API alike."""

from __future__ import annotations

import csv
import io

import pytest

from core.auth.tokens import create_api_token
from plugins.ai_model.synthetic import synthetic_interviews
from plugins.ai_model.tables import Prediction
from tests.conftest import HTML, form_csrf, login
from tests.test_ai_model_flow import host as ai_host  # noqa: F401
from tests.test_ai_model_flow import populate


@pytest.fixture
def host(ai_host):  # noqa: F811
    return ai_host


async def _scored(tenant, interview) -> Prediction:
    row = Prediction(tenant=tenant.id, interview_id=interview.id, item_key="warmth", value=3.2, source="v1")
    await row.save()
    return row


async def _exported(client, tenant) -> set[str]:
    answer = await client.get(f"/t/{tenant.slug}/ai_model/predictions.csv", headers=HTML)
    assert answer.status_code == 200
    return {row["interview_id"] for row in csv.DictReader(io.StringIO(answer.text))}


async def test_scores_reach_only_the_interviews_people_take_part_in(app, client, make_tenant, make_user):
    tenant = await make_tenant()
    features, _labels = synthetic_interviews(1, noise_features=0, seed=1)
    interviewer, experts, (own,) = await populate(tenant, make_user, features, None)
    outsider_interviewer = await make_user(tenant, "interviewer")
    _other_interviewer, _other_experts, (not_mine,) = await populate(tenant, make_user, features, None)
    admin = await make_user(tenant, "admin")
    own_score, other_score = await _scored(tenant, own), await _scored(tenant, not_mine)

    for person, sees in ((interviewer, {str(own.id)}), (experts[0], {str(own.id)}),
                         (outsider_interviewer, set()), (admin, {str(own.id), str(not_mine.id)})):
        await login(client, tenant, person)
        assert await _exported(client, tenant) == sees, person.role
        token = await create_api_token(person, "hr", scope="write")
        listed = await client.get(f"/api/v1/t/{tenant.slug}/ai_model/predictions",
                                  headers={"authorization": f"Bearer {token}"})
        assert listed.status_code == 200
        assert {p["interview_id"] for p in listed.json()["items"]} == sees, person.role
        foreign = await client.get(f"/api/v1/t/{tenant.slug}/ai_model/predictions/{other_score.id}",
                                   headers={"authorization": f"Bearer {token}"})
        assert foreign.status_code == (200 if str(not_mine.id) in sees else 404), person.role

    # Confirming or overriding another interview's score is refused like another tenant's, by
    # the page and by the API, and changes nothing.
    await login(client, tenant, interviewer)
    page = await client.get(f"/t/{tenant.slug}/interviews/{own.id}", headers=HTML)
    refused = await client.post(f"/t/{tenant.slug}/ai_model/predictions/{other_score.id}/review",
                                data={"action": "confirm", "_csrf_token": form_csrf(page.text)},
                                headers=HTML, follow_redirects=False)
    assert refused.status_code == 404
    token = await create_api_token(interviewer, "hr2", scope="write")
    refused = await client.post(f"/api/v1/t/{tenant.slug}/ai_model/predictions/{other_score.id}/override",
                                json={"score": 4, "reason": "見ていない面談"},
                                headers={"authorization": f"Bearer {token}"})
    assert refused.status_code == 404 and refused.headers["content-type"].startswith("application/problem+json")
    assert (await Prediction.objects().where(Prediction.id == other_score.id).first()).status == "unconfirmed"
    confirmed = await client.post(f"/api/v1/t/{tenant.slug}/ai_model/predictions/{own_score.id}/confirm",
                                  json={}, headers={"authorization": f"Bearer {token}"})
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "confirmed"
