"""video_analysis's stored report (issue 20): the page shows a report computed ahead of it, with
the numbers it computed on each request before, refreshed when an analysis finishes or an expert
scores, computed once for old data, and naming the evaluation items as people named them."""

from __future__ import annotations

import csv
import io
import re
import types
import uuid
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.db.tables import Job
from core.features import store_features
from core.interviews.evaluations import save_evaluation
from core.interviews.question_sets import EvaluationItem, Question, create_question_set
from core.interviews.schedule import advance, schedule_interview
from core.plugins import PluginMeta
from core.tables import User, json_value
from core.tenancy import TenantScope
from plugins.face_features.video_analysis import plots, report_store
from plugins.face_features.video_analysis.report_content import csv_text
from plugins.face_features.video_analysis.report_data import evaluation_labels, face_feature_table
from plugins.face_features.video_analysis.statistics import report_tables
from plugins.face_features.video_analysis.tables import VideoAnalysisReport
from tests.conftest import HTML, login, wait_for_job
from tests.test_video_analysis import _Extractor, report_host  # noqa: F401 (report_host: a fixture)

PLUGINS_MD = Path(__file__).resolve().parent.parent / "docs" / "plugins.md"
ITEMS = [EvaluationItem(key="warmth", name="親しみやすさ", description="表情が明るいか"),
         EvaluationItem(key="logic", name="論理性", description="筋道立てて話せるか")]


class EvaluatedTenant:
    """A tenant with analysed interviews that one expert scored on Japanese-named items: smile_ratio
    follows 'warmth' (親しみやすさ), yaw_std is noise, nothing follows 'logic' (論理性)."""

    def __init__(self, tenant, admin, expert, interviewee, version) -> None:
        self.tenant, self.admin, self.expert, self.interviewee, self.version = (
            tenant, admin, expert, interviewee, version)
        self.scope = TenantScope(tenant.id)
        self.rng = np.random.default_rng(11)
        self.interviews: list = []

    async def interview(self, *, scored: bool = True):
        """One more held interview with its face features stored (and the expert's scores)."""
        interview = await schedule_interview(
            self.scope, kind="live", starts_at=datetime.now(timezone.utc) - timedelta(days=len(self.interviews) + 1),
            interviewee_id=self.interviewee.id, interviewer_id=self.admin.id, expert_ids=[self.expert.id],
            version_id=self.version.id, title=f"面談 {len(self.interviews) + 1}", check=False)
        await advance(self.scope, interview, "recorded")
        warmth, logic = int(self.rng.integers(1, 6)), int(self.rng.integers(1, 6))
        await store_features(self.scope, interview.id, _Extractor(), {
            "smile_ratio": warmth / 5 + float(self.rng.normal(0, 0.05)), "yaw_std": float(self.rng.normal(5, 1))})
        if scored:
            await save_evaluation(self.scope, interview, self.expert, {"warmth": str(warmth), "logic": str(logic)}, "")
        self.interviews.append(interview)
        return interview


async def evaluated_tenant(make_tenant, make_user, n: int = 14) -> EvaluatedTenant:
    tenant = await make_tenant()
    admin, expert = await make_user(tenant, "admin"), await make_user(tenant, "expert")
    interviewee = await make_user(tenant, "interviewee", password=None)
    version = await create_question_set(TenantScope(tenant.id), name="一次面接", author=admin, items=ITEMS,
                                        questions=[Question(text="自己紹介をお願いします。")])
    made = EvaluatedTenant(tenant, admin, expert, interviewee, version)
    for _ in range(n):
        await made.interview()
    return made


async def stored(scope: TenantScope, audience: str = report_store.ALL) -> VideoAnalysisReport | None:
    return await scope.objects(VideoAnalysisReport).where(VideoAnalysisReport.audience == audience).first()


def as_records(frame) -> list[dict]:
    """A statistics table as the stored report keeps it: NaN as None."""
    return [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}
            for row in frame.to_dict("records")]


@pytest.fixture
def counted_computations(monkeypatch):
    """(tenant id, "all" or "expert") of each report computed (not read as stored). Count a test's
    own tenant only: the worker may also run a job that an earlier test left queued for another."""
    calls = []
    compute = report_store.compute_report

    async def counting(scope, visible):
        # A job gets the tenant's id as text, a request as a UUID.
        calls.append((str(scope.tenant_id), "all" if visible is None else "expert"))
        return await compute(scope, visible)

    monkeypatch.setattr(report_store, "compute_report", counting)
    return calls


