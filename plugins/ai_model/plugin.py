"""ai_model: build evaluation models from expert evaluations, and predict new interviews.

What it adds: routes under /t/{tenant}/ai_model/ (model versions, build, activate,
review predictions, CSV export, re-score), a list on the admin's home page, its REST API v1 under /api/v1/t/{tenant}/ai_model/
(./api.py), the actors `ai_model.build`, `ai_model.predict`
and `ai_model.rescore`, its tables (`ai_model_*`), a panel on the interview result page,
a nav item, and one prediction per analysis of an interview (`mendan_interview_analysed`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.hookspecs import hookimpl
from core.plugins import Meter, NavItem, PluginMeta
from plugins.ai_model.meters import BUILDS, PREDICTIONS

# Every `mendan` command loads this module: routes and service (pandas, catboost) wait for use.

META = PluginMeta(
    key="ai_model",
    name_ja="AIモデル構築・利用",
    name_en="AI model building and use",
    version="0.1.0",
    kind="basic",
    hours="batch",
    meters=(
        Meter(BUILDS, "build", "モデル構築", "Model builds"),
        Meter(PREDICTIONS, "interview", "AI予測", "AI predictions"),
    ),
    description_ja="熟練面談者の評価から評価項目ごとのモデルを作り、新しい面談の評価を予測します。",
    description_en="Learns one model per evaluation item from expert evaluations and predicts new interviews.",
)


@hookimpl
def mendan_plugin_meta() -> PluginMeta:
    return META


@hookimpl
def mendan_route_handlers() -> list[Any]:
    from plugins.ai_model import routes

    return routes.HANDLERS


@hookimpl
def mendan_api_route_handlers() -> list[Any]:
    from plugins.ai_model import api

    return api.API_HANDLERS


@hookimpl
def mendan_actors() -> dict[str, Any]:
    from plugins.ai_model import service

    return {"build": service.build_model, "predict": service.predict_interview, "rescore": service.rescore}


@hookimpl
def mendan_job_names() -> dict[str, tuple[str, str]]:
    return {"build": ("AIモデルの構築", "Building an AI model"), "predict": ("AIによる採点", "AI scoring"),
            "rescore": ("AIによる再採点", "AI re-scoring")}


@hookimpl
def mendan_piccolo_apps() -> list[str]:
    return ["plugins.ai_model.piccolo_app"]


@hookimpl
def mendan_template_dirs() -> list[Path]:
    return [Path(__file__).parent / "templates"]


@hookimpl
def mendan_nav_items(tenant: Any, user: Any) -> list[NavItem]:
    if user is None or user.role == "interviewee":
        return []
    return [NavItem(path="ai_model/", label_ja="AIモデル", label_en="AI models", order=300)]


@hookimpl
async def mendan_home_sections(tenant: Any, user: Any) -> list[Any]:
    if user.role != "admin":
        return []
    from plugins.ai_model.home import unconfirmed_section

    return [await unconfirmed_section(tenant)]


@hookimpl
async def mendan_interview_analysed(tenant_id: Any, interview_id: Any, succeeded: Any, failed: Any) -> None:
    """Predict once, on the features of every extractor that ran (not per extractor)."""
    from core.runtime import runtime

    await runtime().tasks.enqueue("ai_model.predict", tenant_id=tenant_id, interview_id=str(interview_id))


@hookimpl
async def mendan_interview_panels(tenant: Any, interview: Any) -> list[Any]:
    from core.interviews.api import Panel
    from core.tenancy import TenantScope
    from plugins.ai_model import routes

    from core.runtime import runtime

    from core.interviews.api import can_see_attributes

    host = runtime().host
    predictions = await routes.latest_predictions(TenantScope(tenant.id), interview.id, routes.labels_of(host),
                                                  routes.face_extractors(host))
    if not predictions:
        return []
    reports = await routes.fairness_reports(host, tenant) if any(p["face_based"] for p in predictions) else []
    return [Panel(title_ja="AIによる参考評価", title_en="AI reference evaluation", template="ai_model/panel.html",
                  context={"predictions": predictions, "fairness_reports": reports,
                           "may_read_reports": can_see_attributes},
                  order=50, scores=True)]


@hookimpl
async def mendan_demo_data_ready(tenant_id: Any) -> None:
    """Build the demo tenant's first model, then predict the interviews no expert evaluated."""
    from core.tenancy import TenantScope
    from plugins.ai_model import service

    await service.build_model(str(tenant_id))
    for interview_id in await service.unevaluated_analysed_interviews(TenantScope(tenant_id)):
        await service.predict_interview(str(tenant_id), str(interview_id))


@hookimpl
async def mendan_model_versions(tenant_id: Any) -> list[dict[str, Any]]:
    from plugins.ai_model import evaluation

    return await evaluation.model_versions(tenant_id)


@hookimpl
async def mendan_model_evaluation(tenant_id: Any, version_id: Any) -> dict[str, Any] | None:
    from plugins.ai_model import evaluation

    return await evaluation.model_evaluation(tenant_id, version_id)


@hookimpl
async def mendan_prediction_records(tenant_id: Any, since: Any, until: Any) -> dict[str, Any]:
    from plugins.ai_model import evaluation

    return await evaluation.prediction_records(tenant_id, since, until)
