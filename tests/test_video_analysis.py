"""video_analysis: the report's statistics on known data, the page, the CSV and the option guard."""

from __future__ import annotations

import csv
import io
import uuid

import numpy as np
import pandas as pd
import pytest

from core.features import store_features
from core.tenancy import TenantScope
from core.web.i18n import translations
from plugins.face_features import plugin as face_plugin
from plugins.face_features.video_analysis import plugin as report_plugin
from plugins.face_features.video_analysis import report_data
from plugins.face_features.video_analysis.report_content import csv_text, report_content
from plugins.face_features.video_analysis.statistics import benjamini_hochberg, report_tables
from tests.conftest import HTML, login


def known_tables(n: int = 40, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """smile_ratio follows the 'warmth' score; yaw_std is unrelated noise; nothing follows 'logic'."""
    rng = np.random.default_rng(seed)
    ids = [str(uuid.UUID(int=i)) for i in range(n)]
    warmth = rng.integers(1, 6, n).astype(float)
    logic = rng.integers(1, 6, n).astype(float)
    features = pd.DataFrame({
        "smile_ratio": warmth / 5 + rng.normal(0, 0.05, n),
        "yaw_std": rng.normal(5, 1, n),
    }, index=ids)
    labels = pd.DataFrame({"warmth": warmth, "logic": logic}, index=ids)
    return features, labels


def test_benjamini_hochberg_matches_the_hand_computed_q_values():
    q = benjamini_hochberg(np.array([0.01, 0.04, 0.03, 0.2]))
    assert q == pytest.approx([0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.2])


def test_a_feature_that_follows_an_item_is_significant_after_correction():
    features, labels = known_tables()
    tables = report_tables(features, labels)
    corr = tables.correlations.set_index(["feature", "item"])
    strong = corr.loc[("smile_ratio", "warmth")]
    assert strong["rho"] > 0.9 and strong["q"] < 1e-6 and strong["significant"]
    assert not corr.loc[("yaw_std", "warmth")]["significant"]
    assert not corr.loc[("smile_ratio", "logic")]["significant"]
    assert (corr["q"] >= corr["p"]).all()
    diff = tables.differences.set_index(["feature", "item"]).loc[("smile_ratio", "warmth")]
    assert diff["significant"] and diff["median_high"] > diff["median_low"]
    assert diff["n_high"] + diff["n_low"] == len(features)


def test_distributions_and_csv_cover_every_feature_and_test():
    features, labels = known_tables()
    features.iloc[0, 1] = np.nan  # a feature missing for one interview is left out, not zero
    tables = report_tables(features, labels)
    dist = tables.distributions.set_index("feature")
    assert dist.loc["yaw_std", "n"] == len(features) - 1
    assert dist.loc["smile_ratio", "p50"] == pytest.approx(features["smile_ratio"].median())
    rows = list(csv.DictReader(io.StringIO(csv_text(report_content(features, labels, {})))))
    assert {r["test"] for r in rows} == {"spearman", "mann_whitney"}
    assert len(rows) == len(tables.correlations) + len(tables.differences) == 8


def test_too_few_interviews_give_no_tests():
    features, labels = known_tables(n=4)
    tables = report_tables(features, labels)
    assert tables.correlations.empty and tables.differences.empty
    assert len(tables.distributions) == 2


class _Extractor:
    name, version, input_kind = "face_features", "1.0", "video"


@pytest.fixture
def report_host(host):
    """Both plugins registered; request it before `app` or `client`, which are built from the host."""
    host.register(face_plugin, key="face_features")
    host.register(report_plugin, key="video_analysis")
    return host


async def _analysed_tenant(make_tenant, make_user):
    tenant = await make_tenant()
    features, labels = known_tables()
    for interview_id, row in features.iterrows():
        await store_features(TenantScope(tenant.id), uuid.UUID(interview_id), _Extractor(), row.to_dict())
    # An admin reads the report over every interview of the tenant; an expert only over those they
    # take part in (tests/test_participation_matrix.py), and these interviews have no participants.
    return tenant, await make_user(tenant, role="admin"), labels


def test_expert_labels_become_one_row_per_interview():
    a, b = uuid.uuid4(), uuid.uuid4()
    table = report_data.labels_table({a: {"warmth": 4.5, "logic": 3.0}, b: {"warmth": 2.0}})
    assert table.loc[str(a), "warmth"] == 4.5
    assert np.isnan(table.loc[str(b), "logic"])  # not evaluated stays missing


async def test_the_report_reads_the_experts_mean_scores_from_the_interviews_domain(app, make_tenant, make_user):
    from core.interviews.evaluations import save_evaluation
    from core.interviews.question_sets import items_of
    from core.interviews.schedule import advance
    from tests.interview_fixtures import make_interview

    tenant = await make_tenant()
    made = await make_interview(tenant, make_user, experts=2)
    interview, scope = made["interview"], made["scope"]
    await advance(scope, interview, "recorded")
    clarity, warmth = (item.key for item in items_of(made["version"]))
    await save_evaluation(scope, interview, made["experts"][0], {clarity: "4", warmth: "6"}, "")
    await save_evaluation(scope, interview, made["experts"][1], {clarity: "2"}, "")
    await save_evaluation(scope, interview, made["interviewer"], {clarity: "5"}, "")  # not an expert: left out
    table = await report_data.evaluation_labels(scope)
    assert table.loc[str(interview.id), clarity] == 3.0
    assert table.loc[str(interview.id), warmth] == 6.0


@pytest.fixture
def labels_from_interviews(monkeypatch):
    """Expert scores given directly, in the shape `core.interviews.evaluations.expert_labels` returns,
    so the page tests need not build question sets, interviews and evaluations."""
    holder = {}

    async def expert_labels(scope):
        return holder.get("labels", {})

    monkeypatch.setattr(report_data, "expert_labels", expert_labels)
    return holder


def as_expert_labels(labels: pd.DataFrame) -> dict:
    return {uuid.UUID(i): row.to_dict() for i, row in labels.iterrows()}


async def test_the_report_is_only_for_tenants_with_the_option(report_host, client, make_tenant, make_user):
    tenant, user, _labels = await _analysed_tenant(make_tenant, make_user)
    await login(client, tenant, user)
    response = await client.get(f"/t/{tenant.slug}/video_analysis/", headers=HTML)
    assert response.status_code == 404
    assert translations("ja").gettext("This service is not part of your contract.") in response.text


async def test_the_report_page_and_csv(report_host, client, make_tenant, make_user, labels_from_interviews):
    tenant, user, labels = await _analysed_tenant(make_tenant, make_user)
    labels_from_interviews["labels"] = as_expert_labels(labels)
    await report_host.set_enabled(tenant.id, "video_analysis", True)
    await login(client, tenant, user)
    page = await client.get(f"/t/{tenant.slug}/video_analysis/", headers=HTML)
    assert page.status_code == 200
    assert 'id="interview-count">40<' in page.text
    assert "data:image/png;base64," in page.text
    # Features by their names in the reader's language (the key stays in the title).
    assert 'class="significant"><td title="smile_ratio">笑顔の割合</td><td>warmth</td>' in page.text
    download = await client.get(f"/t/{tenant.slug}/video_analysis/report.csv")
    assert download.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(download.text.removeprefix("\ufeff"))))
    assert any(r["feature"] == "smile_ratio" and r["item"] == "warmth" and r["significant"] == "True" for r in rows)


@pytest.mark.browser
async def test_the_report_renders_in_chromium(report_host, live_server, browser, make_tenant, make_user,
                                              labels_from_interviews):
    tenant, user, labels = await _analysed_tenant(make_tenant, make_user)
    labels_from_interviews["labels"] = as_expert_labels(labels)
    await report_host.set_enabled(tenant.id, "video_analysis", True)
    tab = await browser.new_page()
    base = f"{live_server}/t/{tenant.slug}"
    await tab.goto(f"{base}/login")
    await tab.fill("input[name=email]", user.email)
    await tab.fill("input[name=password]", "correct-horse-battery")
    await tab.click("button[type=submit]")
    await tab.goto(f"{base}/video_analysis/")
    await tab.wait_for_selector("#correlation-table")
    assert await tab.locator("#interview-count").inner_text() == "40"
    rendered = await tab.eval_on_selector_all(
        "img[src^='data:image/png']", "imgs => imgs.filter(i => i.complete && i.naturalWidth > 0).length")
    assert rendered >= 3  # histograms and the heat map decoded as images
    async with tab.expect_download() as info:
        await tab.click("a[href='report.csv']")
    download = await info.value
    assert "smile_ratio" in (await download.path()).read_text()
