"""`mendan demo`'s interviews: recorded, analysed and evaluated, so a new user sees the
whole flow, predictions with explanations included, minutes after the first command.

Each demo interviewee behaves in a known way (share of time in view, head movement,
smiling). The demo experts score that behaviour, and a plugin that can
(face_features) renders a video showing it; another (speech) gives it a spoken Japanese
answer, so transcripts and summaries are made too. The recordings then go through the
same upload checks and analysis pipeline as real ones; the model has to find the
rule from what the extractors measure.
"""

from __future__ import annotations

import asyncio
import hashlib
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np

from core.db.tables import Job, Tenant, User
from core.interviews.evaluations import save_evaluation
from core.interviews.question_sets import EvaluationItem, Question, create_question_set
from core.interviews.schedule import schedule_interview
from core.interviews.tables import Interview, QuestionSet, QuestionSetVersion
from core.interviews.completion import complete_received, receive
from core.interviews.uploads import append_chunk, create_upload
from core.runtime import runtime
from core.tenancy import TenantScope

QUESTION_SET = "デモ 一次面接"
SECONDS = 12.0
UNEVALUATED = 3  # the last interviews are left for the model to predict

Progress = Callable[[int, str], None]  # percent done, what is happening


@dataclass(frozen=True)
class Behaviour:
    presence: float
    head_movement: float
    smile: float

    def expert_scores(self, rng: np.random.Generator) -> dict[str, int]:
        """The demo experts' rule: warmth from smiling and being in view, composure from a still head."""
        warmth = 1 + 4 * (0.6 * self.smile + 0.4 * (self.presence - 0.55) / 0.45)
        composure = 1 + 4 * (1 - self.head_movement)
        return {key: int(np.clip(round(value + rng.normal(0, 0.35)), 1, 5))
                for key, value in (("warmth", warmth), ("composure", composure))}


async def _question_set(scope: TenantScope) -> QuestionSetVersion:
    existing = await scope.objects(QuestionSet).where(QuestionSet.name == QUESTION_SET).first()
    if existing is not None:
        return await scope.objects(QuestionSetVersion).where(
            QuestionSetVersion.question_set == existing.id).order_by(QuestionSetVersion.number, ascending=False).first()
    return await create_question_set(
        scope, name=QUESTION_SET,
        questions=[Question("自己紹介をお願いします。"), Question("学生時代に力を入れたことを教えてください。", follow_ups=1)],
        items=[EvaluationItem(key="warmth", name="親しみやすさ", description="表情が明るく、相手に向き合っているか"),
               EvaluationItem(key="composure", name="落ち着き", description="落ち着いて話せているか")],
    )


async def _person(scope: TenantScope, email: str, role: str, name: str) -> User:
    user = await scope.objects(User).where(User.email == email).first()
    if user is None:
        user = await scope.add(User(email=email, role=role, display_name=name))
    return user


async def _upload(scope: TenantScope, interview: Interview, path: Path, uploader: User) -> None:
    rt = runtime()
    tenant = await Tenant.objects().where(Tenant.id == scope.tenant_id).first()
    tk = rt.storage.tenant_key(tenant)
    data = path.read_bytes()
    rec = await create_upload(scope, interview, uploader, size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                              filename=path.name, content_type="video/mp4", max_bytes=rt.settings.upload_max_bytes)

    async def body():
        yield data

    rec = await append_chunk(scope, rt.storage, tk, rec, offset=0, length=len(data), checksum=None, body=body(),
                             max_bytes=rt.settings.upload_max_bytes)
    if await receive(scope, rec):
        await complete_received(scope, rt.storage, tk, rt.host, interview, rec)


async def _wait_for_jobs(tenant_id: Any, progress: Progress, percent: int) -> None:
    while True:
        pending = await Job.count().where((Job.tenant == tenant_id) & Job.state.is_in(["queued", "running"]))
        if pending == 0:
            return
        progress(percent, f"analysing: {pending} jobs left")
        await asyncio.sleep(1)


async def grow_demo(tenant: Tenant, count: int, progress: Progress, seconds: float = SECONDS) -> str:
    """Add `count` demo interviews to the tenant; returns what was done, for the terminal."""
    rt = runtime()
    scope = TenantScope(tenant.id)
    if await scope.count(Interview) >= count:
        return "demo interviews already there"
    version = await _question_set(scope)
    interviewer = await _person(scope, "interviewer@demo.example", "interviewer", "面談者 デモ")
    experts = [await _person(scope, "expert@demo.example", "expert", "熟練面談者 デモ"),
               await _person(scope, "expert2@demo.example", "expert", "熟練面談者 デモ2")]
    rng = np.random.default_rng(2026)
    start = datetime.now(timezone.utc) - timedelta(days=count)
    recorded = 0
    with tempfile.TemporaryDirectory(prefix="mendan-demo-") as tmp:
        for i in range(count):
            behaviour = Behaviour(presence=float(rng.uniform(0.55, 1.0)), head_movement=float(rng.uniform(0, 1)),
                                  smile=float(rng.uniform(0, 1)))
            interviewee = await _person(scope, f"candidate{i + 1:02d}@demo.example", "interviewee",
                                        f"候補者 {i + 1:02d}")
            interview = await schedule_interview(
                scope, kind="live", starts_at=start + timedelta(days=i), interviewee_id=interviewee.id,
                interviewer_id=interviewer.id, expert_ids=[e.id for e in experts], version_id=version.id,
                title=f"デモ面談 {i + 1:02d}", check=False,  # a history of interviews already held
            )
            path = Path(tmp) / f"interview-{i + 1:02d}.mp4"
            written = await rt.host.first_for_tenant(
                "mendan_demo_recording", tenant_id=tenant.id, path=path, seconds=seconds,
                presence=behaviour.presence, head_movement=behaviour.head_movement, smile=behaviour.smile)
            answered = written is not None and written[1] is True
            if answered:
                # A plugin that can (speech) gives the silent clip an answer in Japanese, so the demo's
                # recordings are transcribed and summarised like real ones; without one they stay silent.
                await rt.host.first_for_tenant("mendan_demo_speech", tenant_id=tenant.id, path=path,
                                               seconds=seconds, language="ja")
                # Uploaded as the interviewee's own, as the live room's recorder does.
                await _upload(scope, interview, path, interviewee)
                path.unlink()
                recorded += 1
            if answered and i < count - UNEVALUATED:
                for expert in experts:
                    scores = behaviour.expert_scores(rng)
                    await save_evaluation(scope, interview, expert, {k: str(v) for k, v in scores.items()},
                                          "デモ評価")
            progress(int(70 * (i + 1) / count), f"interview {i + 1}/{count} recorded")
    await _wait_for_jobs(tenant.id, progress, 80)
    progress(85, "building the AI model")
    await rt.host.call_for_tenant("mendan_demo_data_ready", tenant_id=tenant.id)
    await _wait_for_jobs(tenant.id, progress, 95)
    progress(100, "done")
    if not recorded:
        return f"{count} demo interviews without recordings (no installed plugin renders demo video)"
    return (f"{count} demo interviews recorded and analysed; the demo experts evaluated all but the last "
            f"{UNEVALUATED}, which wait for the AI model's prediction")
