"""The pretrained-model option: a vendor model trained in the operators' workspace predicts a new
tenant's first interview with explanations; with 60 interviews its own model and the vendor's are
compared and blended, the choice audited; without the option nothing of it reaches the tenant,
and the vendor's material never reaches any tenant."""

from __future__ import annotations

import json
from uuid import UUID, uuid4

import numpy as np
import pytest

import plugins.ai_model.plugin as ai_model_plugin
import plugins.ethics_prediction.plugin as ethics_prediction_plugin
import plugins.pretrained_model.plugin as pretrained_plugin
from core.db.tables import AuditEntry
from core.model_training import bootstrap_interval, cross_fitted_blend
from core.tasks import current_job_id
from core.tables import json_value
from core.tenancy import TenantScope
from plugins.ai_model.synthetic import synthetic_interviews
from plugins.ai_model.tables import Prediction
from plugins.pretrained_model import service
from plugins.pretrained_model.tables import Artifact, Choice, Material, VendorVersion
from tenants.options import set_option
from tests.conftest import HTML, eventually, form_csrf, login, wait_for_job
from tests.test_ai_model_flow import SyntheticPlugin, build_through_the_job_queue, populate

SECRET_REFERENCE = "vendor-only-reference-7Q"
SECRET_DONOR = "donor-company-Z9"


@pytest.fixture
def host(host):
    host.register(ai_model_plugin, key="ai_model")
    host.register(SyntheticPlugin(), key="synthetic")
    host.register(pretrained_plugin, key="pretrained_model")
    return host


@pytest.fixture
async def vendor_version():
    """A published vendor model on generated material of the tests' feature family (once per database),
    and a donated interview whose reference and donor must never reach a tenant."""
    version = await service.ensure_generated_version(extractor="synthetic", n=80)
    if not await Material.count().where(Material.reference == SECRET_REFERENCE):
        await service.add_material([{"reference": SECRET_REFERENCE, "recorded_on": None,
                                     "features": {"synthetic.presence_ratio": 0.777001},
                                     "scores": {"warmth": 3.0}}],
                                   origin="donated", donor=SECRET_DONOR, consent_record="consent-2026-001")
    return version


async def _accept(client, tenant, version, mapping):
    page = await client.get(f"/t/{tenant.slug}/pretrained_model/", headers=HTML)
    assert page.status_code == 200
    data = {"_csrf_token": form_csrf(page.text), "version_id": str(version.id)} | {f"item:{k}": v for k, v in mapping.items()}
    response = await client.post(f"/t/{tenant.slug}/pretrained_model/mapping", data=data, headers=HTML,
                                 follow_redirects=False)
    assert response.status_code in (302, 303), response.text
    return page


async def _predict(app, tenant, interview):
    job = await wait_for_job(await app.state.tasks.enqueue("ai_model.predict", tenant_id=tenant.id,
                                                           interview_id=str(interview.id)))
    assert job.state == "done", job.error
    return await TenantScope(tenant.id).objects(Prediction).where(Prediction.interview_id == interview.id)


