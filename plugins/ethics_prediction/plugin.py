"""ethics_prediction: the AI-ethics analysis of predictions, monitored monthly (spec option 4.1.2 (3)).

What it adds: pages under /t/{tenant}/ethics_prediction/ (snapshots, a window analysis, PDF
and CSV; protected-attributes permission only), the actor `ethics_prediction.monitor`
scheduled monthly by the embedded scheduler, the command `mendan ethics-monitor` for cron,
the table `ethics_prediction_snapshot` (immutable), a nav item and two meters. Predictions
come through `mendan_prediction_records`; the metrics from `core.fairness`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.hookspecs import hookimpl
from core.plugins import Meter, NavItem, PluginMeta
from core.fairness_settings import FairnessSettings
from plugins.ethics_prediction.meters import ANALYSES, MONITORINGS

# Every `mendan` command loads this module: monitoring (pandas, aif360) and routes wait for use.

META = PluginMeta(
    key="ethics_prediction",
    name_ja="AI倫理分析（予測結果・月次監視）",
    name_en="AI-ethics analysis of predictions, monitored monthly",
    version="0.1.0",
    kind="option",
    hours="batch",
    settings=FairnessSettings,
    meters=(
        Meter(MONITORINGS, "month", "月次監視", "Monthly monitorings"),
        Meter(ANALYSES, "analysis", "AI倫理分析（予測）", "AI-ethics analyses (predictions)"),
    ),
    description_ja="AIの予測結果に保護属性による不当な差や分布の変化がないかを毎月監視し、閾値を超えたら管理者に知らせます。",
    description_en="Checks the AI's predictions every month for unfair differences between protected groups and "
                   "for drift, and tells the admins when a threshold is crossed.",
)


@hookimpl
def mendan_plugin_meta() -> PluginMeta:
    return META


@hookimpl
def mendan_route_handlers() -> list[Any]:
    from plugins.ethics_prediction import routes

    return routes.HANDLERS


@hookimpl
def mendan_actors() -> dict[str, Any]:
    from plugins.ethics_prediction import monitoring

    return {"monitor": monitoring.monitor_job}


@hookimpl
def mendan_job_names() -> dict[str, tuple[str, str]]:
    return {"monitor": ("予測の公平性監視", "Fairness monitoring of predictions")}


@hookimpl
def mendan_scheduled_jobs() -> list[Any]:
    from plugins.ethics_prediction import monitoring

    return [monitoring.SCHEDULE]


@hookimpl
def mendan_cli_commands() -> list[Any]:
    from plugins.ethics_prediction import cli

    return [cli.ethics_monitor_command]


@hookimpl
def mendan_piccolo_apps() -> list[str]:
    return ["plugins.ethics_prediction.piccolo_app"]


@hookimpl
def mendan_template_dirs() -> list[Path]:
    return [Path(__file__).parent / "templates"]


@hookimpl
def mendan_fairness_reports(tenant: Any) -> list[NavItem]:
    """The fairness note beside a face-based AI score links to the monthly monitoring of predictions."""
    return [NavItem(path="ethics_prediction/", label_ja="AI倫理レポート（予測の月次監視）",
                    label_en="AI-ethics reports (monthly monitoring of predictions)")]


@hookimpl
def mendan_nav_items(tenant: Any, user: Any) -> list[NavItem]:
    from core.interviews.api import can_see_attributes

    if not can_see_attributes(user):
        return []
    return [NavItem(path="ethics_prediction/", label_ja="AI倫理（予測）", label_en="AI ethics (predictions)",
                    order=330)]
