"""AI-ethics reports as people read them: HTML with plots, PDF, CSV (public API for plugins).

A report is the JSON-able dict the AI-ethics options store (see docs/plugins.md, "Fairness
analysis"); this module only presents it. Plots are matplotlib PNGs inlined as data URIs,
so one HTML document serves the page and the PDF. The PDF is rendered by WeasyPrint with
the Noto CJK fonts (Debian's fonts-noto-cjk) embedded, so Japanese survives printing.
"""

from __future__ import annotations

import base64
import csv
import io
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from core import csv_output
from core.fairness import UNDISCLOSED, attribute_name, family_name, group_name

CJK_FONTS = ["Noto Sans CJK JP", "Noto Serif CJK JP", "DejaVu Sans"]
TEMPLATES = Path(__file__).parent / "web" / "templates"


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["font.family"] = "sans-serif"
    plt.rcParams["font.sans-serif"] = CJK_FONTS
    return plt


def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    _figure().close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def rate_chart(rows: list[dict[str, Any]], title: str, impact_ratio_min: float,
               label: Callable[[str, Any], str] = lambda category, group: f"{category}: {group}") -> str | None:
    """Bars of the scoring rate per group of each single attribute, with 95 % intervals and the
    four-fifths line of each attribute (each bar named `label(category, group)`); None when there
    is nothing to draw."""
    rows = [r for r in rows if " × " not in r["category"]]
    if not rows:
        return None
    plt = _figure()
    fig, ax = plt.subplots(figsize=(7.5, 0.32 * len(rows) + 1.2))
    labels = [label(r["category"], r["group"]) for r in rows]
    rates = [r["rate"] or 0 for r in rows]
    low = [max(0.0, (r["rate"] or 0) - (r["rate_low"] or 0)) for r in rows]
    high = [max(0.0, (r["rate_high"] or 0) - (r["rate"] or 0)) for r in rows]
    colours = ["#c0392b" if r["flagged"] else ("#999999" if r["small"] else "#2e86c1") for r in rows]
    positions = list(range(len(rows)))
    ax.barh(positions, rates, xerr=[low, high], color=colours, capsize=3)
    for category in dict.fromkeys(r["category"] for r in rows):
        members = [i for i, r in enumerate(rows) if r["category"] == category]
        best = max((rows[i]["rate"] or 0) / (rows[i]["impact_ratio"] or 1) if rows[i]["impact_ratio"] else 0
                   for i in members)
        ax.vlines(best * impact_ratio_min, min(members) - 0.4, max(members) + 0.4, colors="#555555",
                  linestyles="dashed")
    ax.set_yticks(positions, labels)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("rate / 合格率")
    ax.set_title(title)
    return _png(fig)


def drift_chart(name: str, before: list[int], after: list[int], scale_min: float, scale_max: float) -> str:
    """The previous and the current month's score distributions, as shares per bin."""
    plt = _figure()
    fig, ax = plt.subplots(figsize=(6, 2.6))
    bins = len(after)
    width = (scale_max - scale_min) / bins
    centres = [scale_min + width * (i + 0.5) for i in range(bins)]
    total_b, total_a = max(1, sum(before)), max(1, sum(after))
    ax.bar([c - width * 0.2 for c in centres], [b / total_b for b in before], width=width * 0.4,
           label="previous / 前月", color="#999999")
    ax.bar([c + width * 0.2 for c in centres], [a / total_a for a in after], width=width * 0.4,
           label="this month / 今月", color="#2e86c1")
    ax.set_title(name)
    ax.set_xlabel("score / スコア")
    ax.legend()
    return _png(fig)


