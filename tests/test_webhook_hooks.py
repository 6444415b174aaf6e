"""The examples of `mendan_interview_scheduled`, `mendan_prediction_confirmed` and
`mendan_model_built` in docs/plugins.md, run as plugins: the interviews domain and the AI model
fire them where an interview is scheduled, a score reviewed and a model built."""

from __future__ import annotations

import re
import types
from pathlib import Path

from core.plugins import PluginMeta
from core.tenancy import TenantScope
from plugins.ai_model import service
from plugins.ai_model.synthetic import synthetic_interviews
from plugins.ai_model.tables import ModelVersion, Prediction
from tests.conftest import wait_for_job
from tests.interview_fixtures import make_interview
from tests.test_ai_model_flow import host, populate  # noqa: F401  (host: with ai_model and the synthetic extractor)

PLUGINS_MD = Path(__file__).resolve().parent.parent / "docs" / "plugins.md"


def documented_example(hook: str) -> types.ModuleType:
    section = PLUGINS_MD.read_text(encoding="utf-8").split(f"## {hook}(", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)
    key = f"hello_{hook.removeprefix('mendan_')}"
    module = types.ModuleType(key)
    exec(compile(code, f"docs/plugins.md:{hook}", "exec"), module.__dict__)
    module.mendan_plugin_meta = module.hookimpl(lambda: PluginMeta(
        key=key, name_ja="こんにちは", name_en="Hello", version="0.1.0", kind="basic", hours="batch"))
    return module


async def test_the_documented_example_hears_each_scheduled_interview(app, host, make_tenant, make_user):
    example = documented_example("mendan_interview_scheduled")
    host.register(example, key="hello_interview_scheduled")
    tenant = await make_tenant()
    first = (await make_interview(tenant, make_user))["interview"]
    second = (await make_interview(tenant, make_user, kind="self"))["interview"]
    assert example.SCHEDULED == [(str(tenant.id), str(first.id)), (str(tenant.id), str(second.id))]


async def test_the_documented_example_hears_each_review(app, host, make_tenant, make_user):
    example = documented_example("mendan_prediction_confirmed")
    host.register(example, key="hello_prediction_confirmed")
    tenant = await make_tenant()
    reviewer = await make_user(tenant, "interviewer")
    scope = TenantScope(tenant.id)
    setup = await make_interview(tenant, make_user)
    version = await scope.add(ModelVersion(number=1, state="ready", items={"clarity": {
        "name": "Clarity", "scale_min": 1, "scale_max": 5}}, active=True))
    kept, replaced = [await scope.add(Prediction(interview_id=setup["interview"].id, item_key="clarity", value=3.0,
                                                 source="v1", model_version=version.id)) for _ in range(2)]
    await service.review(scope, kept.id, reviewer, override=None, comment="")
    await service.review(scope, replaced.id, reviewer, override="4.5", comment="clearer than it looks")
    assert example.REVIEWED == {str(kept.id): 3.0, str(replaced.id): 4.5}


async def test_the_documented_example_hears_each_ready_build_only(app, client, host, make_tenant, make_user):
    example = documented_example("mendan_model_built")
    host.register(example, key="hello_model_built")
    tenant = await make_tenant()
    admin = await make_user(tenant, "admin")
    features, labels = synthetic_interviews(16, noise_features=2, seed=11)
    await populate(tenant, make_user, features, labels)
    job = await wait_for_job(await app.state.tasks.enqueue("ai_model.build", tenant_id=tenant.id,
                                                          requested_by=str(admin.id)))
    assert job.state == "done", job.error
    (version,) = await ModelVersion.objects().where(ModelVersion.tenant == tenant.id)
    assert example.BUILT == [(str(tenant.id), str(version.id))]
