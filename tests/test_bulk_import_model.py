"""Issue 18's Done-when for the bulk import: 60 past interviews with their expert scores are
imported, analysed by the real pipeline (face features from each video) and build the AI model,
and not one mail is sent."""

from __future__ import annotations

import time

import numpy as np
import pytest

import plugins.ai_model.plugin as ai_model_plugin
import plugins.face_features.plugin as face_features_plugin
from core.db.tables import Job
from core.interviews.import_run import confirm_import, create_import, stage_video
from core.interviews.tables import Interview, Recording
from core.tenancy import TenantScope
from plugins.ai_model.tables import ModelVersion
from plugins.face_features.testing import ClipScript, write_clip
from tests.conftest import eventually, wait_for_job
from tests.test_bulk_import import csv_of, prepared
from tests.test_face_features import models  # noqa: F401  (the verified model files fixture)

COUNT = 60
# The shortest recording the model learns from (core.features.QUALITY_MINIMUMS: 10 s), at 5 frames a
# second: the face extractor's sampling rate, so no frame is rendered in vain.
SECONDS = 10.5
FPS = 5


@pytest.fixture
def host(host):
    host.register(face_features_plugin, key="face_features")
    host.register(ai_model_plugin, key="ai_model")
    return host


def past_interviews(folder, experts, count: int) -> list[list[str]]:
    """Clips of a face that is away for a while and turns its head; the experts score warmth by the
    time in view and composure by a still head (the rule the model has to find)."""
    rng = np.random.default_rng(18)
    rows = []
    for n in range(count):
        presence, movement = float(rng.uniform(0.6, 1.0)), float(rng.uniform(0, 1))
        gap = SECONDS * (1 - presence)
        write_clip(folder / f"interview-{n:02d}.mp4", ClipScript(
            seconds=SECONDS, fps=FPS, roll_amplitude=2 + 18 * movement,
            gaps=(((SECONDS - gap) / 2, (SECONDS + gap) / 2),) if gap > 0.2 else ()))
        warmth = int(np.clip(round(1 + 4 * (presence - 0.6) / 0.4), 1, 5))
        composure = int(np.clip(round(5 - 4 * movement), 1, 5))
        scores = [str(warmth), str(composure), str(max(1, warmth - n % 2)), str(composure)]
        rows.append([f"候補者 {n:02d}", "" if n % 3 else f"candidate{n}@example.jp", f"2025-{1 + n % 12:02d}-{1 + n // 12:02d}",
                     "一次面接", f"interview-{n:02d}.mp4", *scores])
    return rows


# 60 videos analysed and a model built: minutes of CPU, and no database behaviour of its own
# (test_bulk_import.py runs the import's all-or-nothing rules on both databases).
@pytest.mark.whole_pipeline
async def test_sixty_imported_interviews_are_analysed_and_build_a_model_without_any_mail(
    app, client, make_tenant, make_user, models, monkeypatch, tmp_path, settings  # noqa: F811
):
    monkeypatch.setenv("MENDAN_MODELS_DIR", str(models.parent))
    tenant, scope, admin, experts = await prepared(make_tenant, make_user)
    rows = past_interviews(tmp_path, experts, COUNT)
    mail_before = set(settings.outbox_dir.glob("*.eml")) if settings.outbox_dir.exists() else set()

    started = time.monotonic()
    imp = await create_import(scope, data=csv_of(experts, rows).encode("cp932"), filename="過去の面談.csv",
                              consent_source="紙の同意書（録画・AI学習）、人事部保管", created_by=admin)
    for row in rows:
        await stage_video(scope, imp, row[4], tmp_path / row[4])
    job = await wait_for_job(await confirm_import(scope, imp, admin), timeout=600)
    assert job.state == "done", job.error
    imported = time.monotonic() - started
    assert await TenantScope(tenant.id).count(Recording).where(Recording.state == "complete") == COUNT

    async def all_analysed():
        return await scope.count(Interview).where(Interview.state == "analysed") == COUNT
    await eventually(all_analysed, timeout=1800, what="60 imported interviews analysed")
    analysed = time.monotonic() - started

    build = await wait_for_job(await app.state.tasks.enqueue("ai_model.build", tenant_id=tenant.id,
                                                             requested_by=str(admin.id)), timeout=600)
    assert build.state == "done", build.error
    version = await scope.objects(ModelVersion).order_by(ModelVersion.number, ascending=False).first()
    assert version.state == "ready" and version.n_interviews == COUNT
    print(f"imported {COUNT} in {imported:.0f} s, analysed after {analysed:.0f} s, "
          f"model built after {time.monotonic() - started:.0f} s")

    assert await Job.count().where((Job.tenant == tenant.id) & (Job.actor == "core.send_mail")) == 0
    mail_after = set(settings.outbox_dir.glob("*.eml")) if settings.outbox_dir.exists() else set()
    addresses = [f"candidate{n}@example.jp" for n in range(COUNT)] + [e.email for e in experts] + ["import.invalid"]
    new_mail = [path.read_text(errors="replace") for path in mail_after - mail_before]
    assert not [m for m in new_mail if any(a in m for a in addresses)]
