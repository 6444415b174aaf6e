"""The option end to end: transcripts stored, conversation features extracted, the AI model
learning from them (numbers and the answers' words) while the option is on and never otherwise,
explanations in words, the gate's reason on the interview page, the pages behind the contract."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from uuid import uuid4

import numpy as np
import pandas as pd
import pytest

import plugins.ai_model.plugin as ai_model_plugin
import plugins.conversation_analysis.plugin as conversation_plugin
from core.db.tables import Job
from core.interviews.analysis import Target, run_extractor
from core.interviews.api import Recording, store_transcript
from core.tables import Tenant
from core.tenancy import TenantScope
from core.web.i18n import current_language
from plugins.ai_model.routes import explained, labels_of
from plugins.ai_model.service import predict_one
from plugins.conversation_analysis import synthetic
from plugins.conversation_analysis.extractor import ConversationExtractor
from plugins.conversation_analysis.service import gate, gate_text, panel_context
from tests.conftest import HTML, login, wait_for_job
from tests.test_ai_model_flow import SyntheticPlugin, build_through_the_job_queue, populate

N = 30


@pytest.fixture
def host(host):
    host.register(ai_model_plugin, key="ai_model")
    host.register(SyntheticPlugin(), key="synthetic")
    host.register(conversation_plugin, key="conversation_analysis")
    return host


async def answered(scope, interview, answers) -> list:
    """The interview's answers as recordings with stored transcripts (one per question)."""
    recordings = []
    for q, transcript in enumerate(answers):
        recording = await scope.add(Recording(
            id=uuid4(), interview=interview.id, container="webm", size=1, sha256="0" * 64, state="complete",
            blob_key=f"recordings/{interview.id}/{q}.webm", filename=f"{q}.webm", question_key=f"q{q + 1}",
            sequence=q, completed_at=datetime.now(timezone.utc)))
        await store_transcript(scope, recording.id, transcript)
        recordings.append(recording)
    return recordings


def versions_items(version):
    return version.items if isinstance(version.items, dict) else json.loads(version.items)


async def test_the_option_adds_conversation_features_to_the_next_build_and_removing_it_takes_them_away(
        host, app, client, make_tenant, make_user):
    tenant = await make_tenant()
    admin = await make_user(tenant, "admin")
    scope = TenantScope(tenant.id)
    data = synthetic.interviews(N + 2, seed=3)
    rng = np.random.default_rng(0)
    # Face-like features that say nothing about the content item, and the experts' scores.
    face = pd.DataFrame({d.id: {"smile_ratio": d.face["face.smile_ratio"], "noise": float(rng.normal())}
                         for d in data}).T
    labels = pd.DataFrame({d.id: {"warmth": round(d.scores["logic"]), "composure": round(d.scores["impression"])}
                           for d in data}).T.astype(float)
    _, _, interviews = await populate(tenant, make_user, face.iloc[:N], labels.iloc[:N])
    _, _, (fresh, silent) = await populate(tenant, make_user, face.iloc[N:], None)
    tenant_row = await Tenant.objects().where(Tenant.id == tenant.id).first()
    # Transcripts stored while the option is off queue no conversation job; the test extracts directly.
    for interview, d in zip([*interviews, fresh], data):
        for recording in await answered(scope, interview, d.answers):
            await host.set_enabled(tenant.id, "conversation_analysis", True)
            await run_extractor(tenant_row, interview.id, ConversationExtractor(),
                                Target(recording.id, None, recording.question_key), progress=lambda p, m: None)
            await host.set_enabled(tenant.id, "conversation_analysis", False)

    without = await build_through_the_job_queue(app, tenant, admin)
    assert not [f for f in without.feature_names if f.startswith("conversation_analysis.")]

    await host.set_enabled(tenant.id, "conversation_analysis", True)
    with_option = await build_through_the_job_queue(app, tenant, admin)
    names = with_option.feature_names
    assert "conversation_analysis.answer_text" in names and "conversation_analysis.figures_per_100_words" in names
    warmth = versions_items(with_option)["warmth"]
    assert warmth["metrics"]["spearman"] > versions_items(without)["warmth"]["metrics"]["spearman"]

    # The content item's explanation speaks of what was said, in words.
    from plugins.ai_model.service import activate

    await activate(scope, with_option.id)
    made = await predict_one(scope, fresh.id, with_option)
    current_language.set("ja")
    contributions = next(p.contributions for p in made if p.item_key == "warmth")
    contributions = contributions if isinstance(contributions, list) else json.loads(contributions)
    words = explained(contributions, labels_of(host))
    conversation = [c for c in words if c["key"].startswith("conversation_analysis.")]
    assert conversation, words
    assert all(c["name"] != c["key"] and c["meaning"] for c in conversation)

    # An interview without transcripts: no conversation features, no text, and the gate says why.
    assert await host.call_for_tenant("mendan_text_features", tenant_id=tenant.id, interview_ids=[silent.id]) == [
        ("conversation_analysis", {"conversation_analysis.answer_text": {}})]
    context = await panel_context(tenant_row, silent)
    assert context["gate"] == gate_text({"code": "missing"}) and context["rows"] == []
    assert "文字起こし" in context["gate"]

    # The lift report, measured by the job the activation queued, on the AI model page: bars and a
    # sentence per item.
    lift = await Job.objects().where((Job.tenant == tenant.id) & (Job.actor == "conversation_analysis.lift")).first()
    assert lift is not None, "activating a model version queues the lift report"
    job = await wait_for_job(lift.id)
    assert job.state == "done", job.error
    await login(client, tenant, admin)
    page = await client.get(f"/t/{tenant.slug}/ai_model/", headers=HTML)
    assert page.status_code == 200
    assert "表情の特徴量のみ" in page.text and "表情と会話" in page.text
    assert "会話の特徴量でWarmth" in page.text and "95%区間" in page.text

    await host.set_enabled(tenant.id, "conversation_analysis", False)
    again = await build_through_the_job_queue(app, tenant, admin)
    assert not [f for f in again.feature_names if f.startswith("conversation_analysis.")]


