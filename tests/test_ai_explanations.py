"""AI explanations HR can read (issue 20): an "insufficient data" reason is said in words wherever
it reaches people (the interview page, the CSV export, the REST API, the webhook payload), every
metric of the model page is explained in a sentence, every time on a page is Japan time, and a
face-based score carries a fairness note that links to the AI-ethics reports where such an option
is on for the tenant (and only then).

One tenant per module: a model built from synthetic behaviour (a `video` extractor: its scores are
face-based), an interview it scored and one whose face was seldom in view."""

from __future__ import annotations

import csv
import io
import json
import re
import secrets
from datetime import datetime, timezone

import pytest
import pytest_asyncio

import plugins.ai_model.plugin as ai_model_plugin
import plugins.ethics_model.plugin as ethics_model_plugin
import plugins.ethics_prediction.plugin as ethics_prediction_plugin
from core.auth.tokens import create_api_token
from core.config import use_settings
from core.db.tables import ApiToken, Job
from core.features import store_features
from core.plugins import PluginHost
from core.storage import BlobStore
from core.tenancy import TenantScope, create_tenant
from core.webhooks.endpoints import register
from core.webhooks.tables import WebhookDelivery
from mendan.pytest_plugin import BASE_URL, HTML, PASSWORD
from plugins.ai_model.synthetic import synthetic_interviews
from plugins.ai_model.tables import ModelVersion, Prediction
from tests.conftest import login, wait_for_job
from tests.japanese_world import _person
from tests.test_ai_model_flow import SyntheticBehaviour, SyntheticPlugin, populate

TRAINING = 24
IN_WORDS = {"ja": "顔が映っている時間が録画の半分未満です（20%）。",
            "en": "A face was in view for less than half of the recording (20%)."}
CODE = "presence_ratio 0.20 is below 0.5"
NOTE = {"ja": "このスコアは顔の表情や動きを読み取っています。", "en": "This score reads the face's expressions and movements."}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(mendan_database):
    from litestar.testing import AsyncTestClient

    from mendan.app import create_app

    host = PluginHost()
    for module, key in ((ai_model_plugin, "ai_model"), (ethics_model_plugin, "ethics_model"),
                        (ethics_prediction_plugin, "ethics_prediction")):
        host.register(module, key=key)
    host.register(SyntheticPlugin(), key="synthetic")
    app = create_app(use_settings(mendan_database), host=host)
    async with AsyncTestClient(app, base_url=BASE_URL) as client:  # started: the jobs run
        tenant = await create_tenant(BlobStore.from_settings(mendan_database), slug=f"t-{secrets.token_hex(4)}",
                                     name="テスト株式会社")

        async def make_user(tenant, role, password=PASSWORD):
            """As mendan's `make_user` fixture makes people (populate's helper), in Japanese."""
            return await _person(tenant, role, role, password=password is not None)

        admin = await _person(tenant, "admin", "管理 花子")
        scope = TenantScope(tenant.id)
        # A receiver of the tenant's predictions: what it is sent is read back from the deliveries.
        await register(scope, url="http://127.0.0.1:9/hooks", description="", events=["prediction.made"],
                       production=False, user=admin)
        features, labels = synthetic_interviews(TRAINING + 2, noise_features=2, seed=3)
        await populate(tenant, make_user, features.iloc[:TRAINING], labels.iloc[:TRAINING])
        built = await wait_for_job(await app.state.tasks.enqueue("ai_model.build", tenant_id=tenant.id,
                                                                 requested_by=str(admin.id)))
        assert built.state == "done", built.error
        interviewer, _experts, (scored, poor) = await populate(tenant, make_user, features.iloc[TRAINING:], None)
        await store_features(scope, poor.id, SyntheticBehaviour(),
                             features.iloc[-1].to_dict() | {"presence_ratio": 0.2, "duration_s": 300.0})
        for interview in (scored, poor):
            job = await wait_for_job(await app.state.tasks.enqueue("ai_model.predict", tenant_id=tenant.id,
                                                                   interview_id=str(interview.id)))
            assert job.state == "done", job.error
        yield {"app": app, "host": host, "client": client, "tenant": tenant, "admin": admin,
               "interviewer": interviewer, "scored": scored, "poor": poor, "build_job": built}


async def _as(world, person, language: str = "ja"):
    client = world["client"]
    client.cookies.clear()
    await login(client, world["tenant"], person)
    client.cookies.set("lang", language)
    return client


