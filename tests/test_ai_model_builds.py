"""Builds that end cleanly: per-item results, no retry of refusals, one version per job;
item keys that never pool scores across question sets; reviewers' scores on the item's scale."""

from __future__ import annotations

import json
from uuid import uuid4

import numpy as np
import pytest

from core.db.tables import Job
from core.interviews.question_sets import (
    EvaluationItem, Question, QuestionSetProblem, add_version, create_question_set, items_of,
)
from core.interviews.tables import Evaluation, QuestionSetVersion
from core.tasks import current_job_id
from core.tenancy import TenantScope
from plugins.ai_model import service
from plugins.ai_model.synthetic import synthetic_interviews
from plugins.ai_model.tables import ModelVersion, Prediction
from tests.conftest import HTML, form_csrf, login, wait_for_job
from tests.test_ai_model_flow import host, populate  # noqa: F401  (host: with ai_model and the synthetic extractor)


def loaded(value):
    return json.loads(value) if isinstance(value, str) else value


async def build_job(app, tenant, admin) -> tuple[Job, list[ModelVersion]]:
    job = await wait_for_job(await app.state.tasks.enqueue("ai_model.build", tenant_id=tenant.id,
                                                          requested_by=str(admin.id)))
    return job, await ModelVersion.objects().where(ModelVersion.tenant == tenant.id)


async def test_a_constant_item_is_left_out_with_its_reason_and_the_others_are_built(app, client, make_tenant, make_user):
    tenant = await make_tenant()
    admin = await make_user(tenant, "admin", language="ja")
    features, labels = synthetic_interviews(24, noise_features=2, seed=5)
    labels["composure"] = 5.0  # every expert gives every interview 5
    await populate(tenant, make_user, features, labels)

    job, versions = await build_job(app, tenant, admin)
    assert job.state == "done" and job.attempts == 1, job.error
    (version,) = versions  # one version, not one per retry
    assert version.state == "ready" and version.active
    assert set(loaded(version.items)) == {"warmth"}
    assert loaded(version.items)["warmth"]["n"] == 24
    skipped = loaded(version.skipped)
    assert skipped["composure"]["code"] == "constant" and skipped["composure"]["value"] == 5.0

    await login(client, tenant, admin)
    page = await client.get(f"/t/{tenant.slug}/ai_model/", headers=HTML)
    assert "この項目はすべての面談で熟練面談者の点数が同じ（5）" in page.text
    assert "All train targets are equal" not in page.text


async def test_an_item_with_too_few_scores_is_left_out_and_the_others_are_built(app, client, make_tenant, make_user):
    tenant = await make_tenant()
    admin = await make_user(tenant, "admin")
    scope = TenantScope(tenant.id)
    version = await create_question_set(scope, name="Optional", questions=[Question("自己紹介をお願いします。")], items=[
        EvaluationItem(key="warmth", name="Warmth"), EvaluationItem(key="composure", name="Composure", required=False)])
    features, labels = synthetic_interviews(20, noise_features=2, seed=6)
    labels.loc[labels.index[6:], "composure"] = np.nan  # only 6 interviews scored on it
    await populate(tenant, make_user, features, labels, version=version)

    job, (built,) = await build_job(app, tenant, admin)
    assert job.state == "done", job.error
    assert set(loaded(built.items)) == {"warmth"} and loaded(built.items)["warmth"]["n"] == 20
    assert loaded(built.skipped)["composure"] == {"code": "too_few", "item": "Composure", "n": 6, "minimum": 10}


async def test_a_build_no_item_can_make_fails_once_with_reasons_and_is_not_retried(app, client, make_tenant, make_user):
    tenant = await make_tenant()
    admin = await make_user(tenant, "admin", language="en")
    features, labels = synthetic_interviews(12, noise_features=2, seed=7)
    labels[:] = 5.0
    await populate(tenant, make_user, features, labels)

    job, versions = await build_job(app, tenant, admin)
    assert job.state == "failed" and job.attempts == 1  # a refusal: no retries
    (version,) = versions
    assert version.state == "failed" and loaded(version.failure)["code"] == "no_item"
    assert set(loaded(version.skipped)) == {"warmth", "composure"}
    await login(client, tenant, admin)
    page = await client.get(f"/t/{tenant.slug}/ai_model/", headers=HTML)
    assert "No evaluation item could be built." in page.text
    assert "Every interview has the same expert score (5) for this item" in page.text


async def test_an_unexpected_error_fails_the_version_and_the_retry_finishes_the_same_version(
    app, client, make_tenant, make_user, monkeypatch
):
    tenant = await make_tenant()
    admin = await make_user(tenant, "admin")
    features, labels = synthetic_interviews(12, noise_features=2, seed=8)
    await populate(tenant, make_user, features, labels)
    seen: list[str] = []
    real_build = service.build

    def flaky_build(*args, **kwargs):
        version = ModelVersion.objects().where(ModelVersion.tenant == tenant.id).first().run_sync()
        seen.append(version.state)
        if len(seen) == 1:
            raise MemoryError("out of memory")  # not the data's fault: worth a retry
        return real_build(*args, **kwargs)

    monkeypatch.setattr(service, "build", flaky_build)
    job, versions = await build_job(app, tenant, admin)
    assert job.state == "done" and job.attempts == 2, job.error
    (version,) = versions
    assert version.state == "ready" and version.job_id == job.id
    assert seen == ["building", "building"]  # the failed attempt's version was taken up again