async def test_a_new_tenant_gets_explained_vendor_predictions_from_its_first_interview(
        app, host, client, make_tenant, make_user, vendor_version):
    tenant = await make_tenant()
    operator = await make_user(None, "operator")
    await set_option(tenant.id, "pretrained_model", True, by=operator)  # the contract's option, as /ops/ switches it
    admin = await make_user(tenant, "admin", language="en")
    scope = TenantScope(tenant.id)
    await login(client, tenant, admin)
    features, _labels = synthetic_interviews(1, noise_features=0, seed=21)
    _reviewer, _experts, (interview,) = await populate(tenant, make_user, features, None)
    assert await scope.count(Prediction) == 0

    page = await _accept(client, tenant, vendor_version, {"warmth": "warmth", "composure": "composure"})
    # The card comes before use: data size, items and scales, metrics, intended use, limits, licence.
    for text in ("Model card", "Trained on generated data", "Intended use", "Limits", "Licence", "Spearman",
                 "mendan demo licence"):
        assert text in page.text, text
    assert await AuditEntry.count().where((AuditEntry.tenant == tenant.id)
                                          & (AuditEntry.action == "pretrained_model.mapped")) == 1

    # Its first analysis finishes: the AI model predicts from there, as for any analysed interview.
    await host.call_for_tenant("mendan_interview_analysed", tenant_id=tenant.id, interview_id=interview.id,
                               succeeded=["synthetic"], failed=[])

    async def predicted():
        rows = await scope.objects(Prediction).where(Prediction.interview_id == interview.id)
        return rows if len(rows) == 2 else None

    made = await eventually(predicted, what="the vendor model's predictions")
    assert {p.item_key for p in made} == {"warmth", "composure"}
    for prediction in made:
        assert prediction.source == f"vendor-v{vendor_version.number}" and prediction.model_version is None
        assert 1 <= prediction.value <= 5
        contributions = json.loads(prediction.contributions) if isinstance(prediction.contributions, str) \
            else prediction.contributions
        assert contributions and contributions[0][0].startswith("synthetic.")
    shown = await client.get(f"/t/{tenant.slug}/interviews/{interview.id}", headers=HTML)
    assert 'data-model="vendor"' in shown.text and "Predicted by the pretrained model" in shown.text

    # The card's ethics report: none can exist for vendor material; with the AI-ethics option for
    # predictions, the card points to where this tenant's predictions are monitored.
    assert "No fairness report: the provider's training material holds no protected attributes" in page.text
    assert 'id="ethics-monitoring"' not in page.text
    host.register(ethics_prediction_plugin, key="ethics_prediction")
    await set_option(tenant.id, "ethics_prediction", True, by=operator)
    page = await client.get(f"/t/{tenant.slug}/pretrained_model/", headers=HTML)
    assert f'<a href="/t/{tenant.slug}/ethics_prediction/" id="ethics-monitoring">' in page.text
    await client.get("/lang/ja")
    page = await client.get(f"/t/{tenant.slug}/pretrained_model/", headers=HTML)
    assert "公平性レポートはありません" in page.text and "AI倫理（予測）</a>" in page.text


