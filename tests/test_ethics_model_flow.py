"""End to end: protected attributes entered by an admin and self-declared by an interviewee,
never reaching the model; a model built by ai_model analysed by ethics_model through the
contract; the report flags the planted expert bias; only permitted roles see any of it."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest

import plugins.ai_model.plugin as ai_model_plugin
import plugins.ethics_model.plugin as ethics_model_plugin
from billing.tables import UsageRow
from core.interviews.attributes import AttributeProblem, attributes_of, define_attribute, definitions, set_attributes
from core.interviews.attributes.tables import PersonAttributes
from core.db.tables import FeatureValue
from core.features import store_features
from core.hookspecs import hookimpl
from core.interviews.evaluations import save_evaluation
from core.interviews.question_sets import EvaluationItem, Question, create_question_set
from core.interviews.schedule import advance, schedule_interview
from core.plugins import PluginMeta
from core.tenancy import TenantScope
from plugins.ai_model.service import training_set
from plugins.ai_model.tables import ModelVersion
from plugins.ethics_model.tables import ModelReport
from tests.conftest import HTML, form_csrf, login, wait_for_job

N = 60


class Behaviour:
    name = "synthetic"
    version = "1"
    input_kind = "video"

    def extract(self, source, progress):
        raise AssertionError("features are stored directly in this test")


class SyntheticPlugin:
    @hookimpl
    def mendan_plugin_meta(self):
        return PluginMeta(key="synthetic", name_ja="合成", name_en="Synthetic", version="1", kind="basic",
                          hours="batch")

    @hookimpl
    def mendan_feature_extractors(self):
        return [Behaviour()]


@pytest.fixture
def host(host):
    host.register(ai_model_plugin, key="ai_model")
    host.register(ethics_model_plugin, key="ethics_model")
    host.register(SyntheticPlugin(), key="synthetic")
    return host


async def populate(tenant, make_user):
    """N analysed interviews, each scored by two experts; the first expert scores women 1 lower."""
    scope = TenantScope(tenant.id)
    rng = np.random.default_rng(5)
    interviewer = await make_user(tenant, "interviewer")
    experts = [await make_user(tenant, "expert", display_name="Expert One"),
               await make_user(tenant, "expert", display_name="Expert Two")]
    version = await create_question_set(scope, name="Graduates", questions=[Question("自己紹介をお願いします。")],
                                        items=[EvaluationItem(key="overall", name="Overall")])
    people = []
    for i in range(N):
        interviewee = await make_user(tenant, "interviewee", password=None)
        interview = await schedule_interview(
            scope, kind="live", starts_at=datetime(2026, 12, 1, 1, tzinfo=timezone.utc), interviewee_id=interviewee.id,
            interviewer_id=interviewer.id, expert_ids=[e.id for e in experts], version_id=version.id,
            check=False)  # interviews already held: training material
        await advance(scope, interview, "recorded")
        smile = float(rng.uniform(0, 1))
        await store_features(scope, interview.id, Behaviour(),
                             {"smile_ratio": smile, "noise": float(rng.normal()), "duration_s": 300.0})
        woman = i % 2 == 0
        quality = 1.8 + 2.6 * smile
        for j, expert in enumerate(experts):
            score = quality + rng.normal(0, 0.3) - (1.0 if j == 0 and woman else 0.0)
            await save_evaluation(scope, interview, expert, {"overall": str(int(np.clip(np.round(score), 1, 5)))}, "")
        people.append((interviewee, "female" if woman else "male"))
    return interviewer, experts, people


async def test_attributes_stay_out_of_the_model_and_the_report_flags_the_planted_expert(
    app, client, make_tenant, make_user
):
    tenant = await make_tenant()
    admin = await make_user(tenant, "admin")
    scope = TenantScope(tenant.id)
    interviewer, experts, people = await populate(tenant, make_user)
    before, labels, _items, _excluded, _versions = await training_set(scope)

    await define_attribute(scope, key="gender", name_ja="性別", name_en="Gender",
                           choices_text="female | 女性 | Female\nmale | 男性 | Male")
    for person, gender in people:
        await set_attributes(scope, person.id, {"gender": gender}, actor=admin)

    # The training matrix is the same with attributes stored as without; no column carries them.
    after, *_ = await training_set(scope)
    assert list(after.columns) == list(before.columns) == ["synthetic.duration_s", "synthetic.noise",
                                                           "synthetic.smile_ratio"]
    assert after.equals(before)
    assert not await FeatureValue.exists().where(
        (FeatureValue.tenant == tenant.id) & (FeatureValue.name.like("%gender%")))
    # Sealed: the stored row does not hold the value in clear.
    sealed = await PersonAttributes.objects().where(PersonAttributes.person == people[0][0].id).first()
    assert "female" not in sealed.sealed and await attributes_of(scope, people[0][0].id) == {"gender": "female"}

    job = await wait_for_job(await app.state.tasks.enqueue("ai_model.build", tenant_id=tenant.id,
                                                           requested_by=str(admin.id)))
    assert job.state == "done", job.error
    version = await ModelVersion.objects().where(ModelVersion.tenant == tenant.id).first()
    await app.state.plugin_host.set_enabled(tenant.id, "ethics_model", True)

    await login(client, tenant, admin)
    listing = await client.get(f"/t/{tenant.slug}/ethics_model/", headers=HTML)
    assert listing.status_code == 200 and f"v{version.number}" in listing.text
    response = await client.post(f"/t/{tenant.slug}/ethics_model/versions/{version.id}/analyse",
                                 data={"_csrf_token": form_csrf(listing.text)}, headers=HTML, follow_redirects=False)
    assert response.status_code in (302, 303), response.text
    job_id = response.headers["location"].rsplit("/", 1)[-1]
    job = await wait_for_job(job_id)
    assert job.state == "done", job.error

    row = await ModelReport.objects().where(ModelReport.tenant == tenant.id).first()
    report = row.report if isinstance(row.report, dict) else __import__("json").loads(row.report)
    flagged = [r for r in report["items"][0]["experts"] if r["flagged"]]
    assert [(r["expert_id"], r["group"]) for r in flagged] == [(str(experts[0].id), "female")]
    assert row.risk in ("medium", "high")
    assert report["items"][0]["errors"], "the cross-validated predictions came through the contract"
    assert report["ablation"]["rows"][0]["family"] == "synthetic"

    assert await UsageRow.count().where(
        (UsageRow.tenant == tenant.id) & (UsageRow.meter == "ethics_model.analyses")) == 1

    page = await client.get(f"/t/{tenant.slug}/ethics_model/reports/{row.id}", headers=HTML)
    assert page.status_code == 200 and "Expert One" in page.text and "data:image/png;base64," in page.text
    pdf = await client.get(f"/t/{tenant.slug}/ethics_model/reports/{row.id}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    csv_text = (await client.get(f"/t/{tenant.slug}/ethics_model/reports/{row.id}/csv")).text
    assert "experts" in csv_text and "Expert One" in csv_text

    # Everyone without the permission gets 404, whatever they ask for.
    paths = [f"/t/{tenant.slug}/ethics_model/", f"/t/{tenant.slug}/ethics_model/reports/{row.id}",
             f"/t/{tenant.slug}/ethics_model/reports/{row.id}/pdf", f"/t/{tenant.slug}/ethics_model/reports/{row.id}/csv",
             f"/t/{tenant.slug}/attributes/", f"/t/{tenant.slug}/attributes/people/{people[0][0].id}"]
    for user in (interviewer, experts[0]):
        client.cookies.clear()
        await login(client, tenant, user)
        for path in paths:
            assert (await client.get(path, headers=HTML)).status_code == 404, (user.role, path)


async def test_interviewee_declares_with_consent_and_sees_only_their_own(client, make_tenant, make_user):
    tenant = await make_tenant()
    admin = await make_user(tenant, "admin")
    interviewee = await make_user(tenant, "interviewee")
    other = await make_user(tenant, "interviewee", password=None)
    scope = TenantScope(tenant.id)
    await define_attribute(scope, key="age_band", name_ja="年代", name_en="Age band",
                           choices_text="20s | 20代 | 20s\n30s | 30代 | 30s")
    await login(client, tenant, interviewee)
    form = await client.get(f"/t/{tenant.slug}/attributes/me", headers=HTML)
    assert form.status_code == 200 and "回答しない" in form.text  # "prefer not to say" is always offered
    refused = await client.post(f"/t/{tenant.slug}/attributes/me", headers=HTML,
                                data={"attr_age_band": "30s", "_csrf_token": form_csrf(form.text)})
    assert refused.status_code == 400 and await attributes_of(scope, interviewee.id) == {}
    saved = await client.post(f"/t/{tenant.slug}/attributes/me", headers=HTML, follow_redirects=False,
                              data={"attr_age_band": "undisclosed", "consent": "yes",
                                    "_csrf_token": form_csrf(form.text)})
    assert saved.status_code in (302, 303)
    assert await attributes_of(scope, interviewee.id) == {"age_band": "undisclosed"}
    row = await PersonAttributes.objects().where(PersonAttributes.person == interviewee.id).first()
    assert row.source == "self" and row.consent_at is not None
    bad = await client.post(f"/t/{tenant.slug}/attributes/me", headers=HTML,
                            data={"attr_age_band": "90s", "consent": "yes", "_csrf_token": form_csrf(form.text)})
    assert bad.status_code == 400 and await attributes_of(scope, interviewee.id) == {"age_band": "undisclosed"}
    for path in (f"/t/{tenant.slug}/attributes/", f"/t/{tenant.slug}/attributes/people/{other.id}"):
        assert (await client.get(path, headers=HTML)).status_code == 404

    client.cookies.clear()
    await login(client, tenant, admin)
    person = await client.get(f"/t/{tenant.slug}/attributes/people/{interviewee.id}", headers=HTML)
    assert person.status_code == 200 and 'value="undisclosed" selected' in person.text

    # The admin defines another attribute; a malformed value list is refused in the page's language.
    index = await client.get(f"/t/{tenant.slug}/attributes/", headers=HTML)
    assert index.status_code == 200 and "年代" in index.text
    refused = await client.post(f"/t/{tenant.slug}/attributes/definitions", headers=HTML,
                                data={"key": "nationality", "name_ja": "国籍", "name_en": "Nationality",
                                      "choices": "JP | 日本", "_csrf_token": form_csrf(index.text)})
    assert refused.status_code == 400 and "1 行目" in refused.text and "小文字" in refused.text
    added = await client.post(f"/t/{tenant.slug}/attributes/definitions", headers=HTML, follow_redirects=False,
                              data={"key": "nationality", "name_ja": "国籍", "name_en": "Nationality",
                                    "choices": "jp | 日本 | Japan\nother | その他 | Other",
                                    "_csrf_token": form_csrf(index.text)})
    assert added.status_code in (302, 303)
    index = await client.get(f"/t/{tenant.slug}/attributes/", headers=HTML)
    assert "国籍" in index.text and "日本" in index.text and "回答しない" in index.text


async def test_an_attribute_name_or_value_with_a_control_character_is_refused(make_tenant):
    scope = TenantScope((await make_tenant()).id)
    for name_ja, values in (("性別\x00", "female | 女性 | Female\nmale | 男性 | Male"),
                            ("性別", "female | 女\x07性 | Female\nmale | 男性 | Male")):
        with pytest.raises(AttributeProblem, match="制御文字|control character"):
            await define_attribute(scope, key="gender", name_ja=name_ja, name_en="Gender", choices_text=values)
    assert await definitions(scope) == []
