"""The plugin host: entry-point discovery, metadata checks, isolation, per-tenant dispatch,
the contract guard, plugin routes in the OpenAPI schema, and plugin navigation."""

from __future__ import annotations

import importlib
import secrets
import uuid

import pytest
from litestar import get
from structlog.testing import capture_logs

from core.db.tables import PluginSetting
from core.hookspecs import hookimpl
from core.plugins import CORE_API_VERSION, NavItem, PluginError, PluginHost, PluginMeta
from tests.conftest import HTML, login

CONTRACT_MESSAGE = "This service is not part of your contract."
CONTRACT_MESSAGE_JA = "このサービスはご契約に含まれていません。"


def meta(key: str, kind: str = "basic", **kw) -> PluginMeta:
    return PluginMeta(key=key, name_ja=key, name_en=key, version="1.0", kind=kind, hours=kw.pop("hours", "batch"),
                      **kw)


# -- entry-point discovery --------------------------------------------------------------

PLUGIN_SOURCE = '''
from litestar import get
from core.hookspecs import hookimpl
from core.plugins import PluginMeta


@get("/ping")
async def ping() -> dict:
    return {{"pong": True}}


@hookimpl
def mendan_plugin_meta():
    return PluginMeta(key={key!r}, name_ja="試験", name_en="Test", version="1.0", kind="basic",
                      hours="batch", compatibility={compatibility!r})


@hookimpl
def mendan_route_handlers():
    return [ping]
'''


@pytest.fixture
def distribution(tmp_path, monkeypatch):
    """Installs a real (temporary) distribution whose dist-info declares `mendan.plugins` entry points."""
    suffix = secrets.token_hex(4)

    def install(modules: dict[str, str], entries: dict[str, str]) -> dict[str, str]:
        names = {}
        for stem, source in modules.items():
            names[stem] = f"mendan_test_{stem}_{suffix}"
            (tmp_path / f"{names[stem]}.py").write_text(source)
        info = tmp_path / f"mendan_test_dist_{suffix}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: mendan-test-dist-{suffix}\nVersion: 1.0.7\n")
        lines = [f"{name} = {target.format(**names)}" for name, target in entries.items()]
        (info / "entry_points.txt").write_text("[mendan.plugins]\n" + "\n".join(lines) + "\n")
        monkeypatch.syspath_prepend(str(tmp_path))
        importlib.invalidate_caches()
        return names

    return install


async def test_entry_points_are_discovered_and_bad_plugins_refused_and_logged(distribution):
    distribution(
        {
            "good": PLUGIN_SOURCE.format(key="ep_good", compatibility=">=1.0,<2"),
            "wrong_key": PLUGIN_SOURCE.format(key="something_else", compatibility=">=1.0,<2"),
            "too_new": PLUGIN_SOURCE.format(key="ep_too_new", compatibility=">=2.0"),
            "bad_spec": PLUGIN_SOURCE.format(key="ep_bad_spec", compatibility="one point oh"),
            "no_meta": "from core.hookspecs import hookimpl\n\n@hookimpl\ndef mendan_actors():\n    return {}\n",
        },
        {
            "ep_good": "{good}",
            "ep_wrong_key": "{wrong_key}",
            "ep_too_new": "{too_new}",
            "ep_bad_spec": "{bad_spec}",
            "ep_no_meta": "{no_meta}",
            "ep_missing": "mendan_test_no_such_module_{good}",
        },
    )
    host = PluginHost()
    with capture_logs() as logs:
        host.load_entry_points()

    assert "ep_good" in host.metas
    assert host.metas["ep_good"].name_en == "Test"
    assert "ep_good" in host.route_handlers()
    refused = {"ep_wrong_key", "ep_too_new", "ep_bad_spec", "ep_no_meta", "ep_missing"}
    assert not refused & set(host.metas)
    assert not [key for key in refused if host.pm.get_plugin(key) is not None]  # nothing half-registered
    failures = {e["plugin"]: e["error"] for e in logs if e["event"] == "plugin_load_failed"}
    assert set(failures) >= refused
    assert "declares key 'something_else'" in failures["ep_wrong_key"]
    assert f"this core is {CORE_API_VERSION}" in failures["ep_too_new"]
    assert "bad compatibility" in failures["ep_bad_spec"]
    assert "does not implement mendan_plugin_meta" in failures["ep_no_meta"]
    assert "ModuleNotFoundError" in failures["ep_missing"]


