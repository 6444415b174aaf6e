"""The doc examples of `mendan_text_features` and `mendan_model_page_panels` (docs/plugins.md) run
as a plugin: the AI model takes the example's text column, and its model page shows the panel."""

from __future__ import annotations

import re
import types
from pathlib import Path

import pandas as pd
import pytest

import plugins.ai_model.plugin as ai_model_plugin
from core.hookspecs import hookimpl
from core.plugins import PluginMeta
from plugins.ai_model.service import with_text_features
from core.model_training import text_columns_of
from tests.conftest import HTML, login

DOCS = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"


def example(hook: str) -> types.ModuleType:
    """The python example under the hook's heading in docs/plugins.md, run as a module."""
    section = re.search(rf"^## {hook}\(.*?\n```python\n(.*?)^```", DOCS.read_text(encoding="utf-8"),
                        re.MULTILINE | re.DOTALL)
    module = types.ModuleType(f"doc_example_{hook}")
    exec(compile(section[1], f"docs/plugins.md:{hook}", "exec"), module.__dict__)
    return module


def as_plugin(module: types.ModuleType) -> types.ModuleType:
    @hookimpl
    def mendan_plugin_meta():
        return PluginMeta(key="hello_words", name_ja="単語", name_en="Words", version="1", kind="option",
                          hours="batch")

    module.mendan_plugin_meta = mendan_plugin_meta
    return module


@pytest.fixture
def host(host):
    host.register(ai_model_plugin, key="ai_model")
    plugin = as_plugin(example("mendan_text_features"))
    plugin.mendan_model_page_panels = example("mendan_model_page_panels").mendan_model_page_panels
    host.register(plugin, key="hello_words")
    return host


async def test_the_text_features_example_adds_a_text_column_only_while_enabled(host, app, make_tenant):
    tenant = await make_tenant()
    features = pd.DataFrame({"face.smile_ratio": [0.2, 0.4]}, index=["a", "b"])
    assert list((await with_text_features(tenant.id, features)).columns) == ["face.smile_ratio"]

    await host.set_enabled(tenant.id, "hello_words", True)
    table = await with_text_features(tenant.id, features)
    assert text_columns_of(table) == ["hello_words.answer_text"]
    assert table.loc["a", "hello_words.answer_text"] == "売上 を 改善 する"


async def test_the_model_page_panel_example_shows_on_the_model_page_only_while_enabled(host, app, client,
                                                                                      make_tenant, make_user):
    tenant = await make_tenant()
    await login(client, tenant, await make_user(tenant, "admin"))
    assert "Words and accuracy" not in (await client.get(f"/t/{tenant.slug}/ai_model/", headers=HTML)).text
    await host.set_enabled(tenant.id, "hello_words", True)
    page = await client.get(f"/t/{tenant.slug}/ai_model/", headers=HTML)
    assert "単語数と精度" in page.text and "<p>+0.05</p>" in page.text
