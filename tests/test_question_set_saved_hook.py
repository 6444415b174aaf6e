"""`mendan_question_set_saved` (issue 14, item 3): the documented example in docs/plugins.md run as
a plugin, and the self-interview rendering the avatar's voices in a job when a set is saved."""

from __future__ import annotations

import re
import types
from pathlib import Path

import pytest

from core.db.tables import Job
from core.tables import json_value
from core.interviews.tables import QuestionSetVersion
from core.plugins import PluginMeta
from core.tenancy import TenantScope
from plugins.self_interview import plugin as self_interview
from tests.conftest import HTML, form_csrf, login, wait_for_job

PLUGINS_MD = Path(__file__).resolve().parent.parent / "docs" / "plugins.md"
QUESTIONS = ["自己紹介をお願いします。", "学生時代に力を入れたことを教えてください。"]


def documented_example() -> types.ModuleType:
    section = PLUGINS_MD.read_text(encoding="utf-8").split("## mendan_question_set_saved(", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)
    module = types.ModuleType("hello_saved")
    exec(compile(code, "docs/plugins.md:mendan_question_set_saved", "exec"), module.__dict__)
    module.mendan_plugin_meta = module.hookimpl(lambda: PluginMeta(
        key="hello_saved", name_ja="こんにちは", name_en="Hello", version="0.1.0", kind="basic", hours="batch"))
    return module


async def save_set(client, tenant, questions: list[str], set_id=None):
    path = f"/t/{tenant.slug}/question-sets" + (f"/{set_id}" if set_id else "")
    editor = await client.get(path if set_id else path + "/new", headers=HTML)
    form = {"_csrf_token": form_csrf(editor.text), "name": "新卒面談", "i_name_0": "論理性", "i_min_0": "1",
            "i_max_0": "5"}
    for n, text in enumerate(questions):
        form |= {f"q_text_{n}": text, f"q_limit_{n}": "60", f"q_recorded_{n}": "1"}
    saved = await client.post(path, data=form, headers=HTML, follow_redirects=False)
    assert saved.status_code in (302, 303), saved.text
    rows = await TenantScope(tenant.id).objects(QuestionSetVersion).order_by(QuestionSetVersion.number)
    return rows[-1]


async def test_the_documented_example_hears_each_saved_version(host, client, make_tenant, make_user):
    example = documented_example()
    host.register(example, key="hello_saved")
    tenant = await make_tenant()
    await login(client, tenant, await make_user(tenant, "admin"))
    first = await save_set(client, tenant, QUESTIONS[:1])
    assert example.SAVED == [(str(tenant.id), str(first.id))]
    second = await save_set(client, tenant, QUESTIONS, set_id=first.question_set)  # a new version
    assert example.SAVED == [(str(tenant.id), str(first.id)), (str(tenant.id), str(second.id))]
    await host.set_enabled(tenant.id, "hello_saved", False)  # a plugin switched off hears nothing
    await save_set(client, tenant, QUESTIONS[1:], set_id=first.question_set)
    assert len(example.SAVED) == 2


@pytest.fixture
def selfi(host):
    host.register(self_interview, key="self_interview")
    return host


async def test_saving_a_question_set_renders_each_questions_voice_into_the_cache(selfi, client, make_tenant,
                                                                                make_user):
    from plugins.self_interview.speech_synthesis import cache_key, voice_for
    from plugins.self_interview.tables_voice import SelfInterviewVoice

    tenant = await make_tenant()
    await login(client, tenant, await make_user(tenant, "admin"))
    version = await save_set(client, tenant, QUESTIONS)
    [job] = await Job.objects().where((Job.tenant == tenant.id) & (Job.actor == "self_interview.render_voices"))
    assert json_value(job.args) == {"version_id": str(version.id)}
    done = await wait_for_job(job.id)
    assert done.state == "done", done.error
    cached = {r.text_sha256 for r in await TenantScope(tenant.id).objects(SelfInterviewVoice)}
    assert cached == {cache_key(text, voice_for("ja")) for text in QUESTIONS}
