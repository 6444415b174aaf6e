"""The plugin host: discovery, metadata, per-tenant enabling and isolated dispatch.

Installed is not enabled. A plugin is installed when it is registered under the
entry-point group `mendan.plugins` (built-in ones are declared the same way in
pyproject.toml). It is enabled for a tenant when it is a basic service that the
tenant has not switched off, or an option switched on in the tenant's
`PluginSetting` row. Hooks called for a tenant reach only its enabled plugins,
and one plugin's exception is logged without stopping the others.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.metadata import entry_points
from typing import Any, Literal

import pluggy
import structlog
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from core import hookspecs

log = structlog.get_logger("mendan.plugins")

# The version of the plugin contract in core/hookspecs.py; plugins state which they support.
CORE_API_VERSION = "1.0"
ENTRY_POINT_GROUP = "mendan.plugins"
_KEY_RE = re.compile(r"[a-z][a-z0-9_]{1,62}")


@dataclass(frozen=True)
class Meter:
    """A usage meter a plugin emits, billed per unit."""

    key: str
    unit: str
    name_ja: str
    name_en: str


@dataclass(frozen=True)
class PluginMeta:
    key: str
    name_ja: str
    name_en: str
    version: str
    kind: Literal["basic", "option"]
    hours: Literal["interactive", "batch"]
    restricted: bool = False  # only operators may enable it
    meters: tuple[Meter, ...] = ()
    model_licences: tuple[str, ...] = ()  # e.g. "face_landmarker.task: Apache-2.0"
    compatibility: str = ">=1.0,<2"  # the core API versions it works with
    description_ja: str = ""
    description_en: str = ""

    def name(self, language: str) -> str:
        return self.name_ja if language == "ja" else self.name_en


@dataclass(frozen=True)
class NavItem:
    """A link in the tenant navigation bar; `path` is relative to `/t/{tenant}/`."""

    path: str
    label_ja: str
    label_en: str
    order: int = 100

    def label(self, language: str) -> str:
        return self.label_ja if language == "ja" else self.label_en


class PluginError(Exception):
    pass


async def await_me_maybe(value: Any) -> Any:
    """Plugin authors may return a value or an awaitable; the host awaits when needed."""
    if inspect.isawaitable(value):
        return await value
    return value


@dataclass
class PluginHost:
    pm: pluggy.PluginManager = field(default_factory=lambda: pluggy.PluginManager("mendan"))
    metas: dict[str, PluginMeta] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.pm.add_hookspecs(hookspecs)

    # -- installation -------------------------------------------------------

    def load_entry_points(self) -> None:
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if ep.name in self.metas:
                continue
            try:
                self.register(ep.load(), key=ep.name)
            except Exception as exc:  # one broken plugin must not stop the service
                log.error("plugin_load_failed", plugin=ep.name, error=repr(exc))

    def register(self, plugin: Any, *, key: str) -> PluginMeta:
        """Register a plugin module or object under `key`, after checking its metadata."""
        self.pm.register(plugin, name=key)
        try:
            meta = self._checked_meta(plugin, key)
        except Exception:
            self.pm.unregister(name=key)
            raise
        self.metas[key] = meta
        log.info("plugin_registered", plugin=key, version=meta.version, kind=meta.kind)
        return meta

    def unregister(self, key: str) -> None:
        self.pm.unregister(name=key)
        self.metas.pop(key, None)

    def _checked_meta(self, plugin: Any, key: str) -> PluginMeta:
        # A misspelt hook would otherwise be silently never called.
        unknown = sorted(
            caller.name for caller in self.pm.get_hookcallers(plugin) or [] if caller.spec is None
        )
        if unknown:
            raise PluginError(f"plugin {key!r} implements unknown hooks: {', '.join(unknown)}")
        registered = {caller.name for caller in self.pm.get_hookcallers(plugin) or []}
        unmarked = sorted(
            name for name in dir(plugin)
            if name.startswith("mendan_") and name not in registered and callable(getattr(plugin, name))
        )
        if unmarked:
            raise PluginError(f"plugin {key!r}: mark {', '.join(unmarked)} with @hookimpl")
        impl = getattr(plugin, "mendan_plugin_meta", None)
        if impl is None:
            raise PluginError(f"plugin {key!r} does not implement mendan_plugin_meta")
        meta = impl()
        if not isinstance(meta, PluginMeta):
            raise PluginError(f"plugin {key!r}: mendan_plugin_meta must return a PluginMeta")
        if meta.key != key:
            raise PluginError(f"plugin registered as {key!r} declares key {meta.key!r}")
        if not _KEY_RE.fullmatch(key):
            raise PluginError(f"plugin key {key!r} must match {_KEY_RE.pattern}")
        if meta.kind not in ("basic", "option"):
            raise PluginError(f"plugin {key!r}: kind must be 'basic' or 'option', not {meta.kind!r}")
        if meta.hours not in ("interactive", "batch"):
            raise PluginError(f"plugin {key!r}: hours must be 'interactive' or 'batch', not {meta.hours!r}")
        try:
            compatible = Version(CORE_API_VERSION) in SpecifierSet(meta.compatibility)
        except InvalidSpecifier as exc:
            raise PluginError(f"plugin {key!r}: bad compatibility {meta.compatibility!r}") from exc
        if not compatible:
            raise PluginError(
                f"plugin {key!r} needs core API {meta.compatibility}, this core is {CORE_API_VERSION}"
            )
        return meta

    # -- dispatch -----------------------------------------------------------

    def _impls(self, hook_name: str, keys: set[str] | None):
        for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
            if keys is None or impl.plugin_name in keys:
                yield impl

    def call_each(self, hook_name: str, *, keys: set[str] | None = None, **kwargs: Any):
        """Call a hook plugin by plugin, synchronously; yields (key, result) for those that answered.

        For install-time hooks (routes, actors, apps, templates, extractors, CLI commands), which must
        answer synchronously. A failing plugin is logged and skipped.
        """
        for impl in self._impls(hook_name, keys):
            try:
                result = impl.function(**{name: kwargs[name] for name in impl.argnames})
            except Exception as exc:
                log.exception("plugin_hook_failed", plugin=impl.plugin_name, hook=hook_name, error=repr(exc))
                continue
            if inspect.isawaitable(result):
                # Install-time hooks run while the app is assembled, outside any event loop we may block.
                getattr(result, "close", lambda: None)()
                log.error("plugin_hook_failed", plugin=impl.plugin_name, hook=hook_name,
                          error="this hook must answer synchronously, not with an awaitable")
                continue
            if result is not None:
                yield impl.plugin_name, result

    async def call_for_tenant(self, hook_name: str, *, enabled: set[str], **kwargs: Any) -> list[tuple[str, Any]]:
        """Call a hook on the plugins in `enabled` only, awaiting results; failures are isolated."""
        results = []
        for impl in self._impls(hook_name, enabled):
            try:
                result = await await_me_maybe(impl.function(**{name: kwargs[name] for name in impl.argnames}))
            except Exception as exc:
                log.exception("plugin_hook_failed", plugin=impl.plugin_name, hook=hook_name, error=repr(exc))
                continue
            if result is not None:
                results.append((impl.plugin_name, result))
        return results

    # -- what plugins contribute ------------------------------------------

    def piccolo_apps(self) -> list[str]:
        return [app for _key, apps in self.call_each("mendan_piccolo_apps") for app in apps]

    def template_dirs(self) -> list[str]:
        return [str(d) for _key, dirs in self.call_each("mendan_template_dirs") for d in dirs]

    def route_handlers(self) -> dict[str, list[Any]]:
        return {key: list(handlers) for key, handlers in self.call_each("mendan_route_handlers")}

    def actors(self) -> dict[str, Any]:
        """Actor functions by full name `{plugin_key}.{task}`."""
        return {
            f"{key}.{task}": fn
            for key, tasks in self.call_each("mendan_actors")
            for task, fn in tasks.items()
        }

    def feature_extractors(self, enabled: set[str]) -> list[Any]:
        return [ext for _key, exts in self.call_each("mendan_feature_extractors", keys=enabled) for ext in exts]

    # -- enabling -----------------------------------------------------------

    async def enabled_keys(self, tenant_id: Any) -> set[str]:
        """The installed plugins enabled for a tenant: basic ones unless switched off, options when on."""
        from core.db.tables import PluginSetting

        rows = await PluginSetting.select(PluginSetting.plugin_key, PluginSetting.active).where(
            PluginSetting.tenant == tenant_id
        )
        explicit = {row["plugin_key"]: row["active"] for row in rows}
        return {
            key
            for key, meta in self.metas.items()
            if explicit.get(key, meta.kind == "basic")
        }

    async def set_enabled(self, tenant_id: Any, key: str, active: bool) -> None:
        from core.db.tables import PluginSetting

        if key not in self.metas:
            raise PluginError(f"no plugin {key!r} is installed")
        # One row per (tenant, plugin_key), by a unique index: an upsert, so two switches at
        # once never leave two rows that disagree.
        await PluginSetting.insert(PluginSetting(tenant=tenant_id, plugin_key=key, active=active)).on_conflict(
            target=(PluginSetting.tenant, PluginSetting.plugin_key), action="DO UPDATE",
            values=[PluginSetting.active, (PluginSetting.updated_at, datetime.now(timezone.utc))])


_host: PluginHost | None = None


def get_plugin_host() -> PluginHost:
    """The process-wide host, with every installed plugin loaded."""
    global _host
    if _host is None:
        _host = PluginHost()
        _host.load_entry_points()
    return _host
