"""The AI model through the REST API v1 only (issue 18): build as a job, versions and their metrics,
activation under If-Match, predictions with explanations, confirm and override; scopes, roles,
foreign tenants and a tenant without the plugin."""

from __future__ import annotations

import pytest

from core.auth.tokens import create_api_token
from core.db.tables import AuditEntry
from core.tenancy import TenantScope
from plugins.ai_model.synthetic import synthetic_interviews
from plugins.ai_model.tables import Prediction
from tests.conftest import eventually, wait_for_job
from tests.test_ai_model_flow import populate
from tests.test_ai_model_flow import host as ai_host  # noqa: F401
from tests.test_ai_model_predictions import LabelledPlugin

# The platform's tenant isolation matrix and schema check, run again here on a host with ai_model, so
# they cover this plugin's routes too (every /api/v1 route: 404 to another tenant's token; documented).
from tests.test_api_endpoints import test_every_api_route_answers_404_to_another_tenants_token  # noqa: F401
from tests.test_api_endpoints import test_the_schema_documents_every_api_route  # noqa: F401

EN = {"Accept-Language": "en"}


def bearer(token: str, **more: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **EN, **more}


@pytest.fixture
def host(ai_host):  # noqa: F811
    ai_host.register(LabelledPlugin(), key="labelled")
    return ai_host


async def follow(client, token: str, job_url: str) -> dict:
    """The build job through the API's job resource, polled until it has ended."""
    async def ended():
        job = await client.get(job_url, headers=bearer(token))
        assert job.status_code == 200, job.text
        return job.json() if job.json()["state"] in ("done", "failed") else None

    job = await eventually(ended, timeout=180, what=f"the job at {job_url}")
    assert job["actor"] == "ai_model.build" and job["state"] == "done" and job["progress"] == 100, job
    return job


