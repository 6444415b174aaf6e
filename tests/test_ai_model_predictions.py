"""One prediction per analysis, however many extractors ran and however often the analysis
is announced; reviewers' scores on the item's scale; re-scoring after activation; explanations
in words."""

from __future__ import annotations

import json

import pytest

from core.db.tables import Job
from core.features import FeatureLabel, store_features
from core.hookspecs import hookimpl
from core.plugins import PluginMeta
from core.tenancy import TenantScope
from plugins.ai_model.synthetic import synthetic_interviews
from plugins.ai_model.tables import ModelVersion, Prediction
from tests.conftest import HTML, form_csrf, login, wait_for_job
from tests.test_ai_model_flow import SyntheticBehaviour, build_through_the_job_queue, populate
from tests.test_ai_model_flow import host as ai_host  # noqa: F401


class VoiceFeatures:
    """A second extractor of the tenant, as speech analysis would add."""

    name = "voice"
    version = "1"
    input_kind = "audio"

    def labels(self):
        return {"speech_rate": FeatureLabel("話す速さ", "Speaking rate", "1分あたりの音節数です。",
                                            "Syllables per minute.", "/min")}

    def extract(self, source, progress):
        raise AssertionError("features are stored directly in this test")


class LabelledSynthetic(SyntheticBehaviour):
    def labels(self):
        return {"smile_ratio": FeatureLabel("笑顔の割合", "Smiling", "笑顔だった時間の割合です。", "Share of time smiling."),
                "presence_ratio": FeatureLabel("顔が映っていた割合", "Face in view", "顔が映っていた時間の割合です。",
                                               "Share of time a face was in view."),
                "head_movement_energy": FeatureLabel("頭の動きの大きさ", "Head movement", "頭をよく動かすほど大きくなります。",
                                                     "Higher when the head moves more.")}


class Observer:
    """Another plugin hearing every prediction, as a notification plugin would."""

    def __init__(self):
        self.made: list[tuple[str, str]] = []

    @hookimpl
    def mendan_plugin_meta(self):
        return PluginMeta(key="voice", name_ja="音声", name_en="Voice", version="1", kind="basic", hours="batch")

    @hookimpl
    def mendan_feature_extractors(self):
        return [VoiceFeatures()]

    @hookimpl
    def mendan_prediction_made(self, tenant_id, prediction):
        self.made.append((str(prediction.interview_id), prediction.item_key))


@pytest.fixture
def host(ai_host):  # noqa: F811
    ai_host.observer = Observer()
    ai_host.register(ai_host.observer, key="voice")
    return ai_host


async def predict_jobs(tenant) -> list[Job]:
    return await Job.objects().where((Job.tenant == tenant.id) & (Job.actor == "ai_model.predict"))


async def announce(host, tenant, interview, hook, **kwargs):
    await host.call_for_tenant(hook, tenant_id=tenant.id,
                               interview_id=interview.id, **kwargs)


async def test_two_extractors_give_one_prediction_per_item_per_analysis(app, client, host, make_tenant, make_user):
    tenant = await make_tenant()
    admin = await make_user(tenant, "admin")
    features, labels = synthetic_interviews(21, noise_features=2, seed=12)
    await populate(tenant, make_user, features.iloc[:20], labels.iloc[:20])
    await build_through_the_job_queue(app, tenant, admin)
    _, _, (interview,) = await populate(tenant, make_user, features.iloc[20:], None)
    scope = TenantScope(tenant.id)
    await store_features(scope, interview.id, VoiceFeatures(), {"speech_rate": 310.0})

    # As the pipeline does: each extractor's completion, then the analysis as a whole, once.
    for extractor in ("synthetic", "voice"):
        await announce(host, tenant, interview, "mendan_features_extracted", extractor=extractor)
    await announce(host, tenant, interview, "mendan_interview_analysed", succeeded=["synthetic", "voice"], failed=[])
    (job,) = await predict_jobs(tenant)  # per analysis, not per extractor
    assert (await wait_for_job(job.id)).state == "done"
    predictions = await Prediction.objects().where(Prediction.interview_id == interview.id)
    assert sorted(p.item_key for p in predictions) == ["composure", "warmth"]
    assert sorted(host.observer.made) == sorted((str(interview.id), k) for k in ("warmth", "composure"))

    # The same analysis announced again: no second set of predictions, no second hook call.
    await announce(host, tenant, interview, "mendan_interview_analysed", succeeded=["synthetic", "voice"], failed=[])
    jobs = await predict_jobs(tenant)
    assert len(jobs) == 2
    for job in jobs:
        finished = await wait_for_job(job.id)
        assert finished.state == "done", finished.error
    assert await Prediction.count().where(Prediction.interview_id == interview.id) == 2
    assert len(host.observer.made) == 2

    # A new analysis (other features) replaces the unconfirmed predictions: still one per item.
    await store_features(scope, interview.id, SyntheticBehaviour(),
                         features.iloc[20].to_dict() | {"smile_ratio": 0.9, "duration_s": 300.0})
    job = await wait_for_job(await app.state.tasks.enqueue("ai_model.predict", tenant_id=tenant.id,
                                                           interview_id=str(interview.id)))
    assert job.state == "done", job.error
    assert await Prediction.count().where(Prediction.interview_id == interview.id) == 2
    assert len(host.observer.made) == 4


