"""ethics_model: the AI-ethics analysis of a model version (spec option 4.1.2 (2)).

What it adds: pages under /t/{tenant}/ethics_model/ (model versions, reports as HTML, PDF and
CSV; protected-attributes permission only), the actor `ethics_model.analyse`, its table
`ethics_model_report`, a nav item, and the meter `ethics_model.analyses`. It reads a model's
training data through `mendan_model_evaluation` and the metrics from `core.fairness`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.hookspecs import hookimpl
from core.plugins import Meter, NavItem, PluginMeta
from core.fairness_settings import FairnessSettings
from plugins.ethics_model.meters import ANALYSES

# Every `mendan` command loads this module: analysis (pandas, aif360) and routes wait for use.

META = PluginMeta(
    key="ethics_model",
    name_ja="AI倫理分析（学習データ・モデル）",
    name_en="AI-ethics analysis of training data and models",
    version="0.1.0",
    kind="option",
    hours="batch",
    settings=FairnessSettings,
    meters=(Meter(ANALYSES, "analysis", "AI倫理分析（モデル）", "AI-ethics analyses (models)"),),
    description_ja="学習データの評価、評価者、モデルの予測に、保護属性による不当な差がないかを分析します。",
    description_en="Checks training evaluations, experts and a model's predictions for unfair differences "
                   "between protected groups.",
)


@hookimpl
def mendan_plugin_meta() -> PluginMeta:
    return META


@hookimpl
def mendan_route_handlers() -> list[Any]:
    from plugins.ethics_model import routes

    return routes.HANDLERS


@hookimpl
def mendan_actors() -> dict[str, Any]:
    from plugins.ethics_model import analysis

    return {"analyse": analysis.analyse_version}


@hookimpl
def mendan_job_names() -> dict[str, tuple[str, str]]:
    return {"analyse": ("AIモデルの公平性分析", "Fairness analysis of a model")}


@hookimpl
def mendan_piccolo_apps() -> list[str]:
    return ["plugins.ethics_model.piccolo_app"]


@hookimpl
def mendan_template_dirs() -> list[Path]:
    return [Path(__file__).parent / "templates"]


@hookimpl
def mendan_fairness_reports(tenant: Any) -> list[NavItem]:
    """The fairness note beside a face-based AI score links to the model reports."""
    return [NavItem(path="ethics_model/", label_ja="AI倫理レポート（モデル）", label_en="AI-ethics reports (models)")]


@hookimpl
def mendan_nav_items(tenant: Any, user: Any) -> list[NavItem]:
    from core.interviews.api import can_see_attributes

    if not can_see_attributes(user):
        return []
    return [NavItem(path="ethics_model/", label_ja="AI倫理（モデル）", label_en="AI ethics (models)", order=320)]
