"""The example of `mendan_model_activated` in docs/plugins.md, run as a plugin: the AI model
tells the tenant's plugins which of its model versions became the active one."""

from __future__ import annotations

import re
import types
from pathlib import Path

import pytest

import plugins.ai_model.plugin as ai_model_plugin
from core.plugins import PluginMeta
from core.tenancy import TenantScope
from plugins.ai_model import service
from plugins.ai_model.tables import ModelVersion

PLUGINS_MD = Path(__file__).resolve().parent.parent / "docs" / "plugins.md"


def documented_example() -> types.ModuleType:
    section = PLUGINS_MD.read_text(encoding="utf-8").split("## mendan_model_activated(", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)
    module = types.ModuleType("hello_activated")
    exec(compile(code, "docs/plugins.md:mendan_model_activated", "exec"), module.__dict__)
    module.mendan_plugin_meta = module.hookimpl(lambda: PluginMeta(
        key="hello_activated", name_ja="こんにちは", name_en="Hello", version="0.1.0", kind="basic", hours="batch"))
    return module


@pytest.fixture
def host(host):
    host.register(ai_model_plugin, key="ai_model")
    return host


async def test_the_documented_example_hears_which_version_became_active(app, host, make_tenant):
    example = documented_example()
    host.register(example, key="hello_activated")
    tenant = await make_tenant()
    scope = TenantScope(tenant.id)
    first = await scope.add(ModelVersion(number=1, state="ready"))
    second = await scope.add(ModelVersion(number=2, state="ready"))
    await service.activate(scope, first.id)
    assert example.ACTIVE == {str(tenant.id): str(first.id)}
    await service.activate(scope, second.id)  # a rebuilt model made active
    assert example.ACTIVE == {str(tenant.id): str(second.id)}
    await service.activate(scope, first.id)  # a roll-back is an activation too
    assert example.ACTIVE == {str(tenant.id): str(first.id)}
    await host.set_enabled(tenant.id, "hello_activated", False)  # a plugin switched off hears nothing
    await service.activate(scope, second.id)
    assert example.ACTIVE == {str(tenant.id): str(first.id)}
