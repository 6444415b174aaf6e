"""Re-analysis (issue 11, fault 7): a bumped or newly enabled extractor is detected, existing
interviews are re-run through it with progress, and the next model build uses them."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from uuid import uuid4

import pytest

import plugins.ai_model.plugin as ai_model_plugin
from core.db.tables import FeatureValue
from core.features import features_of
from core.job_texts import message_text
from core.hookspecs import hookimpl
from core.interviews.api import QuestionSetVersion, items_of
from core.interviews.evaluations import save_evaluation
from core.interviews.completion import announce_completion
from core.media import probe
from core.plugins import PluginMeta
from core.interviews.reanalysis import stale_analyses
from core.tenancy import TenantScope
from core.interviews.transcripts import store_transcript
from core.transcripts import Segment, Transcript
from plugins.ai_model.service import training_set
from tests import media_fixtures as mf
from tests.conftest import HTML, form_csrf, login, wait_for_job
from tests.interview_fixtures import make_interview
from tests.test_analysis_pipeline import add_recording, wait_until


class Timing:
    name = "timing"
    title_ja = "録画の長さ"
    title_en = "Recording length"
    version = "1"
    input_kind = "video"

    def extract(self, source, progress):
        info = probe(source.path)
        return {"length_s": info.duration_s + (0 if Timing.version == "1" else 100), "fps_mean": info.average_fps}


class TimingPlugin:
    def __init__(self) -> None:
        self.analysed: list = []

    @hookimpl
    def mendan_plugin_meta(self):
        return PluginMeta(key="timing", name_ja="タイミング", name_en="Timing", version="1", kind="basic",
                          hours="batch")

    @hookimpl
    def mendan_feature_extractors(self):
        return [Timing()]

    @hookimpl
    def mendan_interview_analysed(self, tenant_id, interview_id, succeeded, failed):
        self.analysed.append((interview_id, succeeded, failed))


@pytest.fixture
def timing(host):
    plugin = TimingPlugin()
    host.register(plugin, key="timing")
    host.register(ai_model_plugin, key="ai_model")
    Timing.version = "1"
    yield plugin
    Timing.version = "1"


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> mf.Made:
    return mf.vfr_mp4(tmp_path_factory.mktemp("reanalysis") / "vfr.mp4")


async def test_a_bumped_extractor_is_detected_rerun_with_progress_and_used_by_the_next_build(
        timing, app, client, make_tenant, make_user, storage, video):
    tenant = await make_tenant()
    scope = TenantScope(tenant.id)
    admin = await make_user(tenant, "admin")
    interviews = []
    for number in range(3):
        setup = await make_interview(tenant, make_user, experts=1)
        interview = setup["interview"]
        rec = await add_recording(scope, storage, tenant, interview, video, 0)
        await announce_completion(scope, app.state.plugin_host, interview, rec)
        [item] = [i for i in items_of(await scope.get(QuestionSetVersion, interview.question_set_version))
                  if i.name == "Clarity"]  # each set has a key of its own
        await save_evaluation(scope, interview, setup["experts"][0], {item.key: str(2 + number)}, "")
        interviews.append(interview)

    async def all_analysed():
        return len(timing.analysed) >= 3
    await wait_until(all_analysed, "three analyses")
    [state] = [s for s in await stale_analyses(tenant.id) if s.name == "timing"]
    assert (state.version, state.total, state.stale) == ("1", 3, [])
    features, _labels, _items, excluded, _versions = await training_set(scope)
    assert len(features) == 3 and not excluded

    Timing.version = "2"  # the plugin is updated: existing features are of an older version
    [state] = [s for s in await stale_analyses(tenant.id) if s.name == "timing"]
    assert sorted(state.stale) == sorted(i.id for i in interviews)
    _features, _labels, _items, excluded, _versions = await training_set(scope)
    assert set(excluded.values()) == {"not analysed"} and len(excluded) == 3

    # The admin page lists it; its button queues the re-analysis job.
    await login(client, tenant, admin)
    listing = await client.get(f"/t/{tenant.slug}/analysis/", headers=HTML)
    assert listing.status_code == 200 and "録画の長さ" in listing.text and "3 / 3 件" in listing.text
    pressed = await client.post(f"/t/{tenant.slug}/analysis/reanalyse", headers=HTML, follow_redirects=False,
                                data={"extractor": "timing", "_csrf_token": form_csrf(listing.text)})
    assert pressed.status_code == 303
    job_id = pressed.headers["location"].rsplit("/", 1)[1]
    job = await wait_for_job(job_id)
    assert (job.state, job.progress, job.result_ref) == ("done", 100, "3 interviews re-analysed")
    assert message_text(job.message, "en") == "3 of 3 interviews"  # stored as a msgid with its counts
    assert message_text(job.message, "ja") == "3 件中 3 件の面談"
    assert [s.stale for s in await stale_analyses(tenant.id) if s.name == "timing"] == [[]]
    assert (await features_of(scope, interviews[0].id))["timing.length_s"] == pytest.approx(106.0, abs=0.2)
    assert len(timing.analysed) == 6  # once more per interview
    features, _labels, _items, excluded, versions = await training_set(scope)
    assert len(features) == 3 and not excluded and versions["timing"] == "2"
    # Rows of the old version stay out of what models read; per-recording rows were replaced.
    assert await FeatureValue.count().where(
        (FeatureValue.tenant == tenant.id) & (FeatureValue.extractor_version == "1")) == 0


def _hello_installed() -> bool:
    from importlib.metadata import entry_points

    return any(ep.name == "hello" for ep in entry_points(group="mendan.plugins"))


@pytest.mark.skipif(not _hello_installed(), reason="examples/mendan-hello is not installed")
async def test_mendan_analyse_runs_a_newly_enabled_extractor_over_existing_transcripts(
        host, app, client, settings, make_tenant, make_user, storage, video):
    """The command as an operator runs it: its own process, the same database."""
    from importlib.metadata import entry_points

    [hello] = [ep for ep in entry_points(group="mendan.plugins") if ep.name == "hello"]
    host.register(hello.load(), key="hello")
    tenant = await make_tenant(slug=f"cli-{uuid4().hex[:8]}")
    scope = TenantScope(tenant.id)
    interview = (await make_interview(tenant, make_user))["interview"]
    rec = await add_recording(scope, storage, tenant, interview, video, 0)
    stored = await store_transcript(scope, rec.id, Transcript("en", "test", (Segment(0, 2, "three small words"),)))
    assert stored.jobs == []  # hello is an option, not yet enabled: nothing to run
    await host.set_enabled(tenant.id, "hello", True)
    [state] = [s for s in await stale_analyses(tenant.id) if s.name == "hello_words"]
    assert state.stale == [interview.id]

    env = {**os.environ, "MENDAN_DATA_DIR": str(settings.data_dir), "DATABASE_URL": settings.database_url}
    env.pop("BROKER_URL", None)
    command = [sys.executable, "-c", "from mendan.cli import main; main()", "analyse", "--tenant", tenant.slug,
               "--extractor", "hello_words"]
    done = await asyncio.to_thread(subprocess.run, command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 interviews re-analysed" in done.stdout and "re-analysis" in done.stdout
    assert (await features_of(scope, interview.id))["hello_words.word_count"] == 3.0

    refused = await asyncio.to_thread(subprocess.run, [*command[:5], "no-such-tenant"], env=env,
                                      capture_output=True, text=True, timeout=300)
    assert refused.returncode != 0 and "no tenant" in refused.stderr