def test_the_gate_names_missing_and_too_short_transcripts_in_both_languages():
    from core.transcripts import Segment, StoredTranscript, Transcript

    short = StoredTranscript(uuid4(), "q1", 0, 1, None, Transcript("ja", "t", (Segment(0, 2, "はい、そうです。"),)))
    assert gate([]) == {"code": "missing"}
    reason = gate([short])
    assert reason == {"code": "too_short", "chars": 8, "minimum": 100}
    current_language.set("ja")
    assert "8" in gate_text(reason) and "100" in gate_text(reason)
    current_language.set("en")
    assert gate_text(reason).startswith("The conversation features are left out")


async def test_the_lift_page_and_panel_answer_404_without_the_option(host, app, client, make_tenant, make_user):
    tenant = await make_tenant()
    await login(client, tenant, await make_user(tenant, "admin"))
    assert (await client.get(f"/t/{tenant.slug}/conversation_analysis/", headers=HTML)).status_code == 404
    models = await client.get(f"/t/{tenant.slug}/ai_model/", headers=HTML)
    assert models.status_code == 200 and "conversation-lift" not in models.text

    await host.set_enabled(tenant.id, "conversation_analysis", True)
    assert (await client.get(f"/t/{tenant.slug}/conversation_analysis/", headers=HTML)).status_code == 200
    models = await client.get(f"/t/{tenant.slug}/ai_model/", headers=HTML)
    assert "conversation-lift" in models.text


async def test_an_answer_key_names_its_question_of_the_set(host, app, make_tenant, make_user):
    from core.interviews.analysis import question_text
    from tests.test_ai_model_flow import graduates

    tenant = await make_tenant()
    scope = TenantScope(tenant.id)
    version = await graduates(scope)
    _, _, (interview,) = await populate(tenant, make_user, pd.DataFrame({"smile_ratio": [0.5]}), None, version)
    assert await question_text(scope, interview.id, "q1") == "自己紹介をお願いします。"
    assert await question_text(scope, interview.id, "q2") is None  # beyond the set
    assert await question_text(scope, interview.id, "q1.f1") is None  # a generated follow-up
    assert await question_text(scope, interview.id, None) is None


async def test_an_operator_switches_the_option_per_contract(host, app, make_tenant, make_user):
    from tenants.options import set_option

    meta = host.metas["conversation_analysis"]
    assert meta.kind == "option" and meta.hours == "interactive"
    tenant, operator = await make_tenant(), await make_user(None, "operator")
    assert "conversation_analysis" not in await host.enabled_keys(tenant.id)
    assert "conversation_analysis" not in {e.name for e in await host.extractors_for(tenant.id)}
    await set_option(tenant.id, "conversation_analysis", True, by=operator)
    assert {"conversation_analysis", "conversation_analysis_relevance"} <= {
        e.name for e in await host.extractors_for(tenant.id)}
    await set_option(tenant.id, "conversation_analysis", False, by=operator)
    assert not await host.call_for_tenant("mendan_text_features", tenant_id=tenant.id, interview_ids=[])


async def test_a_report_without_measured_items_shows_no_empty_table_and_the_page_no_link_to_itself(
        host, app, client, make_tenant, make_user):
    # With too few interviews the page drew the table's header with no rows, and linked to itself.
    from core.runtime import runtime
    from plugins.conversation_analysis.service import REPORT_KEY

    tenant = await make_tenant()
    await host.set_enabled(tenant.id, "conversation_analysis", True)
    report = {"n_interviews": 5, "with_conversation": 0, "items": [], "skipped": [{"name": "協調性", "n": 5}],
              "created_at": "2026-11-29T22:40:00+00:00"}
    rt = runtime()
    with rt.storage.writer(rt.storage.tenant_key(tenant), REPORT_KEY) as out:
        out.write(json.dumps(report).encode())
    await login(client, tenant, await make_user(tenant, "admin"))
    page = await client.get(f"/t/{tenant.slug}/conversation_analysis/", headers=HTML)
    assert page.status_code == 200 and "協調性" in page.text
    assert "Δ Spearman" not in page.text and "<table>" not in page.text
    assert f'href="/t/{tenant.slug}/conversation_analysis/"' not in page.text
    models = await client.get(f"/t/{tenant.slug}/ai_model/", headers=HTML)
    assert f'href="/t/{tenant.slug}/conversation_analysis/"' in models.text


def test_the_gate_says_no_speech_was_found_rather_than_zero_characters():
    # A recording in which the recogniser found no speech (or every sentence was removed) read
    # "the answers hold only 0 characters; at least 100 are needed".
    from core.transcripts import StoredTranscript, Transcript

    silent = StoredTranscript(uuid4(), "q1", 0, 1, None, Transcript("ja", "t", ()))
    reason = gate([silent])
    assert reason == {"code": "no_speech"}
    current_language.set("ja")
    assert gate_text(reason) == "会話の特徴量は使っていません：この面談の録画には発話が見つかりませんでした。"
    current_language.set("en")
    assert gate_text(reason) == "The conversation features are left out: no speech was found in this interview's recordings."
