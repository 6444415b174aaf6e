"""`mendan serve | worker | migrate | createoperator | createtenant | demo | backup | restore | purge-expired |
analyse | import-interviews` and the installed plugins' commands."""

from __future__ import annotations

import asyncio
import functools
import getpass
import os
import sys
from importlib.metadata import entry_points
from pathlib import Path

import click

from core.config import Settings, use_settings
from core.model_files import models_command
from mendan.analysis_cli import analyse_command
from mendan.import_cli import import_interviews_command
from mendan.tenant_cli import createtenant_command
from tenants.cli import purge_expired_command

DEMO_PASSWORD = "mendan-demo-2026"
DEMO_OPERATOR = ("operator", "operator@demo.example", "運用者 デモ")
DEMO_USERS = (
    ("admin", "admin@demo.example", "管理者 デモ"),
    ("interviewer", "interviewer@demo.example", "面談者 デモ"),
    ("expert", "expert@demo.example", "熟練面談者 デモ"),
    ("interviewee", "interviewee@demo.example", "被面談者 デモ"),
)


def _settings() -> Settings:
    return use_settings(Settings.from_env())


class _CommandsWithPlugins(click.Group):
    """The core commands, then those installed plugins add through `mendan_cli_commands`."""

    def _plugin_commands(self) -> dict[str, click.Command]:
        from core.plugins import get_plugin_host

        # Loading the plugins imports their plugin modules only; heavy libraries wait for use.
        return {c.name: c for _key, cs in get_plugin_host().call_each("mendan_cli_commands") for c in cs}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._plugin_commands()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and (command := self._plugin_commands().get(cmd_name)) is not None:
            if command.callback is not None and not getattr(command.callback, "_mendan_runtime", False):
                command.callback = _with_runtime(command.callback)
        return command


def _with_runtime(callback):
    """A plugin's command runs like an actor: `core.runtime.runtime()` answers with this
    process's settings, host, blob store and task queue, on the configured database."""

    @functools.wraps(callback)
    def run(*args, **kwargs):
        from core.db.engine import bind_engine, make_engine
        from core.plugins import get_plugin_host
        from core.runtime import Runtime, set_runtime
        from core.storage import BlobStore
        from core.tasks import TaskQueue
        from mendan.actor_table import actor_table

        settings = _settings()
        bind_engine(make_engine(settings))
        host = get_plugin_host()
        set_runtime(Runtime(settings=settings, host=host, storage=BlobStore.from_settings(settings),
                            tasks=TaskQueue(settings, actor_table(host))))
        return callback(*args, **kwargs)

    run._mendan_runtime = True
    return run


@click.group(cls=_CommandsWithPlugins)
def main() -> None:
    """mendan: AI-assisted interviews."""
    from mendan.assembly import assemble

    assemble()  # the process's host with the domains, for every command (purge-expired, plugins')


@main.command()
def migrate() -> None:
    """Run every migration (core and installed plugins) forwards."""
    from mendan.assembly import migrate as run

    settings = _settings()
    asyncio.run(run(settings))
    click.echo(f"migrated {settings.database_kind} database")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int,
              help="web processes (needs BROKER_URL and PostgreSQL; Redis for live rooms)")
def serve(host: str, port: int, workers: int) -> None:
    """Serve the web app (with an in-process job worker on the embedded default)."""
    import uvicorn

    from core.plugins import get_plugin_host

    settings = _settings()
    if workers > 1 and (settings.broker_kind == "embedded" or settings.database_kind == "sqlite"):
        raise click.UsageError("several web processes need BROKER_URL and a PostgreSQL DATABASE_URL")
    if workers > 1 and settings.broker_kind != "redis" and "live_interview" in get_plugin_host().metas:
        # Live rooms reach across web processes over Redis pub/sub only (docs/live_interview.md).
        raise click.UsageError("several web processes share live rooms over Redis pub/sub: set BROKER_URL="
                               "redis://..., or serve one process, or MENDAN_PLUGINS_EXCLUDE=live_interview")
    uvicorn.run("mendan.app:create_app", factory=True, host=host, port=port, workers=workers,
                **uvicorn_options(settings))


