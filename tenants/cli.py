"""`mendan purge-expired`: the daily retention check for production, run from cron."""

from __future__ import annotations

import asyncio

import click


@click.command("purge-expired")
def purge_expired_command() -> None:
    """Delete the data of tenants whose contract end plus grace has passed (run once a day)."""
    from core.config import Settings, use_settings
    from core.db.engine import bind_engine, make_engine
    from core.plugins import get_plugin_host
    from core.runtime import Runtime, set_runtime
    from core.storage import BlobStore
    from core.tasks import TaskQueue
    from tenants.retention import purge_expired

    settings = use_settings(Settings.from_env())
    bind_engine(make_engine(settings))
    set_runtime(Runtime(settings=settings, host=get_plugin_host(), storage=BlobStore.from_settings(settings),
                        tasks=TaskQueue(settings, {})))
    reports = asyncio.run(purge_expired())
    for report in reports:
        click.echo(f"deleted tenant {report.tenant_slug}: report {report.id}")
    click.echo(f"{len(reports)} tenant(s) deleted")
