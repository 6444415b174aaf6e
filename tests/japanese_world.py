"""A tenant as a customer's would look after some weeks of use, for tests that look at every page:
Japanese people and names, interviews in every state, analysed recordings with transcripts and
face features (per recording, with the per-frame table), expert evaluations, an AI model built
from them (and one failed build) with predictions and explanations, protected attributes with an
ethics report and a monthly snapshot, a webhook with a delivery, an import, an API token, mails,
billing meters and a contract; and an operator.

`build_world(app)` makes it on an app whose host has every installed plugin; it returns the rows
and, under "params", the values that fill each route's path parameters."""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta, timezone
from typing import Any

import numpy as np

from core.auth.passwords import hash_password
from core.auth.tokens import create_api_token, create_password_reset
from core.db.tables import Job, User
from core.features import store_features
from core.interviews.attributes import define_attribute, set_attributes
from core.interviews.evaluations import save_evaluation
from core.interviews.import_run import create_import
from core.interviews.people import issue_join_link
from core.interviews.question_sets import EvaluationItem, Question, create_question_set
from core.interviews.schedule import advance, cancel, schedule_interview
from core.interviews.tables import Recording
from core.interviews.transcripts import store_transcript
from core.runtime import runtime
from core.tenancy import TenantScope, create_tenant
from core.transcripts import Segment, Transcript
from core.usage import record_usage
from core.web.i18n import translations
from core.webhooks.endpoints import register
from mendan.pytest_plugin import PASSWORD
from plugins.face_features import frame_table
from plugins.face_features.aggregates import aggregate
from tenants.consent import current_consent, record_consent
from tenants.contracts import create_contract
from tenants.stops import plan_maintenance, stop_service
from tests.conftest import wait_for_job
from tests.test_face_features_labels import full_table

TRAINING = 24  # evaluated interviews the model learns from (at least 10 are needed)
TOKYO = timezone(timedelta(hours=9))


async def _person(tenant: Any, role: str, name: str, *, password: bool = True) -> User:
    user = User(tenant=tenant.id if tenant is not None else None, email=f"{role}-{secrets.token_hex(4)}@example.jp",
                role=role, display_name=name, language="ja",
                password_hash=hash_password(PASSWORD) if password else None)
    await user.save()
    return user


def _face_table(rng: np.random.Generator, smile: float, presence: float) -> dict[str, np.ndarray]:
    """A per-frame table with every column, smiling about `smile` of the time, a face in view about `presence`."""
    table = full_table(150)
    frames = len(table["t"])
    table["face"] = rng.uniform(0, 1, frames) < presence
    for side in ("Left", "Right"):
        table[f"bs_mouthSmile{side}"] = np.clip(rng.normal(smile, 0.2, frames), 0, 1)
    table["t"] = np.arange(frames) / 5.0
    return table


async def _recording(scope: TenantScope, tenant: Any, interview: Any, uploader: Any, *, state: str = "complete",
                     error: str = "", question_key: str | None = None) -> Recording:
    storage = runtime().storage
    blob_key = f"world/{secrets.token_hex(8)}.webm"
    if state == "complete":
        with storage.writer(storage.tenant_key(tenant), blob_key) as blob:
            blob.write(b"\x1a\x45\xdf\xa3")  # what a WebM file starts with: enough to be served
    return await scope.add(Recording(
        interview=interview.id, container="webm", size=4, upload_offset=4 if state == "complete" else 0,
        sha256="0" * 64, state=state, error=error, blob_key=blob_key if state == "complete" else "",
        uploaded_by=uploader.id, question_key=question_key, filename="面談.webm", duration_s=30.0, width=640,
        height=480, video_codec="vp8", completed_at=datetime.now(timezone.utc) if state == "complete" else None))


async def _analysed(scope: TenantScope, tenant: Any, interview: Any, uploader: Any, extractor: Any,
                    rng: np.random.Generator, smile: float, presence: float) -> Recording:
    """A complete recording with its face features and per-frame table; the interview analysed."""
    recording = await _recording(scope, tenant, interview, uploader)
    table = _face_table(rng, smile, presence)
    features = aggregate(table) | {"duration_s": 30.0}
    await store_features(scope, interview.id, extractor, features, recording_id=recording.id)
    storage = runtime().storage
    arrow = frame_table.to_arrow([{k: v[i] for k, v in table.items()} for i in range(len(table["t"]))],
                                 tuple(table))
    frame_table.store(storage, storage.tenant_key(tenant),
                      frame_table.blob_key(interview.id, extractor.version, recording.id), arrow)
    await advance(scope, interview, "analysed")
    return recording