async def test_build_versions_metrics_and_activation_under_if_match(app, client, make_tenant, make_user):
    tenant = await make_tenant()
    admin = await make_user(tenant, "admin")
    write, read = (await create_api_token(admin, "hr", scope="write"),
                   await create_api_token(admin, "ro", scope="read"))
    interviewer_write = await create_api_token(await make_user(tenant, "interviewer"), "iv", scope="write")
    features, labels = synthetic_interviews(22, noise_features=2, seed=13)
    await populate(tenant, make_user, features.iloc[:20], labels.iloc[:20])
    base = f"/api/v1/t/{tenant.slug}/ai_model"

    refused = await client.post(f"{base}/versions", headers=bearer(read))
    assert refused.status_code == 403 and refused.json()["code"] == "insufficient_scope"
    refused = await client.post(f"{base}/versions", headers=bearer(interviewer_write))
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"

    started = await client.post(f"{base}/versions", headers=bearer(write, **{"Idempotency-Key": "build-1"}))
    assert started.status_code == 202, started.text
    replayed = await client.post(f"{base}/versions", headers=bearer(write, **{"Idempotency-Key": "build-1"}))
    assert replayed.status_code == 202 and replayed.headers["idempotent-replayed"] == "true"
    assert replayed.json() == started.json()  # the same job: a dropped connection does not build twice
    job_url = started.json()["job_url"]
    assert job_url == f"/api/v1/t/{tenant.slug}/jobs/{started.json()['job_id']}" == started.headers["location"]
    await follow(client, write, job_url)
    assert await AuditEntry.exists().where(
        (AuditEntry.tenant == tenant.id) & (AuditEntry.action == "ai_model.build_requested"))

    listed = await client.get(f"{base}/versions", headers=bearer(read))
    assert listed.status_code == 200, listed.text
    (first,) = listed.json()["items"]
    assert first["number"] == 1 and first["state"] == "ready" and first["active"] and first["n_interviews"] == 20
    one = await client.get(f"{base}/versions/{first['id']}", headers=bearer(read))
    assert one.status_code == 200 and one.headers["etag"]
    items = {item["key"]: item for item in one.json()["items"]}
    assert set(items) == {"warmth", "composure"}
    for item in items.values():
        assert item["n"] == 20 and (item["scale_min"], item["scale_max"]) == (1, 5)
        assert {"mae", "rmse", "spearman", "r2", "within_one"} <= set(item["metrics"])
        assert 0 <= item["metrics"]["mae"] <= 4 and -1 <= item["metrics"]["spearman"] <= 1
        assert item["importance"] and item["importance"][0]["feature"].startswith("synthetic.")
    labelled = [f for item in items.values() for f in item["importance"] if f["feature"] == "synthetic.smile_ratio"]
    assert labelled and labelled[0]["label"] == "Smiling"

    # A second build makes version 2, not active until someone activates it.
    await follow(client, write, (await client.post(f"{base}/versions", headers=bearer(write))).json()["job_url"])
    second = next(v for v in (await client.get(f"{base}/versions", headers=bearer(read))).json()["items"]
                  if v["number"] == 2)
    assert second["state"] == "ready" and not second["active"]
    by_state = {state: [v["number"] for v in (await client.get(f"{base}/versions", params={"state": state},
                                                               headers=bearer(read))).json()["items"]]
                for state in ("ready", "failed")}
    assert by_state == {"ready": [1, 2], "failed": []}
    wrong = await client.get(f"{base}/versions", params={"state": "done"}, headers=bearer(read))
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "state"
    first_read = await client.get(f"{base}/versions/{first['id']}", headers=bearer(read))
    second_read = await client.get(f"{base}/versions/{second['id']}", headers=bearer(read))

    activate = f"{base}/versions/{second['id']}/activate"
    assert (await client.post(activate, headers=bearer(write))).status_code == 428
    refused = await client.post(activate, headers=bearer(read, **{"If-Match": second_read.headers["etag"]}))
    assert refused.status_code == 403
    done = await client.post(activate, headers=bearer(write, **{"If-Match": second_read.headers["etag"]}))
    assert done.status_code == 200, done.text
    assert done.json()["active"] and done.headers["etag"] != second_read.headers["etag"]
    # Version 1 changed meanwhile (no longer active): the ETag read before is stale.
    stale = await client.post(f"{base}/versions/{first['id']}/activate",
                              headers=bearer(write, **{"If-Match": first_read.headers["etag"]}))
    assert stale.status_code == 412 and stale.json()["code"] == "precondition_failed"
    listed = await client.get(f"{base}/versions", headers=bearer(read))
    assert {v["number"]: v["active"] for v in listed.json()["items"]} == {1: False, 2: True}

    # The active version predicts a new interview; the API shows its explanation in words.
    _, _, (fresh, _other) = await populate(tenant, make_user, features.iloc[20:], None)
    job = await wait_for_job(await app.state.tasks.enqueue("ai_model.predict", tenant_id=tenant.id,
                                                           interview_id=str(fresh.id)))
    assert job.state == "done", job.error
    page = await client.get(f"{base}/predictions", params={"interview_id": str(fresh.id)}, headers=bearer(read))
    assert page.status_code == 200, page.text
    predictions = page.json()["items"]
    assert {p["item"]["key"] for p in predictions} == {"warmth", "composure"}
    for p in predictions:
        assert p["source"] == "v2" and p["model_version_id"] == second["id"] and p["status"] == "unconfirmed"
        assert 1 <= p["score"] <= 5 and p["reviewed_score"] is None and p["insufficient_data"] is None
        contributions = p["explanation"]["contributions"]
        assert len(contributions) == 5 and all(c["feature"].startswith("synthetic.") for c in contributions)
        total = p["explanation"]["base_value"] + sum(c["contribution"] for c in contributions)
        assert abs(total - p["score"]) < 1.5  # the top five explain most of the score
    smiling = [c for p in predictions for c in p["explanation"]["contributions"]
               if c["feature"] == "synthetic.smile_ratio"]
    assert smiling and smiling[0]["label"] == "Smiling" and smiling[0]["meaning"] == "Share of time smiling."


async def predicted(tenant, make_user, value=3.25, item="warmth"):
    """An interview of the tenant with one stored prediction (as the model leaves it), explained. The
    score is exact in PostgreSQL's single-precision `real`, so answers compare with ==."""
    scope = TenantScope(tenant.id)
    features, _labels = synthetic_interviews(1, noise_features=0, seed=1)
    reviewer, _, (interview,) = await populate(tenant, make_user, features, None)
    row = Prediction(tenant=tenant.id, interview_id=interview.id, item_key=item, value=value, source="v1",
                     base_value=3.0, contributions=[["synthetic.smile_ratio", 0.15], ["synthetic.presence_ratio", 0.05]]
                     if value is not None else [], insufficient_data="" if value is not None else "not analysed")
    await scope.add(row)
    return reviewer, interview, row


