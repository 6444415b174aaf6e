"""`mendan ethics-monitor`: the monthly monitoring for production, run from cron."""

from __future__ import annotations

import asyncio

import click


@click.command("ethics-monitor")
@click.option("--month", default=None, help="YYYY-MM to snapshot; default: the last complete month (Tokyo).")
def ethics_monitor_command(month: str | None) -> None:
    """Snapshot the AI's predictions of a month for every tenant with the option (idempotent:
    run it daily or monthly; a month already snapshotted is left as it is)."""
    from plugins.ethics_prediction.monitoring import month_bounds, monitor_all

    if month is not None:
        try:
            month_bounds(month)
        except ValueError as exc:
            raise click.BadParameter("write the month as YYYY-MM / 月は YYYY-MM の形式で指定してください") from exc
    made = asyncio.run(monitor_all(period=month))
    for snapshot in made:
        click.echo(f"snapshot {snapshot.period} for tenant {snapshot.tenant}: risk {snapshot.risk}"
                   + (" (admins mailed)" if snapshot.alerted else ""))
    click.echo(f"{len(made)} snapshot(s) made")