@pytest.mark.parametrize("language", ("ja", "en"))
async def test_insufficient_data_is_said_in_words_on_the_page_in_the_csv_the_api_and_webhooks(world, language):
    client, slug, poor = await _as(world, world["admin"], language), world["tenant"].slug, world["poor"]
    words = IN_WORDS[language]
    assert (await Prediction.objects().where(Prediction.interview_id == poor.id).first()).insufficient_data == CODE

    page = await client.get(f"/t/{slug}/interviews/{poor.id}", headers=HTML)
    assert words in page.text and CODE not in page.text

    export = await client.get(f"/t/{slug}/ai_model/predictions.csv")
    rows = [r for r in csv.DictReader(io.StringIO(export.text.lstrip("\ufeff"))) if r["interview_id"] == str(poor.id)]
    assert rows and all(r["insufficient_data"] == words for r in rows)

    token = await create_api_token(world["admin"], "explanations", scope="read")
    answer = await client.get(f"/api/v1/t/{slug}/ai_model/predictions", params={"interview_id": str(poor.id)},
                              headers={"authorization": f"Bearer {token}", "accept-language": language})
    listed = answer.json()["items"]
    assert listed and all(p["insufficient_data"] == words for p in listed), listed

    sent = [json.loads(d.body) for d in await WebhookDelivery.objects().where(
        (WebhookDelivery.tenant == world["tenant"].id) & (WebhookDelivery.event_type == "prediction.made"))]
    about_poor = [b["data"] for b in sent if b["data"]["interview_id"] == str(poor.id)]
    assert about_poor and all(d["insufficient_data_text"][language] == words for d in about_poor)


async def test_a_face_based_score_has_a_fairness_note_linking_the_ethics_reports_only_where_an_option_is_on(world):
    host, tenant, scored = world["host"], world["tenant"], world["scored"]
    reports = (f'href="/t/{tenant.slug}/ethics_model/"', f'href="/t/{tenant.slug}/ethics_prediction/"')

    async def shown(person, language="ja"):
        client = await _as(world, person, language)
        return (await client.get(f"/t/{tenant.slug}/interviews/{scored.id}", headers=HTML)).text

    for key in ("ethics_model", "ethics_prediction"):
        await host.set_enabled(tenant.id, key, False)
    off = await shown(world["admin"])
    assert NOTE["ja"] in off and not any(link in off for link in reports)

    await host.set_enabled(tenant.id, "ethics_model", True)
    on = await shown(world["admin"])
    assert NOTE["ja"] in on and reports[0] in on and reports[1] not in on
    assert NOTE["en"] in await shown(world["admin"], "en")
    # The reports are the admins' (protected attributes): others read the note without the link.
    interviewer = await shown(world["interviewer"])
    assert NOTE["ja"] in interviewer and reports[0] not in interviewer
    await host.set_enabled(tenant.id, "ethics_model", False)


@pytest.mark.parametrize("language", ("ja", "en"))
async def test_every_metric_on_the_model_page_is_explained_in_a_sentence(world, language):
    client = await _as(world, world["admin"], language)
    page = (await client.get(f"/t/{world['tenant'].slug}/ai_model/", headers=HTML)).text
    table = re.search(r"<table>\s*<thead><tr>(.*?)</tr></thead>", page, re.S).group(1)
    metrics = re.findall(r"<th>(.*?)</th>", table)[1:]  # the first column names the item
    explained = dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", page))
    assert len(metrics) >= 6
    ending = "。" if language == "ja" else "."
    for metric in metrics:
        assert explained.get(metric, "").endswith(ending), (metric, explained.get(metric))


async def test_times_stored_in_utc_are_shown_as_japan_time(world):
    """23:30 UTC on 1 March is 08:30 on 2 March in Japan: the pages show the Japanese clock and date."""
    utc = datetime(2026, 3, 1, 23, 30, tzinfo=timezone.utc)
    admin, tenant = world["admin"], world["tenant"]
    await Job.update({Job.created_at: utc}).where(Job.id == world["build_job"].id)
    await ModelVersion.update({ModelVersion.created_at: utc}).where(ModelVersion.tenant == tenant.id)
    await create_api_token(admin, "time", scope="read")
    await ApiToken.update({ApiToken.created_at: utc}).where(ApiToken.user == admin.id)
    await Prediction.update({Prediction.created_at: utc}).where(Prediction.interview_id == world["scored"].id)
    client = await _as(world, admin)
    for path in ("jobs", "ai_model/", "tokens"):
        page = (await client.get(f"/t/{tenant.slug}/{path}", headers=HTML)).text
        assert "2026-03-02 08:30" in page, path
        assert "2026-03-01 23:30" not in page and "UTC" not in page, path
    export = (await client.get(f"/t/{tenant.slug}/ai_model/predictions.csv")).text
    scored = [r for r in csv.DictReader(io.StringIO(export.lstrip("\ufeff")))
              if r["interview_id"] == str(world["scored"].id)]
    assert scored and all(r["created_at"] == "2026-03-02T08:30:00+09:00" for r in scored), scored
