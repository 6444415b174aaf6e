"""Plugin contract v2 (issue 12): failure isolation of panels and navigation, restricted options,
per-tenant plugin settings (validation, secrets, operator-only fields), first-answer hooks,
the per-request enabled-set cache, the enable callback and template folder checks."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import pytest
from structlog.testing import capture_logs

from core.db.json_columns import json_value
from core.db.tables import AuditEntry, PluginSetting
from core.hookspecs import hookimpl
from core.interviews.panels import Panel
from core.plugin_settings import SettingsInvalid
from core.plugins import NavItem, PluginError, PluginHost, PluginMeta, dispatch_scope
from tests.conftest import HTML, form_csrf, login
from tests.interview_fixtures import make_interview


def meta(key: str, kind: str = "option", **kw) -> PluginMeta:
    return PluginMeta(key=key, name_ja=f"{key}（日本語）", name_en=key, kind=kind, hours="batch", **kw)


class _Plugin:
    def __init__(self, plugin_meta: PluginMeta, folder=None) -> None:
        self._meta = plugin_meta
        self.folder = folder

    @hookimpl
    def mendan_plugin_meta(self):
        return self._meta


# -- a failing panel or navigation item never breaks the page ---------------------------------------


class Panels(_Plugin):
    @hookimpl
    def mendan_template_dirs(self):
        return [str(self.folder)]

    @hookimpl
    def mendan_interview_panels(self, tenant, interview):
        return [Panel(title_ja="壊れた", title_en="Broken", template="panels_x/broken.html"),
                Panel(title_ja="動く", title_en="Working", html="<p class='fine'>fine</p>")]

    @hookimpl
    def mendan_nav_items(self, tenant, user):
        return ["not a nav item", NavItem(path="panels_x/", label_ja="パネル", label_en="Panels")]


async def test_a_panel_whose_template_raises_is_missing_and_logged_and_the_page_answers_200(
        host, client, make_tenant, make_user, tmp_path):
    (tmp_path / "panels_x").mkdir()
    # What fault 1 did: the docs said `context`, the template used `context.words` on an undefined name.
    (tmp_path / "panels_x" / "broken.html").write_text("<p>{{ context.words.count() }}</p>")
    host.register(Panels(meta("panels_x"), tmp_path), key="panels_x")
    tenant = await make_tenant()
    await host.set_enabled(tenant.id, "panels_x", True)
    setup = await make_interview(tenant, make_user)
    await login(client, tenant, setup["admin"])
    with capture_logs() as logs:
        page = await client.get(f"/t/{tenant.slug}/interviews/{setup['interview'].id}", headers=HTML)
    assert page.status_code == 200
    assert "<p class='fine'>fine</p>" in page.text and "壊れた" not in page.text
    [failed] = [e for e in logs if e["event"] == "plugin_panel_failed"]
    assert failed["plugin"] == "panels_x" and failed["template"] == "panels_x/broken.html"
    # The bad navigation item is left out, the plugin's good one stays.
    assert f'href="/t/{tenant.slug}/panels_x/"' in page.text
    assert [e["plugin"] for e in logs if e["event"] == "plugin_nav_failed"] == ["panels_x"]


class Shadowing(_Plugin):
    @hookimpl
    def mendan_template_dirs(self):
        return [str(self.folder)]


def test_a_template_folder_with_more_than_the_plugins_own_folder_is_refused(tmp_path):
    bad, good = tmp_path / "bad", tmp_path / "good"
    (bad / "ops").mkdir(parents=True)
    (bad / "ops" / "tenant.html").write_text("shadowed")  # a domain's page
    (bad / "shadow_x").mkdir()
    (good / "tidy_x").mkdir(parents=True)
    host = PluginHost()
    host.register(Shadowing(meta("shadow_x"), bad), key="shadow_x")
    host.register(Shadowing(meta("tidy_x"), good), key="tidy_x")
    with capture_logs() as logs:
        assert host.template_dirs() == [str(good)]
    [refused] = [e for e in logs if e["event"] == "plugin_templates_refused"]
    assert refused["plugin"] == "shadow_x" and "ops" in refused["error"]


# -- restricted options ----------------------------------------------------------------------------


@pytest.fixture
def options(host):
    host.register(_Plugin(meta("free_x", description_ja="誰でも使えるオプション", description_en="Anyone's")),
                  key="free_x")
    host.register(_Plugin(meta("locked_x", restricted=True, description_ja="運営者だけが有効にできます",
                               description_en="Operators only",
                               model_licences=("locked.onnx: Apache-2.0",))), key="locked_x")
    return host


async def test_a_tenant_admin_cannot_enable_a_restricted_option(options, client, make_tenant, make_user):
    tenant = await make_tenant()
    await login(client, tenant, await make_user(tenant, "admin"))
    page = await client.get(f"/t/{tenant.slug}/services/", headers=HTML)
    assert page.status_code == 200
    assert 'data-switch="free_x"' in page.text and "誰でも使えるオプション" in page.text
    assert 'data-switch="locked_x"' not in page.text and "運営者が切り替えます" in page.text

    refused = await client.post(f"/t/{tenant.slug}/services/switch", headers=HTML,
                                data={"plugin_key": "locked_x", "active": "on", "_csrf_token": form_csrf(page.text)})
    assert refused.status_code == 403
    assert "locked_x" not in await options.enabled_keys(tenant.id)
    switched = await client.post(f"/t/{tenant.slug}/services/switch", headers=HTML, follow_redirects=False,
                                 data={"plugin_key": "free_x", "active": "on", "_csrf_token": form_csrf(page.text)})
    assert switched.status_code == 303
    assert await options.enabled_keys(tenant.id) == {"free_x"}


async def test_other_roles_do_not_reach_the_services_page(options, client, make_tenant, make_user):
    tenant = await make_tenant()
    await login(client, tenant, await make_user(tenant, "interviewer"))
    refused = await client.get(f"/t/{tenant.slug}/services/", headers=HTML)
    assert refused.status_code == 403
    assert "your role may not do this" not in refused.text  # the reason is said in Japanese too
    assert "この役割ではこの操作を行えません。" in refused.text


async def test_the_operator_console_shows_descriptions_licences_and_enables_restricted(options, client, make_tenant,
                                                                                      make_user):
    tenant = await make_tenant()
    await login(client, None, await make_user(None, "operator"))
    page = await client.get(f"/ops/tenants/{tenant.slug}", headers=HTML)
    assert "運営者だけが有効にできます" in page.text and "locked.onnx: Apache-2.0" in page.text
    switched = await client.post(f"/ops/tenants/{tenant.slug}/options", headers=HTML, follow_redirects=False,
                                 data={"plugin_key": "locked_x", "active": "on", "_csrf_token": form_csrf(page.text)})
    assert switched.status_code == 303
    assert "locked_x" in await options.enabled_keys(tenant.id)


def test_the_version_defaults_to_the_distributions():
    from importlib.metadata import version

    import plugins.ai_model.plugin as ai_model

    original = ai_model.mendan_plugin_meta

    @hookimpl
    def unversioned():
        import dataclasses

        return dataclasses.replace(original(), version="")

    class Unversioned:
        __module__ = "plugins.ai_model.plugin"
        mendan_plugin_meta = staticmethod(unversioned)

    assert PluginHost().register(Unversioned(), key="ai_model").version == version("mendan")


# -- the enable callback ------------------------------------------------------------------------


class Preparing(_Plugin):
    def __init__(self, plugin_meta: PluginMeta, fail: bool = False) -> None:
        super().__init__(plugin_meta)
        self.prepared: list = []
        self.fail = fail

    @hookimpl
    async def mendan_plugin_enabled(self, tenant_id):
        self.prepared.append(tenant_id)
        if self.fail:
            raise RuntimeError("could not prepare")


async def test_switching_a_plugin_on_calls_its_enable_callback_once(host, app, client, make_tenant, make_user):
    preparing, bystander = Preparing(meta("prep_x")), Preparing(meta("other_x"))
    host.register(preparing, key="prep_x")
    host.register(bystander, key="other_x")
    tenant = await make_tenant()
    assert await host.set_enabled(tenant.id, "prep_x", True) is True
    assert await host.set_enabled(tenant.id, "prep_x", True) is False  # already on: not called again
    assert preparing.prepared == [tenant.id] and bystander.prepared == []
    await host.set_enabled(tenant.id, "prep_x", False)
    assert preparing.prepared == [tenant.id]

    # The admin's switch calls it too.
    await login(client, tenant, await make_user(tenant, "admin"))
    page = await client.get(f"/t/{tenant.slug}/services/", headers=HTML)
    await client.post(f"/t/{tenant.slug}/services/switch", headers=HTML,
                      data={"plugin_key": "prep_x", "active": "on", "_csrf_token": form_csrf(page.text)})
    assert preparing.prepared == [tenant.id, tenant.id]


async def test_a_failing_enable_callback_is_logged_and_the_plugin_stays_on(host, make_tenant):
    host.register(Preparing(meta("fragile_x"), fail=True), key="fragile_x")
    tenant = await make_tenant()
    with capture_logs() as logs:
        await host.set_enabled(tenant.id, "fragile_x", True)
    assert "fragile_x" in await host.enabled_keys(tenant.id)
    assert [(e["plugin"], e["hook"]) for e in logs if e["event"] == "plugin_hook_failed"] == [
        ("fragile_x", "mendan_plugin_enabled")]


# -- first answer wins ------------------------------------------------------------------------


class Entry(_Plugin):
    def __init__(self, plugin_meta: PluginMeta, answer) -> None:
        super().__init__(plugin_meta)
        self.answer = answer
        self.calls = 0

    @hookimpl
    def mendan_interview_entry(self, tenant, interview):
        self.calls += 1
        return self.answer


async def test_a_first_answer_hook_stops_at_the_first_answer(make_tenant):
    host = PluginHost()
    # pluggy calls the last registered first.
    last, answering, silent, broken = (Entry(meta("last_x", kind="basic"), "last/"),
                                       Entry(meta("answer_x", kind="basic"), "answer/"),
                                       Entry(meta("silent_x", kind="basic"), None),
                                       Entry(meta("bad_x", kind="basic"), 42))
    for plugin in (last, answering, silent, broken):
        host.register(plugin, key=plugin._meta.key)
    tenant = await make_tenant()
    with capture_logs() as logs:
        answered = await host.first_for_tenant("mendan_interview_entry", tenant=tenant, interview=None,
                                               accept=lambda path: isinstance(path, str))
    assert answered == ("answer_x", "answer/")
    assert (broken.calls, silent.calls, answering.calls, last.calls) == (1, 1, 1, 0)
    assert [e["plugin"] for e in logs if e["event"] == "plugin_hook_failed"] == ["bad_x"]
    with pytest.raises(PluginError, match="first_for_tenant"):
        await host.call_for_tenant("mendan_interview_entry", tenant=tenant, interview=None)
    with pytest.raises(PluginError, match="call_for_tenant"):
        await host.first_for_tenant("mendan_nav_items", tenant=tenant, user=None)


def test_the_first_answer_hooks_are_marked_firstresult():
    host = PluginHost()
    for name in ("mendan_base_model", "mendan_interview_entry", "mendan_demo_recording"):
        assert getattr(host.pm.hook, name).spec.opts["firstresult"] is True, name


# -- the enabled set is read once per request and per job --------------------------------------------


class Listener(_Plugin):
    @hookimpl
    def mendan_nav_items(self, tenant, user):
        return [NavItem(path="listen_x/", label_ja="聞く", label_en="Listen")]

    @hookimpl
    def mendan_interview_panels(self, tenant, interview):
        return [Panel(title_ja="聞く", title_en="Listen", html="<p>listening</p>")]

    @hookimpl
    def mendan_prediction_made(self, tenant_id, prediction):
        return "heard"

    @hookimpl
    def mendan_actors(self):
        return {"twice": self.twice}

    @staticmethod
    async def twice(tenant_id):
        from core.runtime import runtime

        host = runtime().host
        first = await host.call_for_tenant("mendan_prediction_made", tenant_id=tenant_id, prediction=None)
        second = await host.call_for_tenant("mendan_prediction_made", tenant_id=tenant_id, prediction=None)
        return f"{len(first)}+{len(second)}"


@pytest.fixture
def plugin_setting_queries(monkeypatch):
    """Counts the SQL statements that read the plugin settings table, whatever the engine."""
    engine_class = type(PluginSetting._meta.db)
    original = engine_class.run_querystring
    seen: list[str] = []

    async def counting(self, querystring, *args, **kwargs):
        text = str(querystring)
        if text.lstrip().upper().startswith("SELECT") and PluginSetting._meta.tablename in text:
            seen.append(text)
        return await original(self, querystring, *args, **kwargs)

    monkeypatch.setattr(engine_class, "run_querystring", counting)
    return seen


async def test_one_request_reads_the_enabled_plugins_once(host, client, make_tenant, make_user,
                                                          plugin_setting_queries):
    host.register(Listener(meta("listen_x", kind="basic")), key="listen_x")
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user)
    await login(client, tenant, setup["admin"])
    plugin_setting_queries.clear()
    page = await client.get(f"/t/{tenant.slug}/interviews/{setup['interview'].id}", headers=HTML)
    assert page.status_code == 200 and "listening" in page.text and "/listen_x/" in page.text
    assert len(plugin_setting_queries) == 1  # navigation and panels share one read

    plugin_setting_queries.clear()
    with dispatch_scope():
        for _ in range(3):
            assert await host.call_for_tenant("mendan_prediction_made", tenant_id=tenant.id, prediction=None)
        await host.set_enabled(tenant.id, "listen_x", False)  # a switch is seen at once
        assert await host.call_for_tenant("mendan_prediction_made", tenant_id=tenant.id, prediction=None) == []
    assert len([q for q in plugin_setting_queries if "active" in q]) == 2  # read, re-read after the switch (an upsert)

    plugin_setting_queries.clear()
    for _ in range(2):  # outside a request or job nothing is cached
        await host.call_for_tenant("mendan_prediction_made", tenant_id=tenant.id, prediction=None)
    assert len(plugin_setting_queries) == 2


@pytest.fixture
def listener(host):
    host.register(Listener(meta("listen_x", kind="basic")), key="listen_x")
    return host


async def test_one_job_reads_the_enabled_plugins_once(listener, app, client, make_tenant, plugin_setting_queries):
    from tests.conftest import wait_for_job

    tenant = await make_tenant()
    plugin_setting_queries.clear()
    job = await wait_for_job(await app.state.tasks.enqueue("listen_x.twice", tenant_id=tenant.id))
    assert (job.state, job.result_ref) == ("done", "1+1")
    assert len(plugin_setting_queries) == 1


# -- per-tenant settings --------------------------------------------------------------------------------


@dataclass(frozen=True)
class VoiceSettings:
    speed: float = field(default=1.0, metadata={"label_ja": "話す速さ", "label_en": "Speaking speed", "unit": "x",
                                                "min": 0.5, "max": 2.0})
    prompts: int = field(default=3, metadata={"label_ja": "質問数", "label_en": "Questions", "min": 1, "max": 10})
    voice: str = field(default="female", metadata={"label_ja": "声", "label_en": "Voice",
                                                   "choices": ("female", "male")})
    title: str = field(default="面談", metadata={"label_ja": "表題", "label_en": "Title", "min": 1, "max": 8})
    captions: bool = field(default=False, metadata={"label_ja": "字幕", "label_en": "Captions"})
    api_key: str = field(default="", metadata={"label_ja": "APIキー", "label_en": "API key", "secret": True})
    gpu_minutes: int = field(default=30, metadata={"label_ja": "GPU上限", "label_en": "GPU limit", "unit": "min",
                                                   "min": 0, "max": 600, "operator_only": True})


GOOD = {"speed": "1.5", "prompts": "5", "voice": "male", "title": "一次面接", "captions": "on"}


@pytest.fixture
def voice(host):
    host.register(_Plugin(meta("voice_x", settings=VoiceSettings)), key="voice_x")
    return host


async def test_settings_read_as_defaults_until_saved_then_typed(voice, app, make_tenant):
    tenant = await make_tenant()
    assert await voice.settings_for(tenant.id, "voice_x") == VoiceSettings()
    changed = await voice.save_settings(tenant.id, "voice_x", GOOD, operator=False)
    assert sorted(changed) == ["captions", "prompts", "speed", "title", "voice"]
    saved = await voice.settings_for(tenant.id, "voice_x")
    assert saved == VoiceSettings(speed=1.5, prompts=5, voice="male", title="一次面接", captions=True)
    assert isinstance(saved.prompts, int) and isinstance(saved.speed, float)
    assert "voice_x" not in await voice.enabled_keys(tenant.id)  # saving settings does not switch it on
    other = await make_tenant()
    assert await voice.settings_for(other.id, "voice_x") == VoiceSettings()


@pytest.mark.parametrize("field_name, sent, message", [
    ("speed", "fast", "数値を入力してください。"),
    ("speed", "2.5", "0.5 から 2 の値を入力してください。"),
    ("speed", "nan", "数値を入力してください。"),
    ("prompts", "2.5", "整数を入力してください。"),
    ("prompts", "0", "1 から 10 の値を入力してください。"),
    ("prompts", "", "整数を入力してください。"),
    ("voice", "robot", "次のいずれかを選んでください：female, male。"),
    ("title", "", "1 から 8 文字で入力してください。"),
    ("title", "とても長い表題ですね", "1 から 8 文字で入力してください。"),
    ("title", "一次\x00面接", "制御文字（改行など）を取り除いてください。"),
    ("title", "一次\n面接", "制御文字（改行など）を取り除いてください。"),
])
async def test_settings_are_checked_and_nothing_is_stored_when_one_is_wrong(voice, app, make_tenant, field_name,
                                                                            sent, message):
    tenant = await make_tenant()
    with pytest.raises(SettingsInvalid) as refused:
        await voice.save_settings(tenant.id, "voice_x", {**GOOD, field_name: sent}, operator=False)
    assert refused.value.errors == {field_name: message}
    assert await PluginSetting.count().where(PluginSetting.tenant == tenant.id) == 0


async def test_the_settings_page_shows_errors_next_to_fields_in_both_languages(voice, client, make_tenant, make_user):
    tenant = await make_tenant()
    await login(client, tenant, await make_user(tenant, "admin"))
    url = f"/t/{tenant.slug}/services/voice_x/settings"
    form = await client.get(url, headers=HTML)
    refused = await client.post(url, headers=HTML, data={**GOOD, "prompts": "99", "_csrf_token": form_csrf(form.text)})
    assert refused.status_code == 400
    assert '<p class="error" id="setting-prompts-error" data-error-for="prompts">1 から 10 の値を入力してください。</p>' \
        in refused.text
    assert 'value="99"' in refused.text and 'value="一次面接"' in refused.text  # what was sent stays in the form
    client.cookies.set("lang", "en", domain="testserver.local")
    refused = await client.post(url, headers=HTML, data={**GOOD, "prompts": "99", "_csrf_token": form_csrf(form.text)})
    assert "Enter a value from 1 to 10." in refused.text and "Speaking speed (x)" in refused.text


async def test_a_secret_is_stored_sealed_and_never_shown_back(voice, client, make_tenant, make_user):
    secret = f"sk-live-{uuid.uuid4().hex}"
    tenant = await make_tenant()
    admin = await make_user(tenant, "admin")
    await login(client, tenant, admin)
    url = f"/t/{tenant.slug}/services/voice_x/settings"
    form = await client.get(url, headers=HTML)
    assert "未設定" in form.text
    saved = await client.post(url, headers=HTML, follow_redirects=False,
                              data={**GOOD, "api_key": secret, "_csrf_token": form_csrf(form.text)})
    assert saved.status_code == 303

    row = await PluginSetting.select(PluginSetting.config).where(PluginSetting.tenant == tenant.id).first()
    raw = str(row["config"])
    assert secret not in raw and "sk-live" not in raw and "sealed" in raw
    assert (await voice.settings_for(tenant.id, "voice_x")).api_key == secret

    page = await client.get(url, headers=HTML)
    assert secret not in page.text and "設定済み" in page.text
    # An empty field keeps the secret; the audit says which fields changed, never their values.
    await client.post(url, headers=HTML, data={**GOOD, "prompts": "6", "api_key": "",
                                               "_csrf_token": form_csrf(page.text)})
    assert (await voice.settings_for(tenant.id, "voice_x")).api_key == secret
    entries = await AuditEntry.select().where((AuditEntry.tenant == tenant.id)
                                              & (AuditEntry.action == "tenants.plugin_settings_changed")
                                              ).order_by(AuditEntry.id)
    assert [sorted(json_value(e["detail"])["fields"]) for e in entries] == [
        ["api_key", "captions", "prompts", "speed", "title", "voice"], ["prompts"]]
    assert all(secret not in str(e) for e in entries) and {e["actor"] for e in entries} == {admin.id}
    # Ticking "remove" clears it.
    page = await client.get(url, headers=HTML)
    await client.post(url, headers=HTML, data={**GOOD, "api_key__clear": "on", "_csrf_token": form_csrf(page.text)})
    assert (await voice.settings_for(tenant.id, "voice_x")).api_key == ""


async def test_a_secret_sealed_for_one_tenant_does_not_open_for_another(voice, app, make_tenant):
    from core.storage import BlobCorrupt

    a, b = await make_tenant(), await make_tenant()
    await voice.save_settings(a.id, "voice_x", {**GOOD, "api_key": "secret-of-a"}, operator=False)
    config = await voice.stored_settings(a.id, "voice_x")
    await PluginSetting.insert(PluginSetting(tenant=b.id, plugin_key="voice_x", active=False, config=config))
    with pytest.raises(BlobCorrupt):
        await voice.settings_for(b.id, "voice_x")


async def test_operator_only_fields_appear_only_in_ops(voice, client, make_tenant, make_user):
    tenant = await make_tenant()
    await login(client, tenant, await make_user(tenant, "admin"))
    url = f"/t/{tenant.slug}/services/voice_x/settings"
    page = await client.get(url, headers=HTML)
    assert page.status_code == 200 and 'name="prompts"' in page.text
    assert 'name="gpu_minutes"' not in page.text and "GPU" not in page.text
    # Sent anyway, it is ignored.
    await client.post(url, headers=HTML, data={**GOOD, "gpu_minutes": "600", "_csrf_token": form_csrf(page.text)})
    assert (await voice.settings_for(tenant.id, "voice_x")).gpu_minutes == 30

    await client.post("/logout", data={"_csrf_token": client.cookies["csrftoken"]}, headers=HTML)
    await login(client, None, await make_user(None, "operator"))
    ops_url = f"/ops/tenants/{tenant.slug}/plugins/voice_x"
    page = await client.get(ops_url, headers=HTML)
    assert 'name="gpu_minutes"' in page.text
    saved = await client.post(ops_url, headers=HTML, follow_redirects=False,
                              data={**GOOD, "gpu_minutes": "120", "_csrf_token": form_csrf(page.text)})
    assert saved.status_code == 303
    assert (await voice.settings_for(tenant.id, "voice_x")).gpu_minutes == 120


@pytest.mark.parametrize("schema, problem", [
    (dict, "must be a dataclass"),
    (dataclass(type("NoDefault", (), {"__annotations__": {"n": int}})), "needs a default"),
    (dataclass(type("Listy", (), {"__annotations__": {"n": list}, "n": field(default_factory=list)})),
     "type must be"),
    (dataclass(type("NoLabel", (), {"__annotations__": {"n": int}, "n": 1})), "label_ja and label_en"),
    (dataclass(type("BadDefault", (), {"__annotations__": {"n": int},
                                       "n": field(default=0, metadata={"label_ja": "n", "label_en": "n", "min": 1})})),
     "default does not fit"),
])
def test_a_settings_schema_the_host_cannot_offer_refuses_the_plugin(schema, problem):
    with pytest.raises(PluginError, match=problem):
        PluginHost().register(_Plugin(meta("schema_x", settings=schema)), key="schema_x")


# -- face_features: the sampling rate per tenant -----------------------------------------------------


async def test_face_features_sampling_rate_is_a_per_tenant_operator_setting(host, app, make_tenant, monkeypatch):
    import plugins.face_features.plugin as face_features
    from plugins.face_features.extractor import FaceFeatureExtractor

    host.register(face_features, key="face_features")
    assert [f.name for f in host.settings_fields("face_features") if f.operator_only] == ["sample_fps"]
    tenant, other = await make_tenant(), await make_tenant()
    await host.save_settings(tenant.id, "face_features", {"sample_fps": "2"}, operator=True)
    assert (await host.settings_for(tenant.id, "face_features")).sample_fps == 2.0
    assert (await host.settings_for(other.id, "face_features")).sample_fps == face_features.SAMPLE_FPS

    seen = []
    monkeypatch.setattr(FaceFeatureExtractor, "analyse",
                        lambda self, path, *, emotion_allowed, progress, sample_fps=None: seen.append(sample_fps)
                        or (_ for _ in ()).throw(RuntimeError("stop after the rate is seen")))
    from core.features import ExtractionInput

    extractor = FaceFeatureExtractor(sample_fps=5.0)
    source = ExtractionInput(tenant_id=tenant.id, interview_id=uuid.uuid4(), path=app.state.settings.data_dir,
                             settings=await host.settings_for(tenant.id, "face_features"))
    with pytest.raises(RuntimeError, match="stop after"):
        extractor.extract(source, lambda *_: None)
    assert seen == [2.0]


class SettledExtractor(_Plugin):
    received: list = []

    @hookimpl
    def mendan_feature_extractors(self):
        plugin = self

        class Extractor:
            name = "settled_x"
            version = "1"
            input_kind = "video"

            def extract(self, source, progress):
                plugin.received.append(source.settings)
                return {"duration_s": 12.0}

        return [Extractor()]


async def test_the_analysis_job_hands_the_extractor_its_plugins_settings(host, app, make_tenant):
    from core.interviews.analysis import extract_features

    plugin = SettledExtractor(meta("settled_x", kind="basic", settings=VoiceSettings))
    plugin.received = []
    host.register(plugin, key="settled_x")
    tenant = await make_tenant()
    await host.save_settings(tenant.id, "settled_x", {**GOOD, "prompts": "7"}, operator=False)
    storage = app.state.storage
    storage.write_file(storage.tenant_key(tenant), "recordings/test.webm", app.state.settings.data_dir / "master.key")
    result = await extract_features(str(tenant.id), str(uuid.uuid4()), "settled_x", "recordings/test.webm")
    assert result.startswith("1 features")
    [received] = plugin.received
    assert isinstance(received, VoiceSettings) and received.prompts == 7
