"""ai_model: build evaluation models from expert evaluations, and predict new interviews.

What it adds: routes under /t/{tenant}/ai_model/ (model versions, build, activate,
review predictions, CSV export), the actors `ai_model.build` and `ai_model.predict`,
its tables (`ai_model_*`), a panel on the interview result page, a nav item, and
a prediction whenever an interview's analysis has finished.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.hookspecs import hookimpl
from core.interviews.panels import Panel
from core.plugins import Meter, NavItem, PluginMeta
from core.runtime import runtime
from core.tenancy import TenantScope
from plugins.ai_model import routes, service

META = PluginMeta(
    key="ai_model",
    name_ja="AIモデル構築・利用",
    name_en="AI model building and use",
    version="0.1.0",
    kind="basic",
    hours="batch",
    meters=(
        Meter(service.BUILDS, "build", "モデル構築", "Model builds"),
        Meter(service.PREDICTIONS, "interview", "AI予測", "AI predictions"),
    ),
    description_ja="熟練面談者の評価から評価項目ごとのモデルを作り、新しい面談の評価を予測します。",
    description_en="Learns one model per evaluation item from expert evaluations and predicts new interviews.",
)


@hookimpl
def mendan_plugin_meta() -> PluginMeta:
    return META


@hookimpl
def mendan_route_handlers() -> list[Any]:
    return routes.HANDLERS


@hookimpl
def mendan_actors() -> dict[str, Any]:
    return {"build": service.build_model, "predict": service.predict_interview}


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
async def mendan_interview_analysed(tenant_id: Any, interview_id: Any, succeeded: Any, failed: Any) -> None:
    await runtime().tasks.enqueue("ai_model.predict", tenant_id=tenant_id, interview_id=str(interview_id))


@hookimpl
async def mendan_interview_panels(tenant: Any, interview: Any) -> list[Panel]:
    predictions = await routes.latest_predictions(TenantScope(tenant.id), interview.id)
    if not predictions:
        return []
    return [Panel(title_ja="AIによる参考評価", title_en="AI reference evaluation", template="ai_model/panel.html",
                  context={"predictions": predictions}, order=50)]


@hookimpl
async def mendan_demo_data_ready(tenant_id: Any) -> None:
    """Build the demo tenant's first model, then predict the interviews no expert evaluated."""
    await service.build_model(str(tenant_id))
    for interview_id in await service.unevaluated_analysed_interviews(TenantScope(tenant_id)):
        await service.predict_interview(str(tenant_id), str(interview_id))