async def test_comparison_blend_and_audited_choice_on_a_tenant_with_60_interviews(
        app, host, client, make_tenant, make_user, vendor_version):
    tenant = await make_tenant()
    await host.set_enabled(tenant.id, "pretrained_model", True)
    admin = await make_user(tenant, "admin", language="en")
    features, labels = synthetic_interviews(61, noise_features=4, seed=33)
    await populate(tenant, make_user, features.iloc[:60], labels.iloc[:60])
    _r, _e, (fresh,) = await populate(tenant, make_user, features.iloc[60:], None)
    await login(client, tenant, admin)
    await _accept(client, tenant, vendor_version, {"warmth": "warmth", "composure": "composure"})
    own = await build_through_the_job_queue(app, tenant, admin)

    page = await client.get(f"/t/{tenant.slug}/pretrained_model/", headers=HTML)
    assert page.status_code == 200 and 'id="comparison"' in page.text
    for model in ("own", "vendor", "blend"):
        assert f'data-model="{model}"' in page.text
    measured = await service.comparison(tenant.id)
    assert measured["own_version"] == own.number and set(measured["items"]) == {"warmth", "composure"}
    for key, item in measured["items"].items():
        assert item["n"] == 60
        m = item["metrics"]
        best = min(m["own"]["mae"], m["vendor"]["mae"])
        print(key, {k: round(v["mae"], 3) for k, v in m.items()}, "blend interval",
              round(m["blend"]["mae_low"], 3), round(m["blend"]["mae_high"], 3), "weight", round(item["weight"], 3))
        assert m["blend"]["mae"] <= best + (m["blend"]["mae_high"] - m["blend"]["mae"])
        for model in ("own", "vendor", "blend"):
            assert f'<td class="mae">{m[model]["mae"]:.3f}</td>' in page.text

    for use, kind in (("blend", "blend:"), ("vendor", "vendor-v"), ("own", "v")):
        response = await client.post(f"/t/{tenant.slug}/pretrained_model/choice",
                                     data={"_csrf_token": form_csrf(page.text), "use": use}, headers=HTML,
                                     follow_redirects=False)
        assert response.status_code in (302, 303), response.text
        made = await _predict(app, tenant, fresh)
        assert made and all(p.source.startswith(kind) for p in made), [p.source for p in made]
        if use != "own":  # the re-score job names the model that made its predictions
            job = await wait_for_job(await app.state.tasks.enqueue("ai_model.rescore", tenant_id=tenant.id,
                                                                   version_id=str(own.id)))
            assert job.state == "done" and job.result_ref.endswith(f"re-scored with {made[0].source}"), job.result_ref
    entries = await AuditEntry.objects().where((AuditEntry.tenant == tenant.id)
                                               & (AuditEntry.action == "pretrained_model.chosen"))
    assert [e.target for e in entries] == ["blend", "vendor", "own"] or sorted(e.target for e in entries) == [
        "blend", "own", "vendor"]

    # The blend's weights follow the tenant's own model: measured when chosen, and again whenever
    # another version of it becomes active (`mendan_model_activated`), and the page says on which.
    await client.post(f"/t/{tenant.slug}/pretrained_model/choice",
                      data={"_csrf_token": form_csrf(page.text), "use": "blend"}, headers=HTML)
    scope = TenantScope(tenant.id)
    assert (await service.choice_of(scope)).weights_measured_on == own.number
    assert f"measured on your model version {own.number};" in (
        await client.get(f"/t/{tenant.slug}/pretrained_model/", headers=HTML)).text
    stale = {"warmth": 0.999, "composure": 0.999}
    await scope.update(Choice, {Choice.weights: stale}).where(Choice.tenant == tenant.id)
    rebuilt = await build_through_the_job_queue(app, tenant, admin)
    assert rebuilt.number == own.number + 1 and not rebuilt.active
    models = await client.get(f"/t/{tenant.slug}/ai_model/", headers=HTML)
    activated = await client.post(f"/t/{tenant.slug}/ai_model/versions/{rebuilt.id}/activate",
                                  data={"_csrf_token": form_csrf(models.text)}, headers=HTML, follow_redirects=False)
    assert activated.status_code in (302, 303), activated.text
    choice = await service.choice_of(scope)
    measured = await service.comparison(tenant.id)
    assert measured["own_version"] == rebuilt.number and choice.weights_measured_on == rebuilt.number
    assert json_value(choice.weights) == service.blend_weights(measured) != stale
    assert f"measured on your model version {rebuilt.number};" in (
        await client.get(f"/t/{tenant.slug}/pretrained_model/", headers=HTML)).text
    assert await AuditEntry.count().where((AuditEntry.tenant == tenant.id) & (AuditEntry.actor.is_null())
                                          & (AuditEntry.action == "pretrained_model.weights_measured")
                                          & (AuditEntry.target == f"v{rebuilt.number}")) == 1