async def test_load_entry_points_twice_registers_each_plugin_once(distribution):
    distribution({"good": PLUGIN_SOURCE.format(key="ep_once", compatibility=">=1.0")}, {"ep_once": "{good}"})
    host = PluginHost()
    host.load_entry_points()
    host.load_entry_points()
    assert [key for key, _ in host.call_each("mendan_route_handlers")].count("ep_once") == 1


def test_the_builtin_plugins_are_declared_as_entry_points():
    from importlib.metadata import entry_points

    names = {ep.name for ep in entry_points(group="mendan.plugins")}
    assert {"face_features", "video_analysis"} <= names


class _Plugin:
    def __init__(self, plugin_meta: PluginMeta) -> None:
        self._meta = plugin_meta

    @hookimpl
    def mendan_plugin_meta(self):
        return self._meta


@pytest.mark.parametrize(
    "plugin_meta, problem",
    [
        (meta("Bad-Key"), "must match"),
        (meta("oddkind", kind="premium"), "kind must be"),
        (meta("oddhours", hours="nightly"), "hours must be"),
    ],
)
def test_register_refuses_bad_metadata(plugin_meta, problem):
    host = PluginHost()
    with pytest.raises(PluginError, match=problem):
        host.register(_Plugin(plugin_meta), key=plugin_meta.key)
    assert host.pm.get_plugin(plugin_meta.key) is None and not host.metas


def test_register_refuses_a_misspelt_or_unmarked_hook():
    class Misspelt(_Plugin):
        @hookimpl
        def mendan_nav_item(self, tenant, user):
            return []

    class Unmarked(_Plugin):
        def mendan_nav_items(self, tenant, user):
            return []

    host = PluginHost()
    with pytest.raises(PluginError, match="unknown hooks: mendan_nav_item"):
        host.register(Misspelt(meta("misspelt")), key="misspelt")
    with pytest.raises(PluginError, match="mark mendan_nav_items with @hookimpl"):
        host.register(Unmarked(meta("unmarked")), key="unmarked")
    assert not host.metas


# -- isolation and async hooks -------------------------------------------------------------


class Failing(_Plugin):
    @hookimpl
    def mendan_actors(self):
        raise RuntimeError("actors exploded")

    @hookimpl
    async def mendan_nav_items(self, tenant, user):
        raise RuntimeError("nav exploded")


class Working(_Plugin):
    @hookimpl
    def mendan_actors(self):
        return {"task": lambda tenant_id: "ok"}

    @hookimpl
    async def mendan_nav_items(self, tenant, user):  # async on purpose: the host awaits it
        return [NavItem(path="working/", label_ja="動作", label_en="Working")]


class AsyncInstallTime(_Plugin):
    @hookimpl
    async def mendan_actors(self):
        return {"never": lambda tenant_id: None}


def _two_plugins() -> PluginHost:
    host = PluginHost()
    host.register(Failing(meta("failing")), key="failing")
    host.register(Working(meta("working")), key="working")
    return host


def test_call_each_skips_a_failing_plugin_and_logs_it():
    host = _two_plugins()
    with capture_logs() as logs:
        actors = host.actors()
    assert list(actors) == ["working.task"]
    [failure] = [e for e in logs if e["event"] == "plugin_hook_failed"]
    assert failure["plugin"] == "failing" and "actors exploded" in failure["error"]


