"""`mendan import-interviews CSV --videos DIR --tenant SLUG --consent-source TEXT`: a bulk import of
past interviews with their expert scores from a folder (core.interviews.import_check, import_run).

The CSV is checked against the folder first and the report printed (every problem in Japanese
and English); only a clean file goes on: its videos are staged, the import confirmed and its job
followed here. With the embedded broker this process runs the job; with BROKER_URL the
`mendan worker` processes do."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

import anyio.to_thread
import click

if TYPE_CHECKING:
    from core.interviews.import_check import ImportCheck


@click.command("import-interviews")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--videos", "videos_dir", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="the folder holding the CSV's video files")
@click.option("--tenant", "slug", required=True, help="the tenant's slug")
@click.option("--consent-source", required=True,
              help="how consent to recording and training was obtained (kept on each interviewee's consent record)")
@click.option("--check-only", is_flag=True, help="print the check's report and import nothing")
def import_interviews_command(csv_file: Path, videos_dir: Path, slug: str, consent_source: str,
                              check_only: bool) -> None:
    """Import past interviews (videos and expert scores) from a CSV and a folder of videos."""
    from core.config import get_settings

    state = asyncio.run(_run(get_settings(), csv_file, videos_dir, slug, consent_source, check_only))
    if state not in ("checked", "done"):
        raise SystemExit(1)


def print_report(check: ImportCheck) -> None:
    """What would be imported, line by line, and every problem in Japanese and English."""
    for row in check.rows:
        experts = len(row.scores)
        click.echo(f"line {row.line}: {row.interviewee_name} <{row.interviewee_email or '-'}> "
                   f"{row.starts_at:%Y-%m-%d %H:%M} UTC, {row.question_set}, {row.video}, {experts} expert(s)")
    for problem in check.problems:
        where = f"line {problem.line}" + (f" [{problem.column}]" if problem.column else "")
        click.echo(f"{where}: {problem.message_ja} / {problem.message_en}", err=True)
    click.echo(f"{len(check.rows)} interviews, {len(check.problems)} problems")


def _probe_in(folder: Path):
    from core.media import MediaUnreadable, probe

    root = folder.resolve()

    async def probe_file(name: str):
        path = (root / name).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            return None
        try:
            return await anyio.to_thread.run_sync(probe, path)
        except OSError as exc:
            raise MediaUnreadable(str(exc)) from exc

    return probe_file


async def _run(settings, csv_file: Path, videos_dir: Path, slug: str, consent_source: str, check_only: bool) -> str:
    from core.db.tables import Job, Tenant
    from core.job_texts import message_text
    from core.interviews.import_check import check_import
    from core.interviews.import_run import ImportProblem, confirm_import, create_import, stage_video
    from core.tenancy import TenantScope
    from mendan.app import create_app

    app = create_app(settings)
    async with app.lifespan():
        tenant = await Tenant.objects().where(Tenant.slug == slug).first()
        if tenant is None:
            raise click.BadParameter(f"no tenant {slug!r}", param_hint="--tenant")
        scope = TenantScope(tenant.id)
        data = csv_file.read_bytes()
        check = await check_import(scope, data, _probe_in(videos_dir))
        print_report(check)
        if not check.ok:
            return "refused"
        if check_only:
            return "checked"
        try:
            imp = await create_import(scope, data=data, filename=csv_file.name, consent_source=consent_source,
                                      created_by=None)
        except ImportProblem as exc:
            raise click.BadParameter(str(exc), param_hint="--consent-source") from exc
        for row in check.rows:
            await stage_video(scope, imp, row.video, (videos_dir / row.video).resolve())
        try:
            job_id = await confirm_import(scope, imp, actor=None)
        except ImportProblem as exc:
            click.echo(str(exc), err=True)
            return "refused"
        click.echo(f"job {job_id}: {settings.base_url}/t/{slug}/imports/{imp.id}")
        with click.progressbar(length=100, label="import") as bar:
            shown = 0
            while True:
                job = await Job.objects().where(Job.id == job_id).first()
                bar.label = message_text(job.message, "en") or "import"
                bar.update(max(0, job.progress - shown))
                shown = max(shown, job.progress)
                if job.state in ("done", "failed"):
                    break
                await asyncio.sleep(0.5)
        click.echo(job.result_ref or job.error)
        return job.state