@pytest.mark.parametrize("seed", range(20))
def test_the_blend_is_never_worse_than_the_better_model_by_more_than_its_interval(seed):
    """Generated truth and two predictors of every quality mix: the cross-fitted blend's MAE stays
    within its own 95% interval of the better one's."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(40, 120))
    truth = np.round(rng.uniform(1, 5, n))
    own = truth + rng.normal(0, rng.uniform(0.2, 1.5), n)
    vendor = truth + rng.normal(rng.uniform(-0.5, 0.5), rng.uniform(0.2, 1.5), n)
    blend = cross_fitted_blend(truth, own, vendor)
    mae = float(np.mean(np.abs(blend - truth)))
    _low, high = bootstrap_interval(truth, blend)
    best = min(np.mean(np.abs(own - truth)), np.mean(np.abs(vendor - truth)))
    assert mae <= best + (high - mae)


async def test_without_the_option_its_pages_are_404_and_no_vendor_prediction_is_made(
        app, host, client, make_tenant, make_user, vendor_version):
    tenant = await make_tenant()
    admin = await make_user(tenant, "admin")
    features, _labels = synthetic_interviews(1, noise_features=0, seed=5)
    _r, _e, (interview,) = await populate(tenant, make_user, features, None)
    await login(client, tenant, admin)
    assert (await client.get(f"/t/{tenant.slug}/pretrained_model/", headers=HTML)).status_code == 404
    page = await client.get(f"/t/{tenant.slug}/ai_model/", headers=HTML)
    response = await client.post(f"/t/{tenant.slug}/pretrained_model/mapping",
                                 data={"_csrf_token": form_csrf(page.text), "version_id": str(vendor_version.id),
                                       "item:warmth": "warmth"}, headers=HTML, follow_redirects=False)
    assert response.status_code == 404
    # Even a mapping left from an earlier contract gives nothing once the option is off.
    await service.save_mapping(TenantScope(tenant.id), vendor_version, {"warmth": "warmth"}, user=admin)
    assert await _predict(app, tenant, interview) == []
    assert "pretrained_model/" not in (await client.get(f"/t/{tenant.slug}/ai_model/", headers=HTML)).text


async def test_vendor_material_never_appears_in_a_tenants_pages_or_exports(
        app, host, client, make_tenant, make_user, vendor_version):
    tenant = await make_tenant()
    await host.set_enabled(tenant.id, "pretrained_model", True)
    admin = await make_user(tenant, "admin", language="en")
    features, _labels = synthetic_interviews(1, noise_features=0, seed=8)
    _r, _e, (interview,) = await populate(tenant, make_user, features, None)
    await login(client, tenant, admin)
    await _accept(client, tenant, vendor_version, {"warmth": "warmth"})
    await _predict(app, tenant, interview)
    secrets = (SECRET_REFERENCE, SECRET_DONOR, "consent-2026-001", "0.777001", "generated-synthetic-0001")
    for path in ("pretrained_model/", "ai_model/", "ai_model/predictions.csv", f"interviews/{interview.id}",
                 "services/"):
        answer = await client.get(f"/t/{tenant.slug}/{path}", headers=HTML)
        assert answer.status_code == 200, path
        for secret in secrets:
            assert secret not in answer.text, (path, secret)
    assert (await client.get("/ops/pretrained_model/", headers=HTML)).status_code == 403


async def test_operators_import_train_and_publish_in_the_vendor_workspace(client, host, make_user, vendor_version):
    operator = await make_user(None, "operator", language="en")
    await login(client, None, operator)
    home = await client.get("/ops/", headers=HTML)
    assert 'href="/ops/pretrained_model/"' in home.text
    page = await client.get("/ops/pretrained_model/", headers=HTML)
    assert page.status_code == 200 and SECRET_DONOR not in page.text  # the donor shows in the audit log only
    token = form_csrf(page.text)
    rows = ["reference,recorded_on,synthetic.presence_ratio,synthetic.smile_ratio,score:warmth"]
    rng = np.random.default_rng(3)
    for i in range(30):
        smile = rng.uniform(0, 1)
        rows.append(f"imp-{i},2026-03-{i % 28 + 1:02d},{rng.uniform(0.5, 1):.3f},{smile:.3f},{1 + round(4 * smile)}")
    csv = ("\n".join(rows) + "\n").encode()
    refused = await client.post("/ops/pretrained_model/material", data={"_csrf_token": token, "origin": "donated"},
                                files={"file": ("m.csv", csv, "text/csv")}, headers=HTML)
    assert refused.status_code == 400 and "consent record" in refused.text
    off_scale = csv.replace(b",1\n", b",9\n", 1) if b",1\n" in csv else csv.replace(b",5\n", b",9\n", 1)
    count = await Material.count()
    refused = await client.post("/ops/pretrained_model/material", data={"_csrf_token": token, "origin": "imported"},
                                files={"file": ("m.csv", off_scale, "text/csv")}, headers=HTML)
    assert refused.status_code == 400 and "takes a score from 1 to 5" in refused.text
    assert await Material.count() == count  # nothing of the refused file is kept
    added = await client.post("/ops/pretrained_model/material", data={"_csrf_token": token, "origin": "imported"},
                              files={"file": ("m.csv", csv, "text/csv")}, headers=HTML, follow_redirects=False)
    assert added.status_code in (302, 303), added.text
    before = await service.published_version()
    count = await VendorVersion.count()
    trained = await client.post("/ops/pretrained_model/train", data={"_csrf_token": token}, headers=HTML,
                                follow_redirects=False)
    assert trained.status_code in (302, 303), trained.text
    # Training is a job: the page says it was queued and links to the job's page with its progress.
    job_id = trained.headers["location"].split("queued=")[1]
    queued = await client.get(trained.headers["location"], headers=HTML)
    assert "Training of a new version is queued." in queued.text
    assert f'href="/ops/pretrained_model/jobs/{job_id}"' in queued.text
    job = await wait_for_job(UUID(job_id))
    version = await VendorVersion.objects().order_by(VendorVersion.number, ascending=False).first()
    assert job.state == "done" and job.result_ref == f"vendor-v{version.number}", (job.state, job.error)
    assert await VendorVersion.count() == count + 1 and version.job_id == UUID(job_id)
    shown = await client.get(f"/ops/pretrained_model/jobs/{job_id}", headers=HTML)
    assert shown.status_code == 200 and 'value="100"' in shown.text and f"vendor-v{version.number}" in shown.text
    assert f'data-job="{job_id}"' in (await client.get("/ops/pretrained_model/", headers=HTML)).text
    # Exactly once: the same job delivered again (a retry, a re-queue after a restart) trains nothing more.
    token_job = current_job_id.set(job_id)
    try:
        assert await service.train_job(requested_by=str(operator.id)) == f"vendor-v{version.number}"
    finally:
        current_job_id.reset(token_job)
    assert await VendorVersion.count() == count + 1
    assert not version.published and (await service.published_version()).id == before.id
    assert version.n_material == await Material.count()  # every interview: generated, donated and imported
    card = {"intended_use_ja": "参考評価", "intended_use_en": "Reference scores", "limits_ja": "国内のみ",
            "limits_en": "Japan only", "licence": "proprietary"}
    incomplete = await client.post(f"/ops/pretrained_model/versions/{version.id}/publish",
                                   data={"_csrf_token": token, **card, "licence": ""}, headers=HTML)
    assert incomplete.status_code == 400
    published = await client.post(f"/ops/pretrained_model/versions/{version.id}/publish",
                                  data={"_csrf_token": token, **card}, headers=HTML, follow_redirects=False)
    assert published.status_code in (302, 303)
    assert (await service.published_version()).id == version.id
    assert await AuditEntry.count().where((AuditEntry.actor == operator.id)
                                          & AuditEntry.action.is_in(["pretrained_model.material_added",
                                                                     "pretrained_model.trained",
                                                                     "pretrained_model.published"])) == 3


def test_a_rescaled_and_a_blended_prediction_stay_explained():
    """A vendor model on 1-5 serving a 0-10 item: the value is rescaled linearly and the SHAP
    contributions with it, so base + contributions still add up to the value; a blend's too."""
    from core.model_training import ItemSpec, blended, build, linear_rescale, load_model, predict

    features, labels = synthetic_interviews(40, noise_features=0, seed=12)
    five = ItemSpec("warmth", "Warmth", 1, 5)
    result = build(features, labels[["warmth"]], [five], folds=2, iterations=40)
    model = load_model(result.items["warmth"].model_bytes)
    middle = labels.index[labels["warmth"] == 3]  # mid-scale interviews: no clipping hides a sum
    row = features.loc[middle[0]].to_dict()
    plain = predict(model, five, result.feature_names, row, top=None)
    ten = ItemSpec("warmth", "Warmth", 0, 10)
    scale, shift = linear_rescale(1, 5, 0, 10)
    assert (scale, shift) == (2.5, -2.5)
    rescaled = predict(model, ten, result.feature_names, row, scale=scale, shift=shift, top=None)
    assert rescaled.value == pytest.approx(scale * plain.value + shift)
    assert rescaled.base_value + sum(v for _n, v in rescaled.contributions) == pytest.approx(rescaled.value)
    other = predict(model, ten, result.feature_names, features.loc[middle[1]].to_dict(), scale=scale, shift=shift, top=None)
    mixed = blended(rescaled, other, 0.3, ten, top=len(result.feature_names))
    assert mixed.value == pytest.approx(0.3 * other.value + 0.7 * rescaled.value)
    assert mixed.base_value + sum(v for _n, v in mixed.contributions) == pytest.approx(mixed.value)
    with pytest.raises(ValueError):
        linear_rescale(5, 5, 1, 5)