@pytest.mark.parametrize("typed", ["99", "0", "-1", "nan", "NaN", "inf", "-inf", "五", ""])
async def test_a_reviewer_score_off_the_scale_or_not_finite_is_refused(app, client, make_tenant, make_user, typed):
    tenant = await make_tenant()
    features, _labels = synthetic_interviews(1, noise_features=0, seed=1)
    reviewer, _, (interview,) = await populate(tenant, make_user, features, None)
    prediction = Prediction(tenant=tenant.id, interview_id=interview.id, item_key="warmth", value=3.2, source="v1")
    await prediction.save()
    await login(client, tenant, reviewer)
    page = await client.get(f"/t/{tenant.slug}/interviews/{interview.id}", headers=HTML)
    url = f"/t/{tenant.slug}/ai_model/predictions/{prediction.id}/review"
    form = {"action": "override", "value": typed, "_csrf_token": form_csrf(page.text)}

    response = await client.post(url, data=form, headers=HTML | {"accept-language": "ja"})
    assert response.status_code == 400
    assert "「Warmth」" in response.text and "1" in response.text and "5" in response.text
    response = await client.post(url, data=form, headers={"accept": "application/json"})
    assert response.status_code == 400 and "Warmth" in response.json()["detail"]
    row = await Prediction.objects().where(Prediction.id == prediction.id).first()
    assert row.status == "unconfirmed" and row.override_value is None


async def test_a_reviewer_score_on_the_scale_is_kept(app, client, make_tenant, make_user):
    tenant = await make_tenant()
    features, _labels = synthetic_interviews(1, noise_features=0, seed=1)
    reviewer, _, (interview,) = await populate(tenant, make_user, features, None)
    prediction = Prediction(tenant=tenant.id, interview_id=interview.id, item_key="warmth", value=3.2, source="v1")
    await prediction.save()
    await login(client, tenant, reviewer)
    page = await client.get(f"/t/{tenant.slug}/interviews/{interview.id}", headers=HTML)
    response = await client.post(f"/t/{tenant.slug}/ai_model/predictions/{prediction.id}/review",
                                 data={"action": "override", "value": " 4.5 ", "_csrf_token": form_csrf(page.text)},
                                 headers=HTML, follow_redirects=False)
    assert response.status_code in (302, 303), response.text
    row = await Prediction.objects().where(Prediction.id == prediction.id).first()
    assert row.status == "overridden" and row.override_value == 4.5


