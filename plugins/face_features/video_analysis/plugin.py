"""video_analysis: the video-analysis option (spec 4.1.2 (1)), for contracts that include it.

Adds
- routes `/t/{tenant}/video_analysis/` (report page) and `/report.csv`, for admins and experts;
- template folder `video_analysis/`; a navigation item;
- no actors, extractors, tables or meters: it reads the features `face_features` stored.
"""

from __future__ import annotations

from pathlib import Path

from core.hookspecs import hookimpl
from core.plugins import NavItem, PluginMeta


@hookimpl
def mendan_plugin_meta() -> PluginMeta:
    return PluginMeta(
        key="video_analysis",
        name_ja="動画分析",
        name_en="Video analysis",
        version="1.0.0",
        kind="option",
        hours="batch",
        description_ja="解析済みの面談の表情・視線特徴量と評価項目の相関・群間差をレポートします。",
        description_en="Reports how face and gaze features of analysed interviews relate to evaluation items.",
    )


@hookimpl
def mendan_route_handlers() -> list:
    from plugins.face_features.video_analysis.routes import ROUTES

    return ROUTES


@hookimpl
def mendan_template_dirs() -> list[Path]:
    return [Path(__file__).parent / "templates"]


@hookimpl
def mendan_nav_items(tenant, user) -> list[NavItem]:
    if user is None or user.role not in ("admin", "expert"):
        return []
    return [NavItem(path="video_analysis/", label_ja="動画分析", label_en="Video analysis", order=500)]