def uvicorn_options(settings) -> dict:
    """uvicorn's options that depend on the settings: X-Forwarded-For and -Proto are believed
    only from `settings.trusted_proxies` (none by default), so nobody can forge a client address."""
    return {"proxy_headers": True, "forwarded_allow_ips": list(settings.trusted_proxies), "log_level": "info"}


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.option("--processes", default=os.cpu_count() or 1, show_default=True, type=int)
@click.option("--threads", default=2, show_default=True, type=int)
@click.pass_context
def worker(ctx: click.Context, processes: int, threads: int) -> None:
    """Run `dramatiq` worker processes for BROKER_URL; extra arguments (more modules to import,
    dramatiq's options) go to dramatiq, right after the broker, where its modules are read."""
    settings = _settings()
    if settings.broker_kind == "embedded":
        raise click.UsageError("set BROKER_URL (redis://... or amqp://...) to run separate workers")
    args = [sys.executable, "-m", "dramatiq", "mendan.worker:broker", *ctx.args, "--processes", str(processes),
            "--threads", str(threads)]
    os.execv(sys.executable, args)


async def _create_user(*, tenant_id, email: str, role: str, name: str, password: str | None):
    from core.auth.passwords import hash_password
    from core.db.tables import User

    email = email.strip().lower()
    existing = await User.objects().where((User.email == email) & (
        User.tenant.is_null() if tenant_id is None else User.tenant == tenant_id)).first()
    if existing is not None:
        return existing, False
    user = User(tenant=tenant_id, email=email, role=role, display_name=name,
                password_hash=hash_password(password) if password else None)
    await user.save()
    return user, True


@main.command()
@click.option("--email", prompt=True)
@click.option("--password", default=None, help="prompted for when left out")
def createoperator(email: str, password: str | None) -> None:
    """Create a platform operator (no tenant) who signs in at /login."""
    from core.auth.passwords import password_problem
    from mendan.assembly import migrate as run_migrate

    settings = _settings()
    email = email.strip().lower()
    password = password or getpass.getpass("Password: ")
    if password_problem(password):
        raise click.UsageError("the password must be at least 10 characters long, and not spaces only")

    async def run() -> bool:
        await run_migrate(settings)
        _user, created = await _create_user(tenant_id=None, email=email, role="operator", name=email, password=password)
        return created

    created = asyncio.run(run())
    click.echo(f"operator {email} {'created' if created else 'already exists'}; sign in at {settings.base_url}/login")


@main.command()
@click.option("--slug", default="demo", show_default=True)
@click.option("--interviews", default=60, show_default=True, type=click.IntRange(min=0),
              help="recorded, analysed and evaluated demo interviews to add (0: users only)")
def demo(slug: str, interviews: int) -> None:
    """Create a demo tenant with one user per role, mendan's own plugins enabled (others, such as
    the example plugin, switched off), and demo interviews that the AI model learns from and predicts."""
    from mendan.assembly import migrate as run_migrate
    from core.db.tables import Tenant
    from core.plugins import get_plugin_host
    from core.storage import BlobStore
    from core.tenancy import create_tenant

    settings = _settings()

    async def run() -> None:
        await run_migrate(settings)
        tenant = await Tenant.objects().where(Tenant.slug == slug).first()
        if tenant is None:
            tenant = await create_tenant(BlobStore.from_settings(settings), slug=slug, name="デモ株式会社")
        host = get_plugin_host()
        # The product's own plugins only: an example installed for the tests (mendan-hello)
        # must not show its tab in a customer's demo.
        own = {ep.name for ep in entry_points(group="mendan.plugins") if ep.value.startswith("plugins.")}
        for key in host.metas:
            await host.set_enabled(tenant.id, key, key in own)
        for role, email, name in DEMO_USERS:
            await _create_user(tenant_id=tenant.id, email=email, role=role, name=name, password=DEMO_PASSWORD)
        _role, email, name = DEMO_OPERATOR
        await _create_user(tenant_id=None, email=email, role="operator", name=name, password=DEMO_PASSWORD)

    asyncio.run(run())
    if interviews:
        click.echo(asyncio.run(_grow_demo(settings, slug, interviews)))
    click.echo(f"\nDemo tenant ready. Start the service (`mendan serve`), open {settings.base_url}/t/{slug}/login")
    click.echo(f"and sign in with one of these e-mail addresses and the password {DEMO_PASSWORD}:")
    for role, email, _name in DEMO_USERS:
        click.echo(f"  {role:12s} {email}")
    click.echo(f"Operators sign in at {settings.base_url}/login as {DEMO_OPERATOR[1]} (same password).")


