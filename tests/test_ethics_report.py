"""The report as people get it: a PDF whose Japanese is real glyphs from an embedded CJK font
(rendered to PNG with poppler), a CSV, and the HTML with its caveats."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from core.fairness import FairnessSettings
from core.fairness_report import report_csv, report_html, report_pdf
from plugins.ethics_model.analysis import analyse_evaluation
from plugins.ethics_model.synthetic import generated_evaluation

needs_poppler = pytest.mark.skipif(shutil.which("pdftoppm") is None or shutil.which("pdffonts") is None,
                                   reason="poppler-utils is not installed (apt-get install -y poppler-utils)")


@pytest.fixture(scope="module")
def report():
    evaluation, groups, _ = generated_evaluation(n=200, biased_expert="expert-a")
    return analyse_evaluation(evaluation, groups, ["gender", "age_band"], FairnessSettings())


def first_page_png(pdf: bytes, folder: Path, name: str) -> np.ndarray:
    from PIL import Image

    (folder / f"{name}.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-f", "1", "-l", "1", "-r", "80", "-gray", "-png", str(folder / f"{name}.pdf"),
                    str(folder / name)], check=True)
    page = next(folder.glob(f"{name}*.png"))
    return np.asarray(Image.open(page).convert("L"))


@needs_poppler
def test_pdf_embeds_a_japanese_font_and_draws_real_glyphs(report, tmp_path):
    pdf = report_pdf(report, "ja")
    (tmp_path / "report.pdf").write_bytes(pdf)
    fonts = subprocess.run(["pdffonts", str(tmp_path / "report.pdf")], capture_output=True, text=True,
                           check=True).stdout
    cjk = [line for line in fonts.splitlines() if "CJK" in line]
    assert cjk and all(" yes " in line for line in cjk), fonts  # embedded (and subset)
    text = subprocess.run(["pdftotext", "-l", "1", str(tmp_path / "report.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert "リスク" in text and "所見" in text

    # Tofu draws every missing character as the same empty box, so two titles that differ only
    # in their kanji would render alike. Real glyphs differ, and fill their boxes with strokes.
    other = dict(report, subject_ja="評価者偏り検査")
    first = first_page_png(pdf, tmp_path, "a")
    second = first_page_png(report_pdf(dict(report, subject_ja="公平性分析報告"), "ja"), tmp_path, "b")
    assert other["subject_ja"] != report["subject_ja"]
    title_rows = slice(0, first.shape[0] // 12)
    ink_a = first[title_rows] < 128
    ink_b = second[title_rows] < 128
    assert ink_a.sum() > 200, "the title drew nothing"
    assert (ink_a != ink_b).sum() > 100, "different Japanese titles rendered alike: tofu"


def test_html_states_small_groups_undisclosed_and_what_it_cannot_guarantee(report):
    html = report_html(report, "en", standalone=True)
    assert "What this report cannot guarantee" in html and "prefer not to say" in html
    assert "not entered" in html and "small" in html
    ja = report_html(report, "ja", standalone=False)
    assert "保証できないこと" in ja and "回答しない" in ja


def test_csv_holds_every_table(report):
    text = report_csv(report)
    assert text.startswith("\ufeff")
    sections = {line.split(",")[0] for line in text.splitlines()[1:]}
    assert {"representation", "label_rates", "prediction_rates", "label_metrics", "experts", "errors"} <= sections


def test_the_report_names_attributes_groups_and_feature_families_as_the_tenant_does():
    """The analysis works on keys; the report shows the names (core.interviews.api.report_names) in
    the reader's language: its tables, findings and feature families."""
    from plugins.ethics_model.analysis import FAMILY_NAMES

    evaluation, groups, features = generated_evaluation(n=200, all_experts_biased=True, n_features=2,
                                                         proxy_family="face")
    names = {"attributes": {"gender": ["性別", "Gender"], "age_band": ["年齢層", "Age band"]},
             "groups": {"gender": {"female": ["女性", "Female"], "male": ["男性", "Male"]}},
             "families": FAMILY_NAMES}
    named = analyse_evaluation(evaluation, groups, ["gender", "age_band"], FairnessSettings(), features=features,
                               names=names)
    assert named["ablation"]["rows"], "no feature families: the check proves nothing"
    ja, en = report_html(named, "ja", standalone=False), report_html(named, "en", standalone=False)
    assert "<td>性別</td><td>女性</td>" in ja and "<td>顔の表情と動き</td>" in ja
    assert "<td>Gender</td><td>Female</td>" in en and "<td>Face expressions and movements</td>" in en
    assert not any(f"<td>{key}</td>" in ja for key in ("gender", "female", "male", "face"))
    assert any("性別 = 女性" in f["ja"] and "Gender = Female" in f["en"] for f in named["findings"])