async def test_activating_a_version_offers_a_rescore_job_billed_once_per_interview_and_version(
    app, client, make_tenant, make_user
):
    from billing.tables import UsageRow

    tenant = await make_tenant()
    admin = await make_user(tenant, "admin", language="en")
    features, labels = synthetic_interviews(23, noise_features=2, seed=13)
    await populate(tenant, make_user, features.iloc[:20], labels.iloc[:20])
    first = await build_through_the_job_queue(app, tenant, admin)
    _, _, fresh = await populate(tenant, make_user, features.iloc[20:], None)
    for interview in fresh:
        job = await wait_for_job(await app.state.tasks.enqueue("ai_model.predict", tenant_id=tenant.id,
                                                               interview_id=str(interview.id)))
        assert job.state == "done", job.error
    second = await build_through_the_job_queue(app, tenant, admin)
    assert first.active and not second.active

    await login(client, tenant, admin)
    page = await client.get(f"/t/{tenant.slug}/ai_model/", headers=HTML)
    await client.post(f"/t/{tenant.slug}/ai_model/versions/{second.id}/activate",
                      data={"_csrf_token": form_csrf(page.text)}, headers=HTML)
    page = await client.get(f"/t/{tenant.slug}/ai_model/", headers=HTML)
    assert "Re-score existing interviews" in page.text
    assert "23 interviews have no score from this version yet" in page.text  # 20 evaluated + 3 fresh

    async def rescore():
        response = await client.post(f"/t/{tenant.slug}/ai_model/versions/{second.id}/rescore",
                                     data={"_csrf_token": form_csrf(page.text)}, headers=HTML, follow_redirects=False)
        assert response.status_code in (302, 303), response.text
        job_id = response.headers["location"].rsplit("/", 1)[1]
        job = await wait_for_job(job_id)
        assert job.state == "done" and job.progress == 100, job.error
        return job

    job = await rescore()
    assert job.result_ref == "23 of 23 interviews re-scored with v2"
    for interview in fresh:
        rows = await Prediction.objects().where(Prediction.interview_id == interview.id)
        assert sorted((p.item_key, p.source) for p in rows) == [("composure", "v2"), ("warmth", "v2")]
    usage = [r for r in await UsageRow.objects().where(UsageRow.tenant == tenant.id) if r.meter == "ai_model.predictions"]
    assert len(usage) == 3 + 23  # the fresh ones by v1, then every analysed interview by v2

    job = await rescore()  # run again: the same features and model, nothing new
    assert job.result_ref == "0 of 23 interviews re-scored with v2"
    assert len([r for r in await UsageRow.objects().where(UsageRow.tenant == tenant.id)
                if r.meter == "ai_model.predictions"]) == 26
    page = await client.get(f"/t/{tenant.slug}/ai_model/", headers=HTML)
    assert "0 interviews have no score from this version yet" in page.text

    # Only the active version re-scores.
    response = await client.post(f"/t/{tenant.slug}/ai_model/versions/{first.id}/rescore",
                                 data={"_csrf_token": form_csrf(page.text)}, headers={"accept": "application/json"})
    assert response.status_code == 400 and "active" in response.json()["detail"]


async def test_explanations_show_labels_in_the_page_language(app, client, ai_host, make_tenant, make_user):  # noqa: F811
    ai_host.register(LabelledPlugin(), key="labelled")
    tenant = await make_tenant()
    admin = await make_user(tenant, "admin", language="ja")
    features, labels = synthetic_interviews(21, noise_features=2, seed=14)
    await populate(tenant, make_user, features.iloc[:20], labels.iloc[:20])
    await build_through_the_job_queue(app, tenant, admin)
    _, _, (interview,) = await populate(tenant, make_user, features.iloc[20:], None)
    job = await wait_for_job(await app.state.tasks.enqueue("ai_model.predict", tenant_id=tenant.id,
                                                           interview_id=str(interview.id)))
    assert job.state == "done", job.error

    await login(client, tenant, admin)
    page = await client.get(f"/t/{tenant.slug}/interviews/{interview.id}", headers=HTML)
    assert "笑顔の割合" in page.text and "頭の動きの大きさ" in page.text and "笑顔だった時間の割合です。" in page.text
    models = await client.get(f"/t/{tenant.slug}/ai_model/", headers=HTML)
    assert "<th scope=\"row\">笑顔の割合</th>" in models.text  # the importance chart
    export = await client.get(f"/t/{tenant.slug}/ai_model/predictions.csv")
    assert "頭の動きの大きさ" in export.text and "synthetic.head_movement_energy" not in export.text


class LabelledPlugin:
    """The synthetic feature family again, this time with labels."""

    @hookimpl
    def mendan_plugin_meta(self):
        return PluginMeta(key="labelled", name_ja="ラベル", name_en="Labelled", version="1", kind="basic", hours="batch")

    @hookimpl
    def mendan_feature_extractors(self):
        return [LabelledSynthetic()]
