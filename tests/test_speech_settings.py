"""speech and summary: their per-tenant settings are the host's, shown on the services page."""

from __future__ import annotations

import uuid

from core.db.tables import PluginSetting
from plugins.speech import plugin as speech_plugin
from plugins.speech.settings import SpeechSettings, speech_settings
from plugins.summary import plugin as summary_plugin
from plugins.summary.settings import SummarySettings, summary_settings
from tests.conftest import HTML, form_csrf, login


async def test_speech_and_summary_settings_render_and_keep_the_api_key_secret(host, app, client, make_tenant,
                                                                                make_user):
    host.register(speech_plugin, key="speech")
    host.register(summary_plugin, key="summary")
    tenant = await make_tenant()
    await login(client, tenant, await make_user(tenant, "admin"))
    assert await speech_settings(tenant.id) == SpeechSettings()
    assert await summary_settings(tenant.id) == SummarySettings()

    speech = await client.get(f"/t/{tenant.slug}/services/speech/settings", headers=HTML)
    assert speech.status_code == 200
    assert 'name="backend"' in speech.text and 'name="beam_size"' in speech.text
    assert 'name="nemo_checkpoint"' not in speech.text  # a path on the workers: operators only
    saved = await client.post(f"/t/{tenant.slug}/services/speech/settings", headers=HTML, follow_redirects=False,
                              data={"backend": "whisper", "beam_size": "3", "max_audio_minutes": "60",
                                    "_csrf_token": form_csrf(speech.text)})
    assert saved.status_code == 303
    assert (await speech_settings(tenant.id)).beam_size == 3

    url = f"/t/{tenant.slug}/services/summary/settings"
    page = await client.get(url, headers=HTML)
    assert page.status_code == 200 and "要約の方式" in page.text and "未設定" in page.text
    key = f"sk-{uuid.uuid4().hex}"
    saved = await client.post(url, headers=HTML, follow_redirects=False, data={
        "provider": "chat_completions", "endpoint": "http://127.0.0.1:9/v1", "model": "m", "api_key": key,
        "timeout_s": "5", "sentences_per_answer": "2", "sentences_per_interview": "4",
        "_csrf_token": form_csrf(page.text)})
    assert saved.status_code == 303
    settings = await summary_settings(tenant.id)
    assert (settings.provider, settings.api_key, settings.sentences_per_answer) == ("chat_completions", key, 2)
    row = await PluginSetting.select(PluginSetting.config).where(
        (PluginSetting.tenant == tenant.id) & (PluginSetting.plugin_key == "summary")).first()
    assert key not in str(row["config"])
    again = await client.get(url, headers=HTML)
    assert key not in again.text and "設定済み" in again.text

    refused = await client.post(url, headers=HTML, data={
        "provider": "gpt", "endpoint": "", "model": "", "timeout_s": "5", "sentences_per_answer": "2",
        "sentences_per_interview": "4", "_csrf_token": form_csrf(again.text)})
    assert refused.status_code == 400 and "extractive, chat_completions" in refused.text
