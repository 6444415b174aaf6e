"""pretrained_model: the provider's pretrained model for tenants with too few interviews (option 4.1.2 (4)).

What it adds: the vendor workspace in the operators' console (/ops/pretrained_model/: vendor
items, training material, versions trained with core.model_training by the job
`pretrained_model.train`, publishing with a model
card), the tenant page /t/{tenant}/pretrained_model/ (model card, item mapping, comparison with
the tenant's own model and the choice of vendor, own or blend, audited), its tables
(`pretrained_model_*`), and a base model for ai_model through `mendan_base_model`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.hookspecs import hookimpl
from core.plugins import NavItem, PluginMeta

META = PluginMeta(
    key="pretrained_model",
    name_ja="学習済モデル",
    name_en="Pretrained model",
    version="0.1.0",
    kind="option",
    hours="interactive",  # table 5-1: the option's screens follow the course's hours
    description_ja="運用者が自らの学習素材データで学習したAIモデルを、自社の面談が少ないうちから利用できます。",
    description_en="Use a model the provider trained on its own training material, before you have enough interviews.",
)


@hookimpl
def mendan_plugin_meta() -> PluginMeta:
    return META


@hookimpl
def mendan_route_handlers() -> list[Any]:
    from plugins.pretrained_model import routes

    return routes.TENANT_HANDLERS


@hookimpl
def mendan_ops_route_handlers() -> list[Any]:
    from plugins.pretrained_model import routes

    return routes.OPS_HANDLERS


@hookimpl
def mendan_actors() -> dict[str, Any]:
    from plugins.pretrained_model import service

    return {"train": service.train_job}


@hookimpl
def mendan_job_names() -> dict[str, tuple[str, str]]:
    return {"train": ("事前学習モデルの学習", "Training the pretrained model")}


@hookimpl
def mendan_piccolo_apps() -> list[str]:
    return ["plugins.pretrained_model.piccolo_app"]


@hookimpl
def mendan_template_dirs() -> list[Path]:
    return [Path(__file__).parent / "templates"]


@hookimpl
def mendan_nav_items(tenant: Any, user: Any) -> list[NavItem]:
    if user is None or user.role != "admin":
        return []
    return [NavItem(path="pretrained_model/", label_ja="学習済モデル", label_en="Pretrained model", order=310)]


@hookimpl
async def mendan_base_model(tenant_id: Any) -> Any:
    from plugins.pretrained_model import service

    return await service.base_model(tenant_id)


@hookimpl
async def mendan_model_activated(tenant_id: Any, version_id: Any) -> None:
    """The tenant's own model changed: a blend's weights are measured again on the new version."""
    from plugins.pretrained_model import service

    await service.remeasure_blend(tenant_id)


@hookimpl
async def mendan_demo_data_ready(tenant_id: Any) -> None:
    """The demo's vendor model (generated material, labelled so), accepted and mapped for the demo tenant."""
    from core.tables import json_value
    from core.tenancy import TenantScope
    from plugins.pretrained_model import service

    version = await service.ensure_generated_version()
    scope = TenantScope(tenant_id)
    vendor_items = json_value(version.items)
    mapping = {key: key for key in await service.tenant_items(scope) if key in vendor_items}
    await service.save_mapping(scope, version, mapping, user=None)
