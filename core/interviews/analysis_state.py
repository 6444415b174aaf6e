"""Where an interview's analysis stands, for its page: not started, queued, analysing (with a
percentage), done or failed (with the failed jobs named in words and linked), from the jobs
that name the interview in their arguments (extractors, transcription, AI scoring)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from piccolo.columns.combination import WhereRaw

from core.db.tables import Job
from core.tenancy import TenantScope
from core.job_texts import failure_text
from core.web.i18n import N_, current_language

RECENT = 50  # an interview's jobs considered: its latest analyses, not every retry of past ones
UNFINISHED = ("queued", "running")
UNEXPECTED_HERE = N_("an unexpected error; the job's page has the technical details.")


@dataclass
class AnalysisState:
    """`state`: "none" | "queued" | "running" | "done" | "failed"; `percent` 0-100 while running;
    `jobs` the interview's latest job per task, newest first; `failed` those of them that failed."""

    state: str
    percent: int = 0
    jobs: list[Job] = field(default_factory=list)
    failed: list[Job] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.state in ("none", "done", "failed")


def _task_of(job: Job) -> tuple[str, str, str]:
    args = job.args if isinstance(job.args, dict) else {}
    return job.actor, str(args.get("extractor") or ""), str(args.get("recording_key") or "")


async def analysis_state(scope: TenantScope, interview_id: Any) -> AnalysisState:
    """The interview's analysis state from its jobs: the latest job of each task (actor,
    extractor, recording) counts, so a retried or re-run task replaces the earlier one."""
    rows = await scope.objects(Job).where(WhereRaw("CAST(args AS TEXT) LIKE {}", f'%"{interview_id}"%')) \
        .order_by(Job.created_at, ascending=False).limit(RECENT)
    latest: dict[tuple[str, str, str], Job] = {}
    for job in rows:
        latest.setdefault(_task_of(job), job)
    jobs = list(latest.values())
    if not jobs:
        return AnalysisState("none")
    failed = [j for j in jobs if j.state == "failed"]
    unfinished = [j for j in jobs if j.state in UNFINISHED]
    if unfinished:
        started = any(j.state != "queued" for j in jobs)
        percent = round(sum(100 if j.state in ("done", "failed") else j.progress for j in jobs) / len(jobs))
        return AnalysisState("running" if started else "queued", min(99, percent), jobs, failed)
    return AnalysisState("failed" if failed else "done", 100, jobs, failed)


def failure_reason(job: Job) -> str:
    """Why a job failed, in the viewer's language: the actor's message where it raised one the
    catalogue knows (a sentence meant for people), else a plain sentence pointing to the job page
    (exception names and stack traces are for the operators there)."""
    return failure_text(job.error or "", current_language.get(), unexpected=UNEXPECTED_HERE)
