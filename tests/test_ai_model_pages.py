"""The model page: versions and metrics for staff, per-expert agreement for admins only,
activation and roll-back; and a base model offered by another plugin."""

from __future__ import annotations

import json

from core.db.tables import AuditEntry
from core.hookspecs import hookimpl
from core.plugins import PluginMeta
from core.tenancy import TenantScope
from plugins.ai_model.synthetic import synthetic_interviews
from plugins.ai_model.tables import ModelVersion, Prediction
from core.model_training import ItemSpec, build
from tests.conftest import HTML, form_csrf, login, wait_for_job
from tests.test_ai_model_flow import build_through_the_job_queue, host, populate  # noqa: F401  (host: with ai_model)

CAUTION = "must not be used to evaluate the expert interviewers themselves"


async def test_versions_metrics_and_roll_back(app, client, make_tenant, make_user):
    tenant = await make_tenant()
    admin = await make_user(tenant, "admin", language="en")
    features, labels = synthetic_interviews(40, noise_features=4, seed=2)
    interviewer, _experts, _ = await populate(tenant, make_user, features, labels)
    first = await build_through_the_job_queue(app, tenant, admin)
    second = await build_through_the_job_queue(app, tenant, admin)
    assert first.active and not second.active  # the first ready model activates itself; later ones wait

    await login(client, tenant, admin)
    page = await client.get(f"/t/{tenant.slug}/ai_model/", headers=HTML | {"accept-language": "en"})
    assert page.status_code == 200
    assert "Version 2" in page.text and "Version 1" in page.text
    assert "Spearman" in page.text and "class=\"bars\"" in page.text
    assert "Rank correlation from -1 to 1" in page.text  # every metric is explained in a sentence
    assert CAUTION in page.text  # per-expert agreement, for admins only, with the spec's caution
    assert "recommended" in page.text  # fewer than 50 interviews warns

    response = await client.post(f"/t/{tenant.slug}/ai_model/versions/{second.id}/activate",
                                 data={"_csrf_token": form_csrf(page.text)}, headers=HTML, follow_redirects=False)
    assert response.status_code in (302, 303)
    active = await ModelVersion.objects().where((ModelVersion.tenant == tenant.id) & (ModelVersion.active == True))  # noqa: E712
    assert [v.id for v in active] == [second.id]
    page = await client.get(f"/t/{tenant.slug}/ai_model/", headers=HTML)
    response = await client.post(f"/t/{tenant.slug}/ai_model/versions/{first.id}/activate",
                                 data={"_csrf_token": form_csrf(page.text)}, headers=HTML, follow_redirects=False)
    active = await ModelVersion.objects().where((ModelVersion.tenant == tenant.id) & (ModelVersion.active == True))  # noqa: E712
    assert [v.id for v in active] == [first.id]
    assert await AuditEntry.count().where(
        (AuditEntry.tenant == tenant.id) & (AuditEntry.action == "ai_model.activated")) == 2

    await client.post("/logout", data={"_csrf_token": form_csrf(page.text)}, headers=HTML)
    await login(client, tenant, interviewer)
    page = await client.get(f"/t/{tenant.slug}/ai_model/", headers=HTML)
    assert page.status_code == 200 and "バージョン 1" in page.text  # the interviewer reads Japanese
    assert "熟練面談者ごとの一致度" not in page.text
    response = await client.post(f"/t/{tenant.slug}/ai_model/build", data={"_csrf_token": form_csrf(page.text)},
                                 headers=HTML, follow_redirects=False)
    assert response.status_code == 403


async def test_interviewees_cannot_see_models(app, client, make_tenant, make_user):
    tenant = await make_tenant()
    interviewee = await make_user(tenant, "interviewee")
    await login(client, tenant, interviewee)
    assert (await client.get(f"/t/{tenant.slug}/ai_model/", headers=HTML)).status_code == 403


class VendorModel:
    """A base model as the pretrained-model option would offer it."""

    name = "vendor-2026"

    def __init__(self):
        features, labels = synthetic_interviews(60, noise_features=0, seed=9)
        features.columns = [f"synthetic.{c}" for c in features.columns]
        self.items = {"warmth": {"name": "Warmth", "scale_min": 1, "scale_max": 5}}
        result = build(features, labels[["warmth"]], [ItemSpec("warmth", "Warmth", 1, 5)], folds=3)
        self.feature_names = result.feature_names
        self._bytes = result.items["warmth"].model_bytes

    def model_bytes(self, item_key):
        return self._bytes


class VendorPlugin:
    @hookimpl
    def mendan_plugin_meta(self):
        return PluginMeta(key="vendor_model", name_ja="事前学習モデル", name_en="Pretrained model", version="1",
                          kind="option", hours="batch")

    @hookimpl
    def mendan_base_model(self, tenant_id):
        return VendorModel()


async def test_a_base_model_answers_for_a_tenant_without_its_own(app, host, client, make_tenant, make_user):
    host.register(VendorPlugin(), key="vendor_model")
    tenant = await make_tenant()
    scope = TenantScope(tenant.id)
    features, _labels = synthetic_interviews(1, noise_features=0, seed=4)
    reviewer, _experts, (interview,) = await populate(tenant, make_user, features, None)
    tasks = app.state.tasks

    job = await wait_for_job(await tasks.enqueue("ai_model.predict", tenant_id=tenant.id, interview_id=str(interview.id)))
    assert job.result_ref == "no active model"  # the option is off for this tenant

    await host.set_enabled(tenant.id, "vendor_model", True)
    job = await wait_for_job(await tasks.enqueue("ai_model.predict", tenant_id=tenant.id, interview_id=str(interview.id)))
    assert job.state == "done", job.error
    (prediction,) = await scope.objects(Prediction).where(Prediction.interview_id == interview.id)
    assert prediction.source == "vendor-2026" and prediction.model_version is None
    assert 1 <= prediction.value <= 5
    contributions = prediction.contributions
    contributions = json.loads(contributions) if isinstance(contributions, str) else contributions
    assert contributions[0][0].startswith("synthetic.")