async def test_call_for_tenant_awaits_async_hooks_and_isolates_failures():
    host = _two_plugins()
    with capture_logs() as logs:
        results = await host.call_for_tenant("mendan_nav_items", tenant_id=uuid.uuid4(), user=None)
    assert results == [("working", [NavItem(path="working/", label_ja="動作", label_en="Working")])]
    assert [e["plugin"] for e in logs if e["event"] == "plugin_hook_failed"] == ["failing"]


def test_an_install_time_hook_must_answer_synchronously():
    host = PluginHost()
    host.register(AsyncInstallTime(meta("asyncish")), key="asyncish")
    host.register(Working(meta("working")), key="working")
    with capture_logs() as logs:
        actors = host.actors()
    assert list(actors) == ["working.task"]
    [failure] = [e for e in logs if e["event"] == "plugin_hook_failed"]
    assert failure["plugin"] == "asyncish" and "synchronously" in failure["error"]


# -- per-tenant enabling ----------------------------------------------------------------------


class Extracting(_Plugin):
    @hookimpl
    def mendan_feature_extractors(self):
        return [f"extractor of {self._meta.key}"]


async def test_dispatch_reaches_only_the_plugins_enabled_for_the_tenant(make_tenant):
    host = PluginHost()
    for key, kind in [("basic_on", "basic"), ("basic_off", "basic"), ("option_off", "option"),
                      ("option_on", "option")]:
        host.register(Extracting(meta(key, kind=kind)), key=key)
    tenant, other = await make_tenant(), await make_tenant()
    await host.set_enabled(tenant.id, "basic_off", False)
    await host.set_enabled(tenant.id, "option_on", True)

    enabled = await host.enabled_keys(tenant.id)
    assert enabled == {"basic_on", "option_on"}
    assert await host.enabled_keys(other.id) == {"basic_on", "basic_off"}  # defaults
    assert sorted(host.feature_extractors(enabled)) == ["extractor of basic_on", "extractor of option_on"]
    assert sorted(await host.extractors_for(tenant.id)) == ["extractor of basic_on", "extractor of option_on"]

    await host.set_enabled(tenant.id, "option_on", False)  # an existing row is updated, not duplicated
    assert await host.enabled_keys(tenant.id) == {"basic_on"}
    assert await PluginSetting.count().where(
        (PluginSetting.tenant == tenant.id) & (PluginSetting.plugin_key == "option_on")
    ) == 1
    with pytest.raises(PluginError):
        await host.set_enabled(tenant.id, "not_installed", True)


# -- routes, guard, schema, navigation -----------------------------------------------------------


@get("/status")
async def probe_status() -> dict:
    return {"probe": "ok"}


class Probe(_Plugin):
    @hookimpl
    def mendan_route_handlers(self):
        return [probe_status]

    @hookimpl
    def mendan_nav_items(self, tenant, user):
        return [NavItem(path="probe/status", label_ja="プローブ", label_en="Probe")]


class BrokenNav(_Plugin):
    @hookimpl
    def mendan_nav_items(self, tenant, user):
        raise RuntimeError("nav exploded")


@pytest.fixture
def probe(host):
    host.register(Probe(meta("probe", kind="option")), key="probe")
    host.register(BrokenNav(meta("broken_nav")), key="broken_nav")
    return host


async def _signed_in_tenant(client, make_tenant, make_user, host, enabled: bool):
    tenant = await make_tenant()
    if enabled:
        await host.set_enabled(tenant.id, "probe", True)
    user = await make_user(tenant, "admin")
    await login(client, tenant, user)
    return tenant