async def test_a_job_whose_worker_died_mid_build_finishes_once(app, client, make_tenant, make_user):
    tenant = await make_tenant()
    admin = await make_user(tenant, "admin")
    features, labels = synthetic_interviews(12, noise_features=2, seed=9)
    await populate(tenant, make_user, features, labels)
    # What a worker killed during the build leaves: the job running, its version building.
    job_id = uuid4()
    args = {"requested_by": str(admin.id)}
    await Job.insert(Job(id=job_id, tenant=tenant.id, actor="ai_model.build", args=args, state="running", attempts=1))
    await ModelVersion.insert(ModelVersion(tenant=tenant.id, number=1, job_id=job_id, state="building"))

    app.state.tasks._send("ai_model.build", job_id, tenant.id, args, retries=1)  # as requeue_unfinished does
    job = await wait_for_job(job_id)
    assert job.state == "done", job.error
    (version,) = await ModelVersion.objects().where(ModelVersion.tenant == tenant.id)
    assert version.number == 1 and version.state == "ready"

    # Delivered once more (a duplicate message): nothing new is built or billed.
    token = current_job_id.set(str(job_id))
    try:
        assert await service.build_model(str(tenant.id), str(admin.id)) == "model version 1"
    finally:
        current_job_id.reset(token)
    assert await ModelVersion.count().where(ModelVersion.tenant == tenant.id) == 1


async def test_japanese_item_names_get_keys_of_their_own_set_and_builds_count_real_scores(app, client, make_tenant, make_user):
    tenant = await make_tenant()
    admin = await make_user(tenant, "admin")
    scope = TenantScope(tenant.id)
    questions = [Question("自己紹介をお願いします。")]
    first = await create_question_set(scope, name="新卒", questions=questions,
                                      items=[EvaluationItem(key="", name="親しみやすさ"), EvaluationItem(key="", name="落ち着き")])
    second = await create_question_set(scope, name="中途", questions=questions,
                                       items=[EvaluationItem(key="", name="親しみやすさ"), EvaluationItem(key="", name="論理性")])
    first_keys = [i.key for i in items_of(first)]
    second_keys = [i.key for i in items_of(second)]
    assert len(set(first_keys + second_keys)) == 4 and "item" not in first_keys + second_keys

    # Renamed in a new version of the same set, an item keeps its key; a new item gets a fresh one.
    renamed = [EvaluationItem(key=first_keys[0], name="話しやすさ"), EvaluationItem(key=first_keys[1], name="落ち着き"),
               EvaluationItem(key="", name="積極性")]
    v2 = await add_version(scope, first.question_set, questions=questions, items=renamed)
    v2_keys = [i.key for i in items_of(v2)]
    assert v2_keys[:2] == first_keys and v2_keys[2] not in first_keys + second_keys
    # A key of another set is refused, however it arrives (an edited form, the API).
    with pytest.raises(QuestionSetProblem, match="別の質問セット"):
        await add_version(scope, first.question_set, questions=questions,
                          items=[EvaluationItem(key=second_keys[0], name="親しみやすさ")])

    # Scores of the two sets' 親しみやすさ are two items: n is each one's own count.
    features, labels = synthetic_interviews(22, noise_features=2, seed=10)
    a, b = labels.iloc[:12], labels.iloc[12:]
    await populate(tenant, make_user, features.iloc[:12],
                   a.rename(columns={"warmth": first_keys[0], "composure": first_keys[1]}), version=first)
    await populate(tenant, make_user, features.iloc[12:],
                   b.rename(columns={"warmth": second_keys[0], "composure": second_keys[1]}), version=second)
    job, (version,) = await build_job(app, tenant, admin)
    assert job.state == "done", job.error
    items = loaded(version.items)
    assert items[first_keys[0]]["n"] == 12 and items[first_keys[0]]["name"] == "話しやすさ"
    assert items[second_keys[0]]["n"] == 10 and items[second_keys[0]]["name"] == "親しみやすさ"


async def test_the_migration_gives_shared_keys_of_later_sets_keys_of_their_own(app, make_tenant, make_user):
    from importlib import import_module

    migration = import_module("core.interviews.migrations.mendan_interviews_2026_11_29t18_50_00_000000")
    tenant = await make_tenant()
    scope = TenantScope(tenant.id)
    expert = await make_user(tenant, "expert")
    questions = [Question("自己紹介をお願いします。")]
    first = await create_question_set(scope, name="A", questions=questions, items=[EvaluationItem(key="", name="印象")])
    second = await create_question_set(scope, name="B", questions=questions, items=[EvaluationItem(key="", name="態度")])
    # What the old key rule stored: both sets' Japanese items under `item`, and scores under it.
    for version in (first, second):
        await QuestionSetVersion.update({QuestionSetVersion.items: [
            {**loaded(version.items)[0], "key": "item"}]}).where(QuestionSetVersion.id == version.id)
    features, _labels = synthetic_interviews(1, noise_features=0)
    _, _, (interview,) = await populate(tenant, make_user, features, None, version=second)
    evaluation = await scope.add(Evaluation(interview=interview.id, evaluator=expert.id, evaluator_role="expert",
                                            question_set_version=second.id, scores={"item": 4}))

    await migration.separate_shared_keys()

    kept = items_of(await scope.get(QuestionSetVersion, first.id))[0].key
    moved = items_of(await scope.get(QuestionSetVersion, second.id))[0].key
    assert kept == "item" and moved.startswith("item_") and moved != "item"
    assert loaded((await scope.get(Evaluation, evaluation.id)).scores) == {moved: 4}