async def test_confirm_and_override_need_write_scope_and_a_score_on_the_scale(app, client, make_tenant, make_user):
    tenant = await make_tenant()
    reviewer, interview, prediction = await predicted(tenant, make_user)
    write, read = (await create_api_token(reviewer, "w", scope="write"),
                   await create_api_token(reviewer, "r", scope="read"))
    base = f"/api/v1/t/{tenant.slug}/ai_model/predictions/{prediction.id}"

    one = await client.get(base, headers=bearer(read))
    assert one.status_code == 200 and one.headers["etag"]
    body = one.json()
    assert body["item"] == {"key": "warmth", "name": "Warmth", "scale_min": 1, "scale_max": 5}
    assert body["explanation"]["contributions"][0] == {
        "feature": "synthetic.smile_ratio", "label": "Smiling", "meaning": "Share of time smiling.", "unit": "",
        "contribution": 0.15}

    refused = await client.post(f"{base}/confirm", headers=bearer(read))
    assert refused.status_code == 403 and refused.json()["code"] == "insufficient_scope"
    for bad in ({"score": 99, "reason": "too high"}, {"score": 0, "reason": "too low"}):
        answer = await client.post(f"{base}/override", json=bad, headers=bearer(write))
        assert answer.status_code == 422 and answer.json()["code"] == "score_out_of_range", answer.text
        assert "Warmth" in answer.json()["detail"] and answer.json()["errors"][0]["field"] == "score"
    for bad in ({"score": 4}, {"score": "four", "reason": "x"}, {"score": 4, "reason": ""}):
        answer = await client.post(f"{base}/override", json=bad, headers=bearer(write))
        assert answer.status_code == 422 and answer.json()["code"] == "validation_failed", answer.text
    row = await Prediction.objects().where(Prediction.id == prediction.id).first()
    assert row.status == "unconfirmed" and row.override_value is None  # nothing kept from a refused review

    stale = await client.post(f"{base}/confirm", headers=bearer(write, **{"If-Match": '"0"'}))
    assert stale.status_code == 412
    confirmed = await client.post(f"{base}/confirm", json={"comment": "妥当"},
                                  headers=bearer(write, **{"If-Match": one.headers["etag"]}))
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "confirmed" and confirmed.json()["reviewed_score"] == 3.25
    assert confirmed.json()["reviewed_by"] == str(reviewer.id) and confirmed.json()["reason"] == "妥当"

    overridden = await client.post(f"{base}/override", json={"score": 4.5, "reason": "落ち着いていた"},
                                   headers=bearer(write))
    assert overridden.status_code == 200, overridden.text
    assert overridden.json()["status"] == "overridden" and overridden.json()["reviewed_score"] == 4.5
    assert overridden.json()["score"] == 3.25 and overridden.json()["reason"] == "落ち着いていた"
    actions = {a.action for a in await AuditEntry.objects().where(AuditEntry.tenant == tenant.id)}
    assert {"ai_model.prediction_confirmed", "ai_model.prediction_overridden"} <= actions

    listed = await client.get(f"/api/v1/t/{tenant.slug}/ai_model/predictions", params={"status": "overridden"},
                              headers=bearer(read))
    assert [p["id"] for p in listed.json()["items"]] == [str(prediction.id)]
    assert (await client.get(f"/api/v1/t/{tenant.slug}/ai_model/predictions", params={"status": "unconfirmed"},
                             headers=bearer(read))).json()["items"] == []
    wrong = await client.get(f"/api/v1/t/{tenant.slug}/ai_model/predictions", params={"status": "maybe"},
                             headers=bearer(read))
    assert wrong.status_code == 422 and wrong.json()["code"] == "validation_failed"


async def test_a_review_comment_with_a_control_character_keeps_nothing(app, client, make_tenant, make_user):
    tenant = await make_tenant()
    reviewer, _interview, prediction = await predicted(tenant, make_user)
    write = await create_api_token(reviewer, "w", scope="write")
    base = f"/api/v1/t/{tenant.slug}/ai_model/predictions/{prediction.id}"
    for action, body, field in (("confirm", {"comment": "ok\u0000"}, "comment"),
                                ("override", {"score": 4, "reason": "calm\u001b"}, "reason")):
        answer = await client.post(f"{base}/{action}", json=body, headers=bearer(write))
        assert answer.status_code == 422 and answer.json()["code"] == "validation_failed", answer.text
        assert answer.json()["errors"][0]["field"] == field
    row = await Prediction.objects().where(Prediction.id == prediction.id).first()
    assert row.status == "unconfirmed" and row.override_value is None and not row.comment
    kept = await client.post(f"{base}/override", json={"score": 4, "reason": "落ち着いていた\n具体的"},
                             headers=bearer(write))
    assert kept.status_code == 200 and kept.json()["status"] == "overridden", kept.text