async def test_plugin_routes_answer_only_for_tenants_whose_contract_has_them(probe, client, make_tenant, make_user):
    tenant = await _signed_in_tenant(client, make_tenant, make_user, probe, enabled=True)
    response = await client.get(f"/t/{tenant.slug}/probe/status")
    assert response.status_code == 200 and response.json() == {"probe": "ok"}

    await client.post("/logout", data={"_csrf_token": client.cookies["csrftoken"]}, headers=HTML)
    other = await _signed_in_tenant(client, make_tenant, make_user, probe, enabled=False)
    refused = await client.get(f"/t/{other.slug}/probe/status")
    assert refused.status_code == 404
    assert refused.json()["detail"] == CONTRACT_MESSAGE_JA
    page = await client.get(f"/t/{other.slug}/probe/status", headers=HTML)
    assert page.status_code == 404 and CONTRACT_MESSAGE_JA in page.text
    client.cookies.set("lang", "en", domain="testserver.local")
    page = await client.get(f"/t/{other.slug}/probe/status", headers=HTML)
    assert page.status_code == 404 and CONTRACT_MESSAGE in page.text


async def test_plugin_routes_are_in_the_openapi_schema(probe, client):
    schema = (await client.get("/schema/openapi.json")).json()
    operation = schema["paths"]["/t/{tenant}/probe/status"]["get"]
    assert "probe" in operation["tags"]
    assert any(p["name"] == "tenant" and p["in"] == "path" for p in operation["parameters"])


async def test_plugin_navigation_shows_only_when_enabled_and_survives_a_failing_plugin(
    probe, client, make_tenant, make_user
):
    tenant = await _signed_in_tenant(client, make_tenant, make_user, probe, enabled=True)
    home = await client.get(f"/t/{tenant.slug}/", headers=HTML)
    assert home.status_code == 200
    assert f'href="/t/{tenant.slug}/probe/status"' in home.text and "プローブ" in home.text

    await client.post("/logout", data={"_csrf_token": client.cookies["csrftoken"]}, headers=HTML)
    other = await _signed_in_tenant(client, make_tenant, make_user, probe, enabled=False)
    home = await client.get(f"/t/{other.slug}/", headers=HTML)
    assert home.status_code == 200
    assert "probe/status" not in home.text


UNVERSIONED_SOURCE = '''
from core.hookspecs import hookimpl
from core.plugins import PluginMeta


@hookimpl
def mendan_plugin_meta():
    return PluginMeta(key={key!r}, name_ja="試験", name_en="Test", kind="basic", hours="batch")
'''


async def test_mendan_plugins_and_mendan_plugins_exclude_choose_the_installed_plugins(distribution, monkeypatch):
    distribution(
        {"a": UNVERSIONED_SOURCE.format(key="ep_pick_a"), "b": UNVERSIONED_SOURCE.format(key="ep_pick_b"),
         "c": UNVERSIONED_SOURCE.format(key="ep_pick_c")},
        {"ep_pick_a": "{a}", "ep_pick_b": "{b}", "ep_pick_c": "{c}"},
    )
    picked = {"ep_pick_a", "ep_pick_b", "ep_pick_c"}

    def loaded() -> set[str]:
        host = PluginHost()
        host.load_entry_points()
        return set(host.metas) & picked

    monkeypatch.setenv("MENDAN_PLUGINS_EXCLUDE", "ep_pick_b, ep_pick_c")
    assert loaded() == {"ep_pick_a"}
    monkeypatch.setenv("MENDAN_PLUGINS", "ep_pick_b,ep_pick_c")
    assert loaded() == set()  # excluding wins over choosing
    monkeypatch.delenv("MENDAN_PLUGINS_EXCLUDE")
    assert loaded() == {"ep_pick_b", "ep_pick_c"}
    monkeypatch.delenv("MENDAN_PLUGINS")
    assert loaded() == picked


async def test_a_plugin_without_a_version_gets_its_distributions(distribution):
    distribution({"v": UNVERSIONED_SOURCE.format(key="ep_unversioned")}, {"ep_unversioned": "{v}"})
    host = PluginHost()
    host.load_entry_points()
    assert host.metas["ep_unversioned"].version == "1.0.7"  # the Version of its dist-info