async def test_the_stored_report_holds_the_numbers_the_page_computed_on_each_request(
        report_host, app, make_tenant, make_user):
    made = await evaluated_tenant(make_tenant, make_user)
    await report_store.refresh(str(made.tenant.id))  # the job, as the hooks queue it
    content = json_value((await stored(made.scope)).report)
    # What the page computed on every request before (routes.py up to issue 20), from the same rows.
    features, labels = await face_feature_table(made.scope), await evaluation_labels(made.scope)
    tables = report_tables(features, labels)
    assert content["interviews"] == len(features) == 14
    assert content["distributions"] == as_records(tables.distributions)
    assert content["correlations"] == as_records(tables.correlations)
    assert content["differences"] == as_records(tables.differences)
    assert [h["feature"] for h in content["histograms"]] == ["smile_ratio", "yaw_std"]
    assert content["heatmap"].startswith("data:image/png;base64,")
    strong = next(r for r in content["correlations"] if (r["feature"], r["item"]) == ("smile_ratio", "warmth"))
    assert strong["significant"] and strong["rho"] > 0.8
    # The CSV carries the same numbers, to the last digit.
    rows = list(csv.DictReader(io.StringIO(csv_text(content))))
    spearman = {(r["feature"], r["item_key"]): r for r in rows if r["test"] == "spearman"}
    for row in as_records(tables.correlations):
        shown = spearman[(row["feature"], row["item"])]
        assert (float(shown["statistic"]), float(shown["p"]), float(shown["q"])) == (row["rho"], row["p"], row["q"])


async def test_the_page_names_the_evaluation_items_as_people_named_them(report_host, client, make_tenant, make_user):
    made = await evaluated_tenant(make_tenant, make_user)
    await report_host.set_enabled(made.tenant.id, "video_analysis", True)
    await login(client, made.tenant, made.admin)
    page = await client.get(f"/t/{made.tenant.slug}/video_analysis/", headers=HTML)
    assert page.status_code == 200
    assert 'class="significant"><td title="smile_ratio">笑顔の割合</td><td>親しみやすさ</td>' in page.text
    assert "<td>論理性</td>" in page.text
    assert not re.search(r"<td>(warmth|logic)</td>", page.text)  # no key where a name belongs
    download = await client.get(f"/t/{made.tenant.slug}/video_analysis/report.csv")
    assert download.text.startswith("\ufeff")  # spreadsheet programs then read the names as UTF-8
    rows = list(csv.DictReader(io.StringIO(download.text.removeprefix("\ufeff"))))
    assert {(r["item"], r["item_key"]) for r in rows} == {("親しみやすさ", "warmth"), ("論理性", "logic")}


def test_the_heat_map_draws_japanese_item_names_with_real_glyphs():
    correlations = pd.DataFrame([{"feature": "smile_ratio", "item": "warmth", "rho": 0.9, "significant": True},
                                 {"feature": "smile_ratio", "item": "logic", "rho": 0.1, "significant": False}])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        image = plots.correlation_heatmap(correlations, {"warmth": "親しみやすさ", "logic": "論理性"})
    assert image.startswith("data:image/png;base64,")
    assert not [w for w in caught if "missing from font" in str(w.message)]  # no empty boxes for 親 or 論


async def test_a_finished_analysis_refreshes_the_stored_report(report_host, client, make_tenant, make_user,
                                                              counted_computations):
    made = await evaluated_tenant(make_tenant, make_user)
    await report_host.set_enabled(made.tenant.id, "video_analysis", True)
    await login(client, made.tenant, made.admin)
    first = await client.get(f"/t/{made.tenant.slug}/video_analysis/", headers=HTML)
    admins_report = (str(made.tenant.id), "all")
    assert 'id="interview-count">14<' in first.text and counted_computations.count(admins_report) == 1
    newcomer = await made.interview(scored=False)  # analysed, not evaluated yet: no expert's save
    await report_host.call_for_tenant("mendan_interview_analysed", tenant_id=made.tenant.id,
                                      interview_id=newcomer.id, succeeded=["face_features"], failed=[])
    job = await Job.objects().where((Job.tenant == made.tenant.id) & (Job.actor == "video_analysis.refresh")).first()
    assert (await wait_for_job(job.id)).state == "done"
    assert json_value((await stored(made.scope)).report)["interviews"] == 15
    again = await client.get(f"/t/{made.tenant.slug}/video_analysis/", headers=HTML)
    assert 'id="interview-count">15<' in again.text
    assert counted_computations.count(admins_report) == 2  # the job computed it; the page only read it


async def test_an_experts_evaluation_queues_a_refresh(report_host, client, make_tenant, make_user):
    made = await evaluated_tenant(make_tenant, make_user, n=6)
    await report_host.set_enabled(made.tenant.id, "video_analysis", True)
    await report_store.refresh(str(made.tenant.id))
    before = (await stored(made.scope)).inputs
    await save_evaluation(made.scope, made.interviews[0], made.expert, {"warmth": "1", "logic": "5"}, "考え直した")
    jobs = await Job.objects().where((Job.tenant == made.tenant.id) & (Job.actor == "video_analysis.refresh"))
    assert len(jobs) == 1
    await wait_for_job(jobs[0].id)
    row = await stored(made.scope)
    assert row.inputs != before and row.inputs == await report_store.inputs_stamp(made.scope, None)