async def test_a_prediction_without_a_score_cannot_be_confirmed_only_overridden(app, client, make_tenant, make_user):
    tenant = await make_tenant()
    reviewer, _interview, prediction = await predicted(tenant, make_user, value=None)
    write = await create_api_token(reviewer, "w", scope="write")
    base = f"/api/v1/t/{tenant.slug}/ai_model/predictions/{prediction.id}"
    body = (await client.get(base, headers=bearer(write))).json()
    assert body["score"] is None and body["explanation"] is None
    assert body["insufficient_data"] == "The interview has not been analysed yet."
    refused = await client.post(f"{base}/confirm", headers=bearer(write))
    assert refused.status_code == 409 and refused.json()["code"] == "no_score_to_confirm"
    kept = await client.post(f"{base}/override", json={"score": 2, "reason": "見て判断"}, headers=bearer(write))
    assert kept.status_code == 200 and kept.json()["reviewed_score"] == 2


async def test_predictions_page_by_cursor_and_filter_by_interview_and_time(app, client, make_tenant, make_user):
    tenant = await make_tenant()
    scope = TenantScope(tenant.id)
    _reviewer, interview, first = await predicted(tenant, make_user)
    second = await scope.add(Prediction(tenant=tenant.id, interview_id=interview.id, item_key="composure",
                                        value=2.5, source="v1"))
    _, other_interview, third = await predicted(tenant, make_user)
    read = await create_api_token(await make_user(tenant, "admin"), "r", scope="read")  # an admin sees all three
    url = f"/api/v1/t/{tenant.slug}/ai_model/predictions"

    seen, cursor = [], None
    while True:
        page = (await client.get(url, params={"limit": 1, **({"cursor": cursor} if cursor else {})},
                                 headers=bearer(read))).json()
        seen += [p["id"] for p in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [str(first.id), str(second.id), str(third.id)]
    mine = (await client.get(url, params={"interview_id": str(interview.id)}, headers=bearer(read))).json()["items"]
    assert [p["item"]["key"] for p in mine] == ["warmth", "composure"]
    later = third.created_at.isoformat()
    assert [p["id"] for p in (await client.get(url, params={"created_after": later}, headers=bearer(read))
                              ).json()["items"]] == [str(third.id)]
    assert str(other_interview.id) not in {p["interview_id"] for p in mine}


async def test_foreign_tenants_and_a_tenant_without_the_plugin_get_404(app, client, host, make_tenant, make_user):
    tenant = await make_tenant()
    reviewer, _interview, prediction = await predicted(tenant, make_user)
    other = await make_tenant()
    stranger = await create_api_token(await make_user(other, "admin"), "x", scope="admin")
    for path in (f"/api/v1/t/{tenant.slug}/ai_model/predictions/{prediction.id}",
                 f"/api/v1/t/{tenant.slug}/ai_model/versions",
                 f"/api/v1/t/{other.slug}/ai_model/predictions/{prediction.id}"):
        answer = await client.get(path, headers=bearer(stranger))
        assert answer.status_code == 404 and answer.json()["code"] == "not_found", path
    confirm = await client.post(f"/api/v1/t/{other.slug}/ai_model/predictions/{prediction.id}/confirm",
                                headers=bearer(stranger))
    assert confirm.status_code == 404
    assert (await Prediction.objects().where(Prediction.id == prediction.id).first()).status == "unconfirmed"

    read = await create_api_token(reviewer, "r", scope="read")
    await host.set_enabled(tenant.id, "ai_model", False)
    off = await client.get(f"/api/v1/t/{tenant.slug}/ai_model/predictions", headers=bearer(read))
    assert off.status_code == 404 and off.json()["code"] == "not_in_contract"



async def test_the_schema_documents_every_endpoint_and_what_the_metrics_mean(client):
    schema = (await client.get("/schema/openapi.json")).json()
    operations = {op["operationId"]: (path, method) for path, item in schema["paths"].items()
                  for method, op in item.items() if isinstance(op, dict) and "operationId" in op}
    for name in ("buildModelVersion", "listModelVersions", "getModelVersion", "activateModelVersion",
                 "listPredictions", "getPrediction", "confirmPrediction", "overridePrediction"):
        path, _method = operations[name]
        assert path.startswith("/api/v1/t/{tenant}/ai_model/"), path
    metrics = schema["components"]["schemas"]["ItemMetrics"]["properties"]
    assert "rank correlation" in metrics["spearman"]["description"] and "points" in metrics["mae"]["description"]
    activate_path, _method = operations["activateModelVersion"]
    assert {"412", "428"} <= set(schema["paths"][activate_path]["post"]["responses"])