async def test_the_demo_ships_a_generated_vendor_model_mapped_for_the_demo_tenant(host, app, make_tenant):
    """Last in this file: it publishes a newer version (on the face features) than the tests' one."""
    from tests.test_ai_model_flow import graduates

    tenant = await make_tenant()
    await host.set_enabled(tenant.id, "pretrained_model", True)
    await graduates(TenantScope(tenant.id))  # the demo's items: warmth and composure
    await pretrained_plugin.mendan_demo_data_ready(tenant_id=tenant.id)  # what `mendan demo` calls at its end
    version = await VendorVersion.objects().where(VendorVersion.id == (await service.choice_of(TenantScope(tenant.id))).version).first()
    card = json_value(version.card)
    assert version.generated and "generated" in card["limits_en"] and "生成" in card["limits_ja"]
    assert version.n_material == 120 and json_value(version.origins) == {"generated": 120}
    offered = await service.base_model(tenant.id)
    assert set(offered.items) == {"warmth", "composure"} and offered.name == f"vendor-v{version.number}"
    assert all(name.startswith("face_features.") for name in offered.feature_names)


async def test_the_demos_generated_model_never_displaces_a_real_published_one(host, make_tenant):
    """After the demo test: a real version is published, then `mendan demo` runs on the same database
    and makes a newer generated version. Tenants are still offered the real one; the demo tenant
    uses the generated one it accepted."""
    from tests.test_ai_model_flow import graduates

    rows = [{"reference": f"real-displace-{i}", "recorded_on": None, "features": {"voice.pitch_range": float(i % 7)},
             "scores": {"warmth": float(1 + i % 5)}} for i in range(40)]
    await service.add_material(rows, origin="imported")
    real = await service.train_version(folds=2, iterations=30, reference_prefix="real-displace-")
    assert not real.generated
    await service.publish(real.id, {f: "real card" for f in service.CARD_FIELDS})

    demo = await make_tenant()
    await host.set_enabled(demo.id, "pretrained_model", True)
    await graduates(TenantScope(demo.id))
    generated = await service.ensure_generated_version(extractor="displace", n=40)
    assert generated.generated and generated.number > real.number
    await pretrained_plugin.mendan_demo_data_ready(tenant_id=demo.id)
    assert (await service.published_version()).id == real.id
    assert (await service.base_model(demo.id)).name.startswith("vendor-v")
    accepted = (await service.choice_of(TenantScope(demo.id))).version
    assert accepted != real.id and (await VendorVersion.objects().where(VendorVersion.id == accepted).first()).generated