async def _grow_demo(settings: Settings, slug: str, interviews: int) -> str:
    """Demo interviews through the real pipeline: the app's own job worker runs the analysis."""
    from mendan.app import create_app
    from core.db.tables import Tenant
    from mendan.demo_data import grow_demo

    app = create_app(settings)
    if settings.broker_kind != "embedded":
        click.echo("BROKER_URL is set: the demo's analysis jobs wait for `mendan worker` processes.")
    # The progress bar (stdout) tells the story. Log lines, and the native libraries' chatter
    # on the stderr file descriptor, go to a file instead of drowning it.
    log_path = settings.data_dir / "demo.log"
    click.echo(f"details are logged to {log_path}")
    with log_path.open("ab") as log_file:
        saved_stderr = os.dup(2)
        os.dup2(log_file.fileno(), 2)
        try:
            async with app.lifespan():
                tenant = await Tenant.objects().where(Tenant.slug == slug).first()
                with click.progressbar(length=100, label="demo interviews", show_percent=True) as bar:
                    shown = 0

                    def progress(percent: int, what: str) -> None:
                        nonlocal shown
                        bar.label = what
                        bar.update(max(0, percent - shown))
                        shown = max(shown, percent)

                    return await grow_demo(tenant, interviews, progress)
        finally:
            os.dup2(saved_stderr, 2)
            os.close(saved_stderr)


def _bound_storage(settings: Settings):
    """The configured database bound for this process, and the configured blob store."""
    from core.db.engine import bind_engine, make_engine
    from core.storage import BlobStore

    bind_engine(make_engine(settings))
    return BlobStore.from_settings(settings)


@main.command()
@click.option("--to", "dest", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="folder that keeps the backups; each run adds a folder of its own")
@click.option("--kind", type=click.Choice(["full", "differential"]), default="full", show_default=True,
              help="differential: the database and the blobs changed since the last full backup in --to")
def backup(dest: Path, kind: str) -> None:
    """Back up the database and the (still encrypted) blobs; schedule: docs/backups.md."""
    from core.backup import BackupError, take_backup

    settings = _settings()
    try:
        result = asyncio.run(take_backup(settings, _bound_storage(settings), dest, kind))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    counts = result.manifest["counts"]
    click.echo(f"{kind} backup in {result.folder}: {counts['tenants']} tenants, {counts['blobs']} blobs "
               f"({counts['blobs_copied']} copied, {counts['bytes_copied']} bytes)")


@main.command()
@click.argument("source", type=click.Path(exists=True, file_okay=False, path_type=Path))
def restore(source: Path) -> None:
    """Restore a backup folder into the configured, empty database and blob store (the master key
    in the environment must be the one the backup was taken under)."""
    from core.backup import BackupError, restore_backup

    settings = _settings()
    try:
        manifest = asyncio.run(restore_backup(settings, _bound_storage(settings), source))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"restored the {manifest['kind']} backup of {manifest['started_at']}: "
               f"{manifest['counts']['tenants']} tenants, {manifest['counts']['blobs']} blobs")


main.add_command(createtenant_command)
main.add_command(purge_expired_command)
main.add_command(analyse_command)
main.add_command(import_interviews_command)
main.add_command(models_command)