async def test_a_burst_of_expert_saves_leaves_one_refresh_waiting(report_host, app, make_tenant, make_user):
    # The app is not started, so no worker takes jobs: they wait as in a busy worker's queue.
    made = await evaluated_tenant(make_tenant, make_user, n=3)  # the option is off: nothing queued yet
    await report_host.set_enabled(made.tenant.id, "video_analysis", True)
    for interview in made.interviews:
        await save_evaluation(made.scope, interview, made.expert, {"warmth": "2", "logic": "4"}, "")
    jobs = await Job.objects().where((Job.tenant == made.tenant.id) & (Job.actor == "video_analysis.refresh"))
    assert [job.state for job in jobs] == ["queued"]  # the one job will read all three scores


async def test_old_data_without_a_report_is_computed_once_then_read_until_its_inputs_change(
        report_host, client, make_tenant, make_user, counted_computations):
    made = await evaluated_tenant(make_tenant, make_user, n=8)
    await report_host.set_enabled(made.tenant.id, "video_analysis", True)
    assert await stored(made.scope) is None  # analysed before the option stored reports
    await login(client, made.tenant, made.admin)
    for _ in range(2):
        page = await client.get(f"/t/{made.tenant.slug}/video_analysis/", headers=HTML)
        assert 'id="interview-count">8<' in page.text
    admins_report = (str(made.tenant.id), "all")
    assert counted_computations.count(admins_report) == 1 and await stored(made.scope) is not None
    # Features stored without any hook reaching the plugin (as an import would): still never stale.
    extra = uuid.uuid4()
    await store_features(made.scope, extra, _Extractor(), {"smile_ratio": 0.5, "yaw_std": 4.0})
    page = await client.get(f"/t/{made.tenant.slug}/video_analysis/", headers=HTML)
    assert 'id="interview-count">9<' in page.text and counted_computations.count(admins_report) == 2


async def test_each_expert_gets_a_report_of_their_own_interviews_before_their_first_view(
        report_host, client, make_tenant, make_user, counted_computations):
    made = await evaluated_tenant(make_tenant, make_user, n=6)
    other_expert = await make_user(made.tenant, "expert")  # takes part in none of them
    await report_host.set_enabled(made.tenant.id, "video_analysis", True)
    await report_store.refresh(str(made.tenant.id))  # the job: the admins' report and each expert's
    assert json_value((await stored(made.scope)).report)["interviews"] == 6
    assert json_value((await stored(made.scope, f"user:{made.expert.id}")).report)["interviews"] == 6
    tenant = str(made.tenant.id)

    def mine() -> list:
        return sorted(c for c in counted_computations if c[0] == tenant)

    assert mine() == [(tenant, "all"), (tenant, "expert"), (tenant, "expert")]
    await login(client, made.tenant, other_expert)
    page = await client.get(f"/t/{made.tenant.slug}/video_analysis/", headers=HTML)
    assert 'id="interview-count">0<' in page.text
    assert len(mine()) == 3  # read as stored
    await made.scope.update(User, {User.role: "interviewer"}).where(User.id == other_expert.id)
    await report_store.refresh(str(made.tenant.id))  # no longer an expert: their report goes
    assert await stored(made.scope, f"user:{other_expert.id}") is None


def documented_example() -> types.ModuleType:
    section = PLUGINS_MD.read_text(encoding="utf-8").split("## mendan_evaluation_saved(", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)
    module = types.ModuleType("hello_scored")
    exec(compile(code, "docs/plugins.md:mendan_evaluation_saved", "exec"), module.__dict__)
    module.mendan_plugin_meta = module.hookimpl(lambda: PluginMeta(
        key="hello_scored", name_ja="こんにちは", name_en="Hello", version="0.1.0", kind="basic", hours="batch"))
    return module


async def test_the_documented_example_hears_each_experts_save(host, app, make_tenant, make_user):
    example = documented_example()
    host.register(example, key="hello_scored")
    made = await evaluated_tenant(make_tenant, make_user, n=2)
    first, second = made.interviews
    assert example.EXPERT_SCORED == [(str(made.tenant.id), str(first.id)), (str(made.tenant.id), str(second.id))]
    await save_evaluation(made.scope, first, made.admin, {"warmth": "3", "logic": "3"}, "")  # an admin: not heard
    assert len(example.EXPERT_SCORED) == 2