async def test_a_training_job_cut_off_midway_finishes_its_own_version(make_user, vendor_version):
    """The worker died after the version row was written but before it was ready: the job sent
    again finishes that very version (no second one, no stray models) and only then it can be published."""
    operator = await make_user(None, "operator")
    job_id = str(uuid4())
    numbers = await VendorVersion.select(VendorVersion.number).order_by(VendorVersion.number, ascending=False).limit(1)
    left = VendorVersion(number=numbers[0]["number"] + 1, state="training", job_id=job_id)
    await left.save()
    await Artifact.insert(Artifact(version=left.id, item_key="warmth", model=b"cut off"))
    with pytest.raises(service.VendorProblem):
        await service.publish(left.id, {f: "card" for f in service.CARD_FIELDS})
    count = await VendorVersion.count()
    token = current_job_id.set(job_id)
    try:
        assert await service.train_job(requested_by=str(operator.id)) == f"vendor-v{left.number}"
    finally:
        current_job_id.reset(token)
    assert await VendorVersion.count() == count
    finished = await VendorVersion.objects().where(VendorVersion.id == left.id).first()
    assert finished.state == "ready" and json_value(finished.items)
    assert b"cut off" not in [bytes(a.model) for a in await Artifact.objects().where(Artifact.version == left.id)]
    assert await AuditEntry.count().where((AuditEntry.action == "pretrained_model.trained")
                                          & (AuditEntry.target == f"vendor-v{left.number}")) == 1