async def build_world(app: Any) -> dict[str, Any]:
    host, tasks = app.state.plugin_host, app.state.tasks
    storage = runtime().storage
    tenant = await create_tenant(storage, slug=f"jp-{secrets.token_hex(4)}", name="株式会社さくら商事")
    # A second tenant on the weekday course, so the operators' pages show both courses.
    other = await create_tenant(storage, slug=f"jp-{secrets.token_hex(4)}", name="みなと物産株式会社")
    for key in host.metas:
        await host.set_enabled(tenant.id, key, True)
    scope = TenantScope(tenant.id)
    operator = await _person(None, "operator", "運用 一郎")
    admin = await _person(tenant, "admin", "管理 花子")
    interviewer = await _person(tenant, "interviewer", "面接 太郎")
    experts = [await _person(tenant, "expert", "熟練 次郎"), await _person(tenant, "expert", "熟練 三郎")]
    candidate = await _person(tenant, "interviewee", "候補 さくら", password=False)
    await create_contract(tenant.id, by=operator, course="always", starts_on=date(2026, 4, 1))
    await create_contract(other.id, by=operator, course="weekday", starts_on=date(2026, 4, 1))
    # The other tenant is stopped, and a maintenance window is planned (the operators' home lists both).
    await stop_service(other.id, "契約内容の確認のため一時停止しています。", by=operator)
    soon_window = datetime.now(timezone.utc) + timedelta(days=10)
    await plan_maintenance(soon_window, soon_window + timedelta(hours=2), "データベースの更新作業を行います。", by=operator)

    version = await create_question_set(
        scope, name="新卒一次面接", author=admin,
        questions=[Question("自己紹介をお願いします。"), Question("学生時代に力を入れたことを教えてください。", follow_ups=1)],
        items=[EvaluationItem(key="warmth", name="親しみやすさ", description="表情が明るく、相手に向き合っているか"),
               EvaluationItem(key="composure", name="落ち着き", description="落ち着いて話せているか")])
    extractor = next(e for e in host.feature_extractors(None) if e.name == "face_features")

    # A build before any evaluation fails (the model page and the jobs list show why).
    failed_build = await wait_for_job(await tasks.enqueue("ai_model.build", tenant_id=tenant.id,
                                                          requested_by=str(admin.id)))
    assert failed_build.state == "failed", failed_build.error

    # Interviews already held, analysed and evaluated by both experts: the model's material.
    await define_attribute(scope, key="gender", name_ja="性別", name_en="Gender",
                           choices_text="female | 女性 | Female\nmale | 男性 | Male")
    await set_attributes(scope, candidate.id, {"gender": "female"}, actor=admin)
    rng = np.random.default_rng(20)
    held = datetime.now(timezone.utc) - timedelta(days=40)
    for i in range(TRAINING):
        person = await _person(tenant, "interviewee", f"応募 {i + 1:02d}", password=False)
        await set_attributes(scope, person.id, {"gender": "female" if i % 2 else "male"}, actor=admin)
        interview = await schedule_interview(
            scope, kind="live", starts_at=held + timedelta(days=i), interviewee_id=person.id,
            interviewer_id=interviewer.id, expert_ids=[e.id for e in experts], version_id=version.id,
            title=f"一次面接 {i + 1:02d}", check=False)
        smile = float(rng.uniform(0.1, 0.9))
        await _analysed(scope, tenant, interview, person, extractor, rng, smile, 0.9)
        for j, expert in enumerate(experts):
            scores = {"warmth": int(np.clip(round(1 + 4 * smile + j * 0.3), 1, 5)),
                      "composure": int(np.clip(round(3 + rng.normal(0, 1)), 1, 5))}
            await save_evaluation(scope, interview, expert, {k: str(v) for k, v in scores.items()}, "受け答えが丁寧")
    built = await wait_for_job(await tasks.enqueue("ai_model.build", tenant_id=tenant.id, requested_by=str(admin.id)))
    assert built.state == "done", built.error

    # The HR system's receiver is down: its deliveries fail and are retried.
    endpoint, _secret = await register(scope, url="http://127.0.0.1:9/hooks/mendan", description="人事システム連携",
                                       events=["interview.scheduled", "prediction.made"], production=False, user=admin)

    # The candidate's own interviews, one in each state.
    await record_consent(tenant.id, candidate.id, "recording", (await current_consent(tenant.id, "recording")).version)
    soon = datetime.now(timezone.utc) + timedelta(days=2)
    people = dict(interviewee_id=candidate.id, interviewer_id=interviewer.id, expert_ids=[e.id for e in experts],
                  version_id=version.id)
    scheduled = await schedule_interview(scope, kind="live", starts_at=soon, title="二次面接", check=False, **people)
    cancelled = await schedule_interview(scope, kind="live", starts_at=soon + timedelta(hours=3), title="最終面接",
                                         check=False, **people)
    await cancel(scope, cancelled)
    now = datetime.now(timezone.utc)
    self_open = await schedule_interview(scope, kind="self", starts_at=now, ends_at=now + timedelta(days=7),
                                         title="セルフ面談", check=False, **people)
    analysed = await schedule_interview(scope, kind="live", starts_at=now - timedelta(days=3), title="一次面接",
                                        check=False, **people)
    recording = await _analysed(scope, tenant, analysed, candidate, extractor, rng, 0.6, 0.95)
    # Refused when it arrived: the reason is stored in the uploader's language, as uploads do.
    refused = translations("ja").gettext("This file is not a video that can be read, so it was refused.")
    await _recording(scope, tenant, analysed, candidate, state="refused", error=refused)
    await store_transcript(scope, recording.id, Transcript(language="ja", source="faster-whisper:base", segments=(
        Segment(start=0.0, end=4.0, text="大学ではロボット研究会に所属し、三年間で二つの大会に出場しました。", speaker="interviewee"),
        Segment(start=4.5, end=9.0, text="チームでは設計を担当し、部品の数を二割減らしました。", speaker="interviewee"))))
    poor = await schedule_interview(scope, kind="live", starts_at=now - timedelta(days=2), title="カジュアル面談",
                                    check=False, **people)
    await _analysed(scope, tenant, poor, candidate, extractor, rng, 0.5, 0.2)  # a face seldom in view
    evaluated = await schedule_interview(scope, kind="live", starts_at=now - timedelta(days=5), title="適性面談",
                                         check=False, **people)
    await advance(scope, evaluated, "recorded")
    await save_evaluation(scope, evaluated, experts[0], {"warmth": "4", "composure": "3"}, "落ち着いて話せていた")
    recorded = await schedule_interview(scope, kind="live", starts_at=now - timedelta(days=1), title="面談（録画済み）",
                                        check=False, **people)
    await advance(scope, recorded, "recorded")
    # Its recording is being transcribed as the pages are read.
    transcribing = await _recording(scope, tenant, recorded, candidate)
    await Job.insert(Job(tenant=tenant.id, actor="speech.transcribe", state="running", progress=30,
                         message="transcribing", args={"recording_id": str(transcribing.id)}))
    for interview in (analysed, poor):
        predicted = await wait_for_job(await tasks.enqueue("ai_model.predict", tenant_id=tenant.id,
                                                           interview_id=str(interview.id)))
        assert predicted.state == "done", predicted.error

    # Ethics: a report on the model, a monthly snapshot of the predictions.
    from plugins.ai_model.tables import ModelVersion
    from plugins.ethics_model.tables import ModelReport
    from plugins.ethics_prediction.monitoring import monitor_tenant
    from plugins.ethics_prediction.tables import Snapshot

    model = await scope.objects(ModelVersion).where(ModelVersion.state == "ready").first()
    analysis = await wait_for_job(await tasks.enqueue("ethics_model.analyse", tenant_id=tenant.id,
                                                      version_id=str(model.id), requested_by=str(admin.id)))
    assert analysis.state == "done", analysis.error
    report = await scope.objects(ModelReport).first()
    month = datetime.now(TOKYO).strftime("%Y-%m")
    await monitor_tenant(tenant.id, month)
    snapshot = await scope.objects(Snapshot).first()

    # Imports, tokens, meters.
    upload = await create_import(scope, data="interviewee_email,starts_at\n".encode(), filename="過去の面談.csv",
                                 consent_source="2025年度の応募者から書面で同意を得た", created_by=admin)
    await create_api_token(admin, "人事システム", scope="read")
    await create_api_token(interviewer, "集計用", scope="read")
    for meter, quantity in (("face_features.analysis_minutes", 42), ("ai_model.predictions", 12),
                            ("live_interview.recorded_minutes", 95)):
        if any(m.key == meter for meta in host.metas.values() for m in meta.meters):
            await record_usage(tenant, meter, quantity, act=f"world-{meter}")
    # A running job with a progress message, and one of the operators' training jobs.
    running = await Job.insert(Job(tenant=tenant.id, actor="core.extract_features", state="running", progress=40,
                                   message="voice activity", args={}))
    pretrained_job = await wait_for_job(await tasks.enqueue("pretrained_model.train", tenant_id=None,
                                                            requested_by=str(operator.id)))

    join_token = await issue_join_link(scope, candidate)
    reset_token = await create_password_reset(interviewer)
    operator_reset = await create_password_reset(operator)
    from core.mail_template_defaults import DEFAULTS

    interviews = {"scheduled": scheduled, "cancelled": cancelled, "self": self_open, "analysed": analysed,
                  "poor": poor, "evaluated": evaluated, "recorded": recorded}
    params = {
        "tenant": [tenant.slug],
        "slug": [tenant.slug, other.slug],
        "interview_id": [i.id for i in interviews.values()],
        "recording_id": [recording.id],
        "job_id": [failed_build.id, built.id, analysis.id, running[0]["id"], pretrained_job.id],
        "set_id": [version.question_set],
        "import_id": [upload.id],
        "endpoint_id": [endpoint.id],
        "person_id": [candidate.id],
        "report_id": [report.id],
        "snapshot_id": [snapshot.id] if snapshot else [],
        "kind": sorted(DEFAULTS),
        "language": ["ja"],
        "key": sorted(host.metas),
        "code": ["ja"],
    }
    return {"tenant": tenant, "other": other, "people": {"admin": admin, "interviewer": interviewer,
                                                         "expert": experts[0], "interviewee": candidate,
                                                         "operator": operator},
            "interviews": interviews, "recording": recording, "params": params, "join_token": join_token,
            "reset_token": reset_token, "operator_reset_token": operator_reset, "failed_build": failed_build}
