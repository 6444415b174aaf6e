"""The plugin host: discovery, metadata, per-tenant enabling, settings and isolated dispatch.

Installed is not enabled. A plugin is installed when it is registered under the
entry-point group `mendan.plugins` (built-in ones are declared the same way in
pyproject.toml; `MENDAN_PLUGINS` / `MENDAN_PLUGINS_EXCLUDE` choose among them). It is
enabled for a tenant when it is a basic service that the tenant has not switched off,
or an option switched on in the tenant's `PluginSetting` row. `call_for_tenant` and
`first_for_tenant` are the one place that decides which plugins hear a tenant's hook
call; the enabled set is read once per request and per job (`dispatch_scope`). One
plugin's exception is logged without stopping the others.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.metadata import entry_points, packages_distributions, version as distribution_version
from pathlib import Path
from typing import Any, Literal

import pluggy
import structlog
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from core import hookspecs, plugin_settings

log = structlog.get_logger("mendan.plugins")

# The version of the plugin contract in core/hookspecs.py; plugins state which they support.
CORE_API_VERSION = "1.0"
ENTRY_POINT_GROUP = "mendan.plugins"
_KEY_RE = re.compile(r"[a-z][a-z0-9_]{1,62}")
# Hooks whose receivers are every installed plugin, enabled or not: a plugin switched off may
# still keep data of the tenant.
EVERY_INSTALLED = frozenset({"mendan_purge_tenant"})

# The enabled sets read in this request or job, by (host, tenant); None outside one (no caching).
_enabled_cache: ContextVar[dict[tuple[int, str], frozenset[str]] | None] = ContextVar(
    "mendan_enabled_plugins", default=None)


@contextmanager
def dispatch_scope() -> Iterator[None]:
    """A request or job: the tenant's enabled plugins are read once inside it. The request
    middleware and the job middleware open one; a change through `set_enabled` is seen at once."""
    token = _enabled_cache.set({})
    try:
        yield
    finally:
        _enabled_cache.reset(token)


def open_dispatch_scope() -> Any:
    """For middleware that cannot wrap a block (Dramatiq's before/after hooks): returns the token
    for `close_dispatch_scope`."""
    return _enabled_cache.set({})


def close_dispatch_scope(token: Any) -> None:
    _enabled_cache.reset(token)


def _keys_from_env(name: str) -> set[str] | None:
    raw = os.environ.get(name, "").strip()
    return {k.strip() for k in raw.split(",") if k.strip()} if raw else None


# The billed units of the built-in meters, in words (Japanese, English); a meter with another
# unit names it itself (`Meter.unit_ja`, `Meter.unit_en`).
UNIT_NAMES = {"interview": ("面談", "interview"), "minute": ("分", "minute"), "build": ("構築", "build"),
              "analysis": ("分析", "analysis"), "month": ("月", "month"), "question": ("質問", "question")}


@dataclass(frozen=True)
class Meter:
    """A usage meter a plugin emits, billed per `unit` (a code such as "minute"); pages name the
    unit in words: `unit_ja` / `unit_en` where given, else `UNIT_NAMES`."""

    key: str
    unit: str
    name_ja: str
    name_en: str
    unit_ja: str = ""
    unit_en: str = ""

    def unit_name(self, language: str) -> str:
        """The unit in words in `language` ("ja" or "en"); the code itself when nobody named it."""
        ja, en = (self.unit_ja, self.unit_en) if self.unit_ja or self.unit_en else \
            UNIT_NAMES.get(self.unit, (self.unit, self.unit))
        return (ja or en) if language == "ja" else (en or ja)


@dataclass(frozen=True, kw_only=True)
class PluginMeta:
    key: str
    name_ja: str
    name_en: str
    kind: Literal["basic", "option"]
    hours: Literal["interactive", "batch"]
    version: str = ""  # empty: the version of the distribution that installed the plugin
    restricted: bool = False  # only operators may enable it
    meters: tuple[Meter, ...] = ()
    model_licences: tuple[str, ...] = ()  # e.g. "face_landmarker.task: Apache-2.0"
    compatibility: str = ">=1.0,<2"  # the core API versions it works with
    description_ja: str = ""
    description_en: str = ""
    settings: type | None = None  # a dataclass of per-tenant settings (core.plugin_settings)

    def name(self, language: str) -> str:
        return self.name_ja if language == "ja" else self.name_en

    def description(self, language: str) -> str:
        return self.description_ja if language == "ja" else self.description_en


@dataclass(frozen=True)
class NavItem:
    """A link in the tenant navigation bar; `path` is relative to `/t/{tenant}/`."""

    path: str
    label_ja: str
    label_en: str
    order: int = 100

    def label(self, language: str) -> str:
        return self.label_ja if language == "ja" else self.label_en


@dataclass(frozen=True)
class HomeSection:
    """A list on a staff member's home page ("Upcoming interviews"): at most a few `rows` of
    (text, path relative to `/t/{tenant}/`), `more_path` to the whole list (the "see all" link)
    and `total`, how many there are in all (None where counting costs too much). `order` sorts
    the sections."""

    title_ja: str
    title_en: str
    rows: tuple[tuple[str, str], ...]
    more_path: str
    total: int | None = None
    empty_ja: str = "ありません。"
    empty_en: str = "None."
    order: int = 100

    def title(self, language: str) -> str:
        return self.title_ja if language == "ja" else self.title_en

    def empty(self, language: str) -> str:
        return self.empty_ja if language == "ja" else self.empty_en


class PluginError(Exception):
    pass


class PluginHooksFailed(PluginError):
    """Raised by `call_for_tenant(..., require_all=True)` after every plugin was called."""

    def __init__(self, hook_name: str, failed: list[str], results: list[tuple[str, Any]]) -> None:
        super().__init__(f"{hook_name} failed in: {', '.join(failed)}")
        self.failed = failed
        self.results = results


async def await_me_maybe(value: Any) -> Any:
    """Plugin authors may return a value or an awaitable; the host awaits when needed."""
    if inspect.isawaitable(value):
        return await value
    return value


@dataclass
class PluginHost:
    pm: pluggy.PluginManager = field(default_factory=lambda: pluggy.PluginManager("mendan"))
    metas: dict[str, PluginMeta] = field(default_factory=dict)
    domains: set[str] = field(default_factory=set)  # names of the domains' hook implementations

    def __post_init__(self) -> None:
        self.pm.add_hookspecs(hookspecs)

    # -- installation -------------------------------------------------------

    def load_entry_points(self, only: set[str] | None = None, exclude: set[str] | None = None) -> None:
        """Register the installed plugins. `only` / `exclude` (keys) default to the comma-separated
        environment variables MENDAN_PLUGINS and MENDAN_PLUGINS_EXCLUDE."""
        only = only if only is not None else _keys_from_env("MENDAN_PLUGINS")
        exclude = exclude if exclude is not None else _keys_from_env("MENDAN_PLUGINS_EXCLUDE") or set()
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if ep.name in self.metas or ep.name in exclude or (only is not None and ep.name not in only):
                continue
            try:
                self.register(ep.load(), key=ep.name, distribution=ep.dist.version if ep.dist else None)
            except Exception as exc:  # one broken plugin must not stop the service
                log.error("plugin_load_failed", plugin=ep.name, error=repr(exc))

    def register(self, plugin: Any, *, key: str, distribution: str | None = None) -> PluginMeta:
        """Register a plugin module or object under `key`, after checking its metadata.

        `distribution` is the version of the distribution that installed it, used when the
        plugin's meta gives none (found from the plugin's module when not given)."""
        self.pm.register(plugin, name=key)
        try:
            meta = self._checked_meta(plugin, key)
            if not meta.version:
                meta = dataclasses.replace(meta, version=distribution or _distribution_version(plugin))
        except Exception:
            self.pm.unregister(name=key)
            raise
        self.metas[key] = meta
        log.info("plugin_registered", plugin=key, version=meta.version, kind=meta.kind)
        return meta

    def register_domain(self, hooks: Any, *, name: str) -> None:
        """Register a domain's hook implementations (the assembly does, once per host).

        A domain answers hooks as plugins do (its navigation, its piccolo app) but has no
        metadata and is never switched off: every call, for any tenant, reaches it.
        """
        if name in self.domains:
            return
        self.pm.register(hooks, name=name)
        unknown = sorted(c.name for c in self.pm.get_hookcallers(hooks) or [] if c.spec is None)
        if unknown:
            self.pm.unregister(name=name)
            raise PluginError(f"domain {name!r} implements unknown hooks: {', '.join(unknown)}")
        self.domains.add(name)

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
        if meta.settings is not None:
            try:
                plugin_settings.schema_fields(meta.settings)
            except plugin_settings.SchemaError as exc:
                raise PluginError(f"plugin {key!r}: {exc}") from exc
        return meta

    # -- dispatch -----------------------------------------------------------

    def _impls(self, hook_name: str, keys: set[str] | frozenset[str] | None):
        # pluggy's own calling order: the last registered first, tryfirst/trylast respected.
        for impl in reversed(getattr(self.pm.hook, hook_name).get_hookimpls()):
            if keys is None or impl.plugin_name in keys or impl.plugin_name in self.domains:
                yield impl

    def _is_first_result(self, hook_name: str) -> bool:
        spec = getattr(self.pm.hook, hook_name).spec
        return bool(spec and spec.opts.get("firstresult"))

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

    async def receivers(self, hook_name: str, tenant_id: Any) -> frozenset[str] | None:
        """Who hears a tenant's call of `hook_name`: its enabled plugins, or None (every installed
        plugin) for the hooks in EVERY_INSTALLED."""
        if hook_name in EVERY_INSTALLED:
            return None
        return await self.enabled_keys(tenant_id)

    async def _answers(self, hook_name: str, tenant_id: Any, tenant: Any, kwargs: dict[str, Any], failed: list[str]):
        if tenant_id is None and tenant is None:
            raise TypeError(f"{hook_name}: a tenant's hook call needs tenant_id= or tenant=")
        if "enabled" in kwargs:
            raise TypeError(f"{hook_name}: enabled= is gone; the host decides who hears a tenant's call")
        tenant_id = tenant_id if tenant_id is not None else tenant.id
        arguments = {**kwargs, "tenant_id": tenant_id, "tenant": tenant}
        for impl in self._impls(hook_name, await self.receivers(hook_name, tenant_id)):
            try:
                result = await await_me_maybe(impl.function(**{name: arguments[name] for name in impl.argnames}))
            except Exception as exc:
                log.exception("plugin_hook_failed", plugin=impl.plugin_name, hook=hook_name, error=repr(exc))
                failed.append(impl.plugin_name)
                continue
            if result is not None:
                yield impl.plugin_name, result

    async def call_for_tenant(self, hook_name: str, *, tenant_id: Any = None, tenant: Any = None,
                              require_all: bool = False, **kwargs: Any) -> list[tuple[str, Any]]:
        """Call a hook for one tenant: only on the plugins enabled for it (every installed plugin
        for `mendan_purge_tenant`), awaiting async answers. Returns [(plugin key, answer)] for the
        plugins that answered something other than None.

        The tenant is `tenant_id` or the row `tenant`; each is passed on to implementations that
        take it, with `kwargs`. A failing plugin is logged (`plugin_hook_failed`) and skipped;
        with `require_all` a PluginHooksFailed is raised after all were called. For
        `firstresult` hooks use `first_for_tenant`.
        """
        if self._is_first_result(hook_name):
            raise PluginError(f"{hook_name} is first-answer-wins: call it with first_for_tenant")
        failed: list[str] = []
        results = [answer async for answer in self._answers(hook_name, tenant_id, tenant, kwargs, failed)]
        if failed and require_all:
            raise PluginHooksFailed(hook_name, failed, results)
        return results

    async def first_for_tenant(self, hook_name: str, *, tenant_id: Any = None, tenant: Any = None,
                               accept: Callable[[Any], bool] | None = None, **kwargs: Any) -> tuple[str, Any] | None:
        """Call a `firstresult` hook for one tenant, plugin by plugin in pluggy's order, and stop at
        the first answer that is not None (and that `accept` takes): (plugin key, answer), or None.
        Later plugins are not called. A failure or a refused answer is logged and the next plugin asked."""
        if not self._is_first_result(hook_name):
            raise PluginError(f"{hook_name} is not first-answer-wins: call it with call_for_tenant")
        async for key, answer in self._answers(hook_name, tenant_id, tenant, kwargs, []):
            if accept is not None and not accept(answer):
                log.error("plugin_hook_failed", plugin=key, hook=hook_name, error=f"unusable answer {answer!r}")
                continue
            return key, answer
        return None

    # -- what plugins contribute ------------------------------------------

    def piccolo_apps(self) -> list[str]:
        return [app for _key, apps in self.call_each("mendan_piccolo_apps") for app in apps]

    def template_dirs(self) -> list[str]:
        """The plugins' template folders; a folder holding anything but a folder named after its
        plugin's key is refused (logged `plugin_templates_refused`), so no plugin can shadow a
        page of the core, a domain or another plugin."""
        out = []
        for key, dirs in self.call_each("mendan_template_dirs"):
            for folder in map(Path, dirs):
                others = sorted(p.name for p in folder.iterdir() if p.name != key) if folder.is_dir() else []
                if not folder.is_dir() or others or not (folder / key).is_dir():
                    log.error("plugin_templates_refused", plugin=key, folder=str(folder),
                              error=f"a template folder must hold only the folder {key}/; found {others}")
                    continue
                out.append(str(folder))
        return out

    def route_handlers(self) -> dict[str, list[Any]]:
        return {key: list(handlers) for key, handlers in self.call_each("mendan_route_handlers")}

    def api_route_handlers(self) -> dict[str, list[Any]]:
        """The plugins' REST endpoints (`mendan_api_route_handlers`), by plugin key."""
        return {key: list(handlers) for key, handlers in self.call_each("mendan_api_route_handlers")}

    def ops_route_handlers(self) -> dict[str, list[Any]]:
        """The plugins' operator pages (`mendan_ops_route_handlers`), by plugin key."""
        return {key: list(handlers) for key, handlers in self.call_each("mendan_ops_route_handlers")}

    def actors(self) -> dict[str, Any]:
        """Actor functions by full name `{plugin_key}.{task}`."""
        return {
            f"{key}.{task}": fn
            for key, tasks in self.call_each("mendan_actors")
            for task, fn in tasks.items()
        }

    def job_names(self) -> dict[str, tuple[str, str]]:
        """Words for jobs by actor name (`mendan_job_names`): (Japanese, English). A plugin's task
        names get its key in front; a domain names its actors in full."""
        return {
            (task if key in self.domains else f"{key}.{task}"): (str(names[0]), str(names[1]))
            for key, named in self.call_each("mendan_job_names")
            for task, names in named.items()
        }

    def feature_extractors(self, enabled: set[str] | frozenset[str]) -> list[Any]:
        return [ext for _key, exts in self.call_each("mendan_feature_extractors", keys=enabled) for ext in exts]

    async def extractors_for(self, tenant_id: Any) -> list[Any]:
        """The feature extractors of the plugins enabled for the tenant."""
        return self.feature_extractors(await self.enabled_keys(tenant_id))

    def extractor_owner(self, name: str) -> str | None:
        """The key of the plugin that contributes the extractor called `name`."""
        return next((key for key, exts in self.call_each("mendan_feature_extractors")
                     for ext in exts if ext.name == name), None)

    # -- enabling -----------------------------------------------------------

    async def enabled_keys(self, tenant_id: Any) -> frozenset[str]:
        """The installed plugins enabled for a tenant: basic ones unless switched off, options when on.
        Read once per request or job (see `dispatch_scope`)."""
        cache = _enabled_cache.get()
        slot = (id(self), str(tenant_id))
        if cache is not None and slot in cache:
            return cache[slot]
        from core.db.tables import PluginSetting

        rows = await PluginSetting.select(PluginSetting.plugin_key, PluginSetting.active).where(
            PluginSetting.tenant == tenant_id
        )
        explicit = {row["plugin_key"]: row["active"] for row in rows}
        enabled = frozenset(key for key, meta in self.metas.items() if explicit.get(key, meta.kind == "basic"))
        if cache is not None:
            cache[slot] = enabled
        return enabled

    async def set_enabled(self, tenant_id: Any, key: str, active: bool) -> bool:
        """Switch a plugin on or off for a tenant; returns whether that changed anything.

        Switching on calls the plugin's `mendan_plugin_enabled(tenant_id)` (a failure is logged,
        the plugin stays on). Who may switch (`restricted`) is the caller's check."""
        from core.db.tables import PluginSetting

        if key not in self.metas:
            raise PluginError(f"no plugin {key!r} is installed")
        was_on = key in await self.enabled_keys(tenant_id)
        # One row per (tenant, plugin_key), by a unique index: an upsert, so two switches at
        # once never leave two rows that disagree.
        await PluginSetting.insert(PluginSetting(tenant=tenant_id, plugin_key=key, active=active)).on_conflict(
            target=(PluginSetting.tenant, PluginSetting.plugin_key), action="DO UPDATE",
            values=[PluginSetting.active, (PluginSetting.updated_at, datetime.now(timezone.utc))])
        cache = _enabled_cache.get()
        if cache is not None:
            cache.pop((id(self), str(tenant_id)), None)
        if active and not was_on:
            for impl in self._impls("mendan_plugin_enabled", {key}):
                try:
                    await await_me_maybe(impl.function(tenant_id=tenant_id))
                except Exception as exc:
                    log.exception("plugin_hook_failed", plugin=key, hook="mendan_plugin_enabled", error=repr(exc))
        return active != was_on

    # -- per-tenant settings ---------------------------------------------

    def settings_fields(self, key: str) -> list[plugin_settings.SettingField]:
        """The fields of a plugin's settings schema ([] when it has none)."""
        schema = self.metas[key].settings
        return plugin_settings.schema_fields(schema) if schema is not None else []

    async def stored_settings(self, tenant_id: Any, key: str) -> dict[str, Any]:
        """The raw stored config of a plugin for a tenant (secrets still sealed)."""
        from core.db.json_columns import json_value
        from core.db.tables import PluginSetting

        row = await PluginSetting.select(PluginSetting.config).where(
            (PluginSetting.tenant == tenant_id) & (PluginSetting.plugin_key == key)
        ).first()
        value = json_value(row["config"]) if row else {}
        return value if isinstance(value, dict) else {}

    async def settings_for(self, tenant_id: Any, key: str) -> Any:
        """A plugin's settings for a tenant: an instance of its `PluginMeta.settings` dataclass with
        the tenant's values (secrets opened) and the defaults where unset; None without a schema.
        KeyError for a plugin that is not installed."""
        meta = self.metas[key]
        if meta.settings is None:
            return None
        stored = await self.stored_settings(tenant_id, key)
        fields = self.settings_fields(key)
        tk = await _tenant_key(tenant_id) if any(f.secret and f.name in stored for f in fields) else None
        return plugin_settings.instance(meta.settings, fields, stored, tk, key)

    async def save_settings(self, tenant_id: Any, key: str, form: dict[str, Any], *, operator: bool) -> list[str]:
        """Check a settings form and store it; returns the names of the fields that changed.

        Only operators change `operator_only` fields; secrets are sealed under the tenant's data
        key. SettingsInvalid (with a message per field) stores nothing."""
        from core.db.tables import PluginSetting

        fields = self.settings_fields(key)
        stored = await self.stored_settings(tenant_id, key)
        seal = None
        if any(f.secret for f in fields):
            seal = plugin_settings.seal_for(await _tenant_key(tenant_id), key)
        config, changed = plugin_settings.updated_config(fields, stored, form, operator=operator, seal=seal)
        if not changed:
            return []
        exists = await PluginSetting.exists().where(
            (PluginSetting.tenant == tenant_id) & (PluginSetting.plugin_key == key))
        if exists:
            await PluginSetting.update({PluginSetting.config: config}).where(
                (PluginSetting.tenant == tenant_id) & (PluginSetting.plugin_key == key))
        else:  # settings of a plugin never switched: its default state stays
            await PluginSetting.insert(PluginSetting(tenant=tenant_id, plugin_key=key,
                                                     active=self.metas[key].kind == "basic", config=config))
        return changed


async def _tenant_key(tenant_id: Any) -> Any:
    from core.db.tables import Tenant
    from core.runtime import runtime

    tenant = await Tenant.objects().where(Tenant.id == tenant_id).first()
    if tenant is None:
        raise LookupError(f"no tenant {tenant_id}")
    return runtime().storage.tenant_key(tenant)


@functools.cache
def _packages_distributions() -> dict[str, list[str]]:
    return packages_distributions()


def _distribution_version(plugin: Any) -> str:
    """The version of the distribution that holds the plugin's module, or "" when none does."""
    module = getattr(plugin, "__module__", None) if not inspect.ismodule(plugin) else plugin.__name__
    top = (module or "").split(".")[0]
    for name in _packages_distributions().get(top, []):
        try:
            return distribution_version(name)
        except Exception:
            continue
    return ""


_host: PluginHost | None = None


def get_plugin_host() -> PluginHost:
    """The process-wide host, with the installed plugins loaded (MENDAN_PLUGINS and
    MENDAN_PLUGINS_EXCLUDE choose among them)."""
    global _host
    if _host is None:
        _host = PluginHost()
        _host.load_entry_points()
    return _host
