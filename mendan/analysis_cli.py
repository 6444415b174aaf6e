"""`mendan analyse`: re-run extractors over existing interviews (core.interviews.reanalysis), as a job
whose progress is shown here. With the embedded broker this process runs the job itself;
with BROKER_URL the `mendan worker` processes do, and this command follows the job row."""

from __future__ import annotations

import asyncio
from uuid import UUID

import click


@click.command("analyse")
@click.option("--tenant", "slug", required=True, help="the tenant's slug")
@click.option("--extractor", default=None, help="only this extractor (default: every enabled one)")
@click.option("--interview", "interview_id", default=None, help="only this interview (its id)")
@click.option("--all", "all_interviews", is_flag=True,
              help="every interview, not only those lacking the extractor's current version")
def analyse_command(slug: str, extractor: str | None, interview_id: str | None, all_interviews: bool) -> None:
    """Re-analyse a tenant's interviews with new or updated feature extractors."""
    from core.config import get_settings

    if interview_id is not None:
        try:
            interview_id = str(UUID(interview_id))
        except ValueError as exc:
            raise click.BadParameter("not an interview id", param_hint="--interview") from exc
    job = asyncio.run(_run(get_settings(), slug, extractor, interview_id, all_interviews))
    click.echo(job.result_ref or job.error)
    if job.state != "done":
        raise SystemExit(1)


async def _run(settings, slug: str, extractor: str | None, interview_id: str | None, all_interviews: bool):
    from mendan.app import create_app
    from core.db.tables import Job, Tenant
    from core.job_texts import message_text

    app = create_app(settings)
    async with app.lifespan():
        tenant = await Tenant.objects().where(Tenant.slug == slug).first()
        if tenant is None:
            raise click.BadParameter(f"no tenant {slug!r}", param_hint="--tenant")
        job_id = await app.state.tasks.enqueue("core.reanalyse", tenant_id=tenant.id, extractor=extractor,
                                               interview_id=interview_id, all_interviews=all_interviews)
        click.echo(f"job {job_id}: {settings.base_url}/t/{slug}/jobs/{job_id}")
        with click.progressbar(length=100, label="re-analysis") as bar:
            shown = 0
            while True:
                job = await Job.objects().where(Job.id == job_id).first()
                bar.label = message_text(job.message, "en") or "re-analysis"
                bar.update(max(0, job.progress - shown))
                shown = max(shown, job.progress)
                if job.state in ("done", "failed"):
                    return job
                await asyncio.sleep(0.5)
