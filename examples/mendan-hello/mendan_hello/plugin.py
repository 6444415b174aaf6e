"""The hooks of the `hello` plugin; the entry point `hello = "mendan_hello.plugin"` names this module."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.hookspecs import hookimpl
from core.plugins import NavItem, PluginMeta


@dataclass(frozen=True)
class HelloSettings:
    """What a tenant's admin may change on the greeting page (/t/{tenant}/services/hello/settings)."""

    greeting_ja: str = field(default="こんにちは", metadata={
        "label_ja": "あいさつ（日本語）", "label_en": "Greeting (Japanese)", "min": 1, "max": 40})
    greeting_en: str = field(default="Hello", metadata={
        "label_ja": "あいさつ（英語）", "label_en": "Greeting (English)", "min": 1, "max": 40})
    exclamations: int = field(default=0, metadata={
        "label_ja": "感嘆符の数", "label_en": "Exclamation marks", "min": 0, "max": 5})


@hookimpl
def mendan_plugin_meta() -> PluginMeta:
    return PluginMeta(
        key="hello",
        name_ja="こんにちは",
        name_en="Hello",
        kind="option",
        hours="interactive",
        compatibility=">=1.0,<2",
        description_ja="プラグインの作り方を示す例です。",
        description_en="An example showing how a plugin is built.",
        settings=HelloSettings,
    )


@hookimpl
def mendan_route_handlers() -> list[Any]:
    from mendan_hello.routes import ROUTES

    return ROUTES


@hookimpl
def mendan_template_dirs() -> list[Path]:
    return [Path(__file__).parent / "templates"]


@hookimpl
def mendan_nav_items(tenant: Any, user: Any) -> list[NavItem]:
    return [NavItem(path="hello/", label_ja="こんにちは", label_en="Hello", order=800)]


@hookimpl
def mendan_actors() -> dict[str, Any]:
    from mendan_hello.words import count_words

    return {"count_words": count_words}


@hookimpl
def mendan_feature_extractors() -> list[Any]:
    from mendan_hello.words import WordFeatures

    return [WordFeatures()]