async def test_material_with_a_repeated_missing_or_scoreless_reference_is_refused_whole(
        client, host, make_user, vendor_version):
    """Customers' files repeat rows (a file uploaded twice, a row copied in Excel), lose the reference
    or carry no evaluation: each refuses the whole file with its line, so nothing counts twice."""
    operator = await make_user(None, "operator", language="ja")
    await login(client, None, operator)
    token = form_csrf((await client.get("/ops/pretrained_model/", headers=HTML)).text)
    header = "reference,recorded_on,synthetic.smile_ratio,score:warmth\r\n"
    good = header + "".join(f"重複検査-{i},2026-04-{i + 1:02d},0.{i}5,{1 + i % 5}\r\n" for i in range(6))

    async def upload(text):
        return await client.post("/ops/pretrained_model/material", headers=HTML, follow_redirects=False,
                                 data={"_csrf_token": token, "origin": "imported"},
                                 files={"file": ("素材.csv", text.encode("cp932"), "text/csv")})

    count = await Material.count()
    for text, message in ((good + "重複検査-2,2026-04-09,0.3,4\r\n", "8 行目: reference「重複検査-2」は 4 行目と重複しています。"),
                          (good + ",2026-04-09,0.3,4\r\n", "8 行目: reference が空です。"),
                          (good + "重複検査-9,2026-04-09,0.3,\r\n", "8 行目: 評価がありません")):
        refused = await upload(text)
        assert refused.status_code == 400 and message in refused.text, refused.text[-2000:]
        assert await Material.count() == count
    assert (await upload(good)).status_code in (302, 303)
    assert await Material.count() == count + 6
    again = await upload(good)  # the same file a second time
    assert again.status_code == 400 and "2 行目: reference「重複検査-0」はすでに学習素材データにあります。" in again.text
    assert await Material.count() == count + 6


async def test_a_refused_model_card_keeps_what_the_operator_typed(client, host, make_user, vendor_version):
    operator = await make_user(None, "operator", language="ja")
    await login(client, None, operator)
    version = await service.train_version(folds=2, iterations=20, reference_prefix="generated-synthetic-")
    page = await client.get("/ops/pretrained_model/", headers=HTML)
    typed = {"_csrf_token": form_csrf(page.text), "intended_use_ja": "初めての面談から参考評価を得るため",
             "intended_use_en": "Reference scores from the first interview", "licence": "  "}
    refused = await client.post(f"/ops/pretrained_model/versions/{version.id}/publish", data=typed, headers=HTML)
    assert refused.status_code == 400
    assert ">初めての面談から参考評価を得るため</textarea>" in refused.text
    assert ">Reference scores from the first interview</textarea>" in refused.text
    assert not (await VendorVersion.objects().where(VendorVersion.id == version.id).first()).published


async def test_a_vendor_items_scale_cannot_leave_out_scores_already_in_the_material(
        client, host, make_user, vendor_version):
    """Narrowing warmth from 1-5 to 1-3 after material scored up to 5 was stored would train the next
    version on scores off its card's scale; the workspace refuses it and keeps the item."""
    operator = await make_user(None, "operator", language="ja")
    await login(client, None, operator)
    token = form_csrf((await client.get("/ops/pretrained_model/", headers=HTML)).text)
    stored = [float(json_value(m["scores"])["warmth"]) for m in await Material.select(Material.scores)
              if "warmth" in json_value(m["scores"])]
    assert max(stored) > 3
    refused = await client.post("/ops/pretrained_model/items", headers=HTML, data={
        "_csrf_token": token, "key": "warmth", "name_ja": "親しみやすさ", "name_en": "Warmth",
        "scale_min": "1", "scale_max": "3"})
    assert refused.status_code == 400
    assert f"学習素材データには「warmth」の点数が {min(stored):g}〜{max(stored):g} の範囲ですでにあります" in refused.text
    assert (await service.vendor_items())["warmth"].scale_max == 5
    widened = await client.post("/ops/pretrained_model/items", headers=HTML, follow_redirects=False, data={
        "_csrf_token": token, "key": "warmth", "name_ja": "親しみやすさ", "name_en": "Warmth",
        "scale_min": "0", "scale_max": "5"})
    assert widened.status_code in (302, 303)
    assert (await service.vendor_items())["warmth"].scale_min == 0
    await service.save_item("warmth", "親しみやすさ", "Warmth", 1, 5)  # as the other tests know it
