"""`mendan createtenant`: a tenant with its contract and its first admin, by the rules and the code
of the operator console's new-tenant form (tenants/new_tenant.py).

The admin's invitation goes out before the command ends. With the embedded broker this process
runs the mail job itself: a message sent to this process's in-memory broker dies with it, and a
running server would not pick the job up (its sweeper relays only jobs never sent; it sends the
others again only when it starts). With BROKER_URL the `mendan worker` processes send it.
"""

from __future__ import annotations

import asyncio

import click

from core.web.i18n import LANGUAGES


@click.command("createtenant")
@click.option("--slug", required=True, help="the tenant's address: /t/SLUG/ (2-63 lower-case letters, digits, hyphens)")
@click.option("--name", required=True, help="the customer's name, as its users and candidates read it")
@click.option("--admin-email", required=True, help="the first admin, mailed an invitation to set a password")
@click.option("--admin-name", default="", help="the admin's display name  [default: the e-mail address]")
@click.option("--language", type=click.Choice(LANGUAGES), default="ja", show_default=True,
              help="of the invitation and of the admin's pages")
# Checked with the console's rules (tenants.contracts), which name the courses; tenants.tables
# would import piccolo into every `mendan` command.
@click.option("--course", default="weekday", show_default=True,
              help="service hours: weekday (Mon-Fri 9:00-21:00 Japan time, not on holidays) or always")
@click.option("--region", default="JP", show_default=True, help="country code; emotion inference is for JP only")
def createtenant_command(slug: str, name: str, admin_email: str, admin_name: str, language: str, course: str,
                         region: str) -> None:
    """Create a tenant, its contract (starting today, Japan time, open-ended) and its first admin,
    who is mailed an invitation to set a password."""
    from core.config import Settings, use_settings
    from core.hours import TOKYO

    settings = use_settings(Settings.from_env())
    created, job = asyncio.run(_run(settings, slug=slug, name=name, admin_email=admin_email, admin_name=admin_name,
                                    language=language, course=course, region=region))
    tenant, invitation = created.tenant, created.invitation
    click.echo(f"tenant {tenant.slug} ({tenant.name}) created with a {created.contract.course} contract from "
               f"{created.contract.starts_on.isoformat()}; its users sign in at {settings.base_url}/t/{tenant.slug}/login")
    until = f"{invitation.expires_at.astimezone(TOKYO):%Y-%m-%d %H:%M} Japan time"
    if job is None:
        click.echo(f"admin {invitation.user.email} invited: the mail is queued for the `mendan worker` processes "
                   f"(job {invitation.job_id}); the link works until {until}")
    elif job.state == "done":
        click.echo(f"admin {invitation.user.email} invited: the mail was sent ({job.result_ref}); "
                   f"the link works until {until}")
    else:
        raise click.ClickException(
            f"admin {invitation.user.email} was created but the invitation could not be sent: {job.error}. "
            f"Send it again from {settings.base_url}/ops/tenants/{tenant.slug}")


async def _run(settings, *, slug: str, name: str, admin_email: str, admin_name: str, language: str, course: str,
               region: str):
    """(CreatedTenant, the finished mail Job, or None when a worker process sends it)."""
    from core.db.tables import Job
    from core.hours import TOKYO, now
    from core.plugins import get_plugin_host
    from core.runtime import Runtime, set_runtime
    from core.storage import BlobStore
    from core.tasks import TaskQueue
    from core.web.i18n import current_language
    from mendan.actor_table import actor_table
    from mendan.assembly import migrate
    from tenants.new_tenant import TenantProblem, check_new_tenant, create_new_tenant

    current_language.set("en")  # the command's messages; the invitation is in the admin's language
    await migrate(settings)
    try:
        new = await check_new_tenant(
            slug=slug, name=name, region=region, admin_email=admin_email, admin_name=admin_name,
            admin_language=language, contract={"course": course, "starts_on": now().astimezone(TOKYO).date(),
                                               "status": "active"})
    except TenantProblem as exc:
        raise click.UsageError(str(exc)) from exc
    host = get_plugin_host()
    storage = BlobStore.from_settings(settings)
    tasks = TaskQueue(settings, actor_table(host))
    set_runtime(Runtime(settings=settings, host=host, storage=storage, tasks=tasks))
    if tasks.embedded:
        tasks.start_embedded_worker(threads=1)
    try:
        created = await create_new_tenant(new, storage=storage, settings=settings, tasks=tasks, by=None)
        if not tasks.embedded:
            return created, None
        while True:  # the mail job retries a failing server a few times, then fails for good
            job = await Job.objects().where(Job.id == created.invitation.job_id).first()
            if job.state in ("done", "failed"):
                return created, job
            await asyncio.sleep(0.2)
    finally:
        tasks.stop()
