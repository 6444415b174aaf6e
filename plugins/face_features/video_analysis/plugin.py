"""video_analysis: the video-analysis option (spec 4.1.2 (1)), for contracts that include it.

Adds
- routes `/t/{tenant}/video_analysis/` (report page) and `/report.csv`, for admins and experts;
- template folder `video_analysis/`; a navigation item;
- table `video_analysis_report`: the report's content, computed ahead of the page (./report_store.py);
- actor `video_analysis.refresh`, queued (one waiting at most) when an interview's analysis
  finishes, an expert's evaluation or a question set is saved: the tenant's stored reports
  computed again;
- no extractors or meters: it reads the features `face_features` stored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.hookspecs import hookimpl
from core.plugins import NavItem, PluginMeta

REFRESH = "video_analysis.refresh"


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
def mendan_actors() -> dict[str, Any]:
    from plugins.face_features.video_analysis import report_store

    return {"refresh": report_store.refresh}


@hookimpl
def mendan_job_names() -> dict[str, tuple[str, str]]:
    return {"refresh": ("動画分析レポートの更新", "Updating the video analysis report")}


@hookimpl
def mendan_piccolo_apps() -> list[str]:
    return ["plugins.face_features.video_analysis.piccolo_app"]


@hookimpl
def mendan_template_dirs() -> list[Path]:
    return [Path(__file__).parent / "templates"]


@hookimpl
def mendan_nav_items(tenant, user) -> list[NavItem]:
    if user is None or user.role not in ("admin", "expert"):
        return []
    return [NavItem(path="video_analysis/", label_ja="動画分析", label_en="Video analysis", order=500)]


async def _refresh_later(tenant_id: Any) -> None:
    """Queue the tenant's refresh, unless one is still waiting to start: that one reads whatever
    changed meanwhile, so a burst (a bulk import, two experts scoring a batch) computes the report
    a few times, not once per save."""
    from core.runtime import runtime
    from core.tables import Job

    waiting = await Job.count().where((Job.tenant == tenant_id) & (Job.actor == REFRESH) & (Job.state == "queued"))
    if not waiting:
        await runtime().tasks.enqueue(REFRESH, tenant_id=str(tenant_id))


@hookimpl
async def mendan_interview_analysed(tenant_id: Any, interview_id: Any, succeeded: Any, failed: Any) -> None:
    """New face features: the report is computed now, not when someone next opens it."""
    from plugins.face_features.video_analysis.report_data import EXTRACTOR

    if EXTRACTOR in succeeded:
        await _refresh_later(tenant_id)


@hookimpl
async def mendan_evaluation_saved(tenant_id: Any, interview_id: Any, evaluator_role: Any) -> None:
    """Expert scores are the report's other input (the interviewer's and admins' are not)."""
    if evaluator_role == "expert":
        await _refresh_later(tenant_id)


@hookimpl
async def mendan_question_set_saved(tenant_id: Any, version_id: Any) -> None:
    """A new version may rename the items the report names."""
    await _refresh_later(tenant_id)