def charts(report: dict[str, Any], language: str = "ja") -> dict[str, Any]:
    """Every chart of a report: {"items": {item key: [data URI, ...]}, "drift": {item key: data URI}};
    groups named as the report names them in `language`."""
    ratio = report.get("settings", {}).get("impact_ratio_min", 0.8)

    def label(category: str, group: Any) -> str:
        return f"{attribute_name(report, category, language)}: {group_name(report, category, group, language)}"

    out: dict[str, Any] = {"items": {}, "drift": {}}
    for item in report.get("items", []):
        pictures = []
        for source, title in (("label_rates", "expert evaluations / 専門家の評価"),
                              ("prediction_rates", "AI predictions / AIの予測")):
            picture = rate_chart(item.get(source, []), f"{item['name']}: {title}", ratio, label)
            if picture:
                pictures.append(picture)
        out["items"][item["key"]] = pictures
    for key, d in ((report.get("drift") or {}).get("items") or {}).items():
        if d.get("before") and d.get("after"):
            out["drift"][key] = drift_chart(d.get("name", key), d["before"], d["after"], d["scale_min"], d["scale_max"])
    return out


def _context(report: dict[str, Any], language: str) -> dict[str, Any]:
    from core.web.rendering import tokyo_time

    made_at = report.get("made_at") or ""
    return {"report": report, "charts": charts(report, language), "lang": language, "UNDISCLOSED": UNDISCLOSED,
            "expert_names": report.get("expert_names", {}),
            "attribute_name": lambda category: attribute_name(report, category, language),
            "group_name": lambda category, group: group_name(report, category, group, language),
            "family_name": lambda family: family_name(report, family, language),
            "made_at": tokyo_time(datetime.fromisoformat(made_at)) if made_at else ""}


def report_html(report: dict[str, Any], language: str, *, standalone: bool) -> str:
    """The report as HTML: the body fragment for a page, or a whole printable document."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    from core.web import i18n

    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]),
                      extensions=["jinja2.ext.i18n"])
    env.install_gettext_callables(gettext=i18n.gettext, ngettext=i18n.ngettext, newstyle=True)
    token = i18n.current_language.set(language)
    try:
        template = env.get_template("fairness/report_document.html" if standalone else "fairness/report_body.html")
        return template.render(**_context(report, language))
    finally:
        i18n.current_language.reset(token)


def report_pdf(report: dict[str, Any], language: str) -> bytes:
    """The report as a PDF (A4), Japanese fonts embedded."""
    from weasyprint import HTML

    return HTML(string=report_html(report, language, standalone=True)).write_pdf()


CSV_COLUMNS = ["section", "item", "category", "group", "n", "share", "rate", "rate_low", "rate_high",
               "impact_ratio", "small", "flagged", "expert", "mean", "paired_gap", "mae", "spearman",
               "disparate_impact", "statistical_parity_difference", "equal_opportunity_difference",
               "average_odds_difference", "theil_index", "p_value"]


def report_csv(report: dict[str, Any]) -> str:
    """Every table of the report as one CSV (UTF-8 with BOM for spreadsheet programs)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()

    def write(values: dict[str, Any]) -> None:
        # Group names and expert names are typed by people: no formula may reach a spreadsheet.
        writer.writerow(csv_output.record(values))

    for row in report.get("representation", []):
        write({"section": "representation", "category": row["attribute"],
                         "group": row["group"] or "missing", "n": row["n"], "share": row["share"]})
    for item in report.get("items", []):
        for section in ("label_rates", "prediction_rates"):
            for row in item.get(section, []):
                write({"section": section, "item": item["key"], **row})
        for section in ("label_metrics", "prediction_metrics", "errors"):
            for row in item.get(section, []):
                write({"section": section, "item": item["key"], "category": row["attribute"], **row})
        for row in item.get("experts", []):
            write({"section": "experts", "item": item["key"], "category": row["attribute"],
                             "expert": report.get("expert_names", {}).get(row["expert_id"], row["expert_id"]),
                             **{k: v for k, v in row.items() if k != "expert_id"}})
    for row in (report.get("ablation") or {}).get("rows", []):
        for g in row.get("groups", []):
            write({"section": f"ablation:{row['family']}", "item": report["ablation"]["item"],
                             "category": g["category"], "group": g["group"], "impact_ratio": g["impact_ratio"],
                             "mae": row.get("mae")})
    return "\ufeff" + out.getvalue()
