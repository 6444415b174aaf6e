"""Time to make an AI-ethics report of a model version, for 5,000 interviews by default.

    python bench/ethics.py --interviews 5000

Generated data (plugins/ethics_model/synthetic.py): two protected attributes (so three
categories with the intersection), three experts, a planted expert bias, and 3 features per
family for the ablation. report_s covers the analysis (rates, aif360 metrics, expert
disparity, errors, the feature-family ablation with CatBoost) and the PDF (the HTML with its
charts, laid out, Japanese fonts subset and embedded), after one warm-up on a small set so
library imports are not counted; report_cpu_s is the CPU time of the same, which a busy
machine does not inflate. Target: report_s <= 10 on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import time

from core.fairness import FairnessSettings
from core.fairness_report import report_csv, report_html, report_pdf
from plugins.ethics_model.analysis import analyse_evaluation
from plugins.ethics_model.synthetic import generated_evaluation

ATTRIBUTES = ["gender", "age_band"]


def make_report(n: int) -> dict[str, float]:
    evaluation, groups, features = generated_evaluation(n, biased_expert="expert-b", n_features=3)
    timings: dict[str, float] = {}
    started, cpu = time.perf_counter(), time.process_time()
    report = analyse_evaluation(evaluation, groups, ATTRIBUTES, FairnessSettings(), features=features)
    timings["analysis_s"] = time.perf_counter() - started
    mark = time.perf_counter()
    pdf = report_pdf(report, "ja")  # renders the HTML with its charts, then lays it out
    timings["pdf_s"] = time.perf_counter() - mark
    timings["report_s"] = time.perf_counter() - started
    timings["report_cpu_s"] = time.process_time() - cpu
    mark = time.perf_counter()
    report_html(report, "ja", standalone=False)
    report_csv(report)
    timings["page_s"] = time.perf_counter() - mark  # the report page alone, as a browser gets it
    timings["risk"] = report["risk"]
    timings["pdf_bytes"] = len(pdf)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--interviews", type=int, default=5000)
    args = parser.parse_args()
    make_report(100)  # warm-up: imports of aif360, matplotlib, WeasyPrint, CatBoost
    timings = make_report(args.interviews)
    print(f"{args.interviews} interviews: analysis {timings['analysis_s']:.2f} s + PDF {timings['pdf_s']:.2f} s = "
          f"report {timings['report_s']:.2f} s ({timings['report_cpu_s']:.2f} s CPU); page alone "
          f"{timings['page_s']:.2f} s; risk {timings['risk']}")
    print(json.dumps({"interviews": args.interviews, **{k: round(v, 3) if isinstance(v, float) else v
                                                        for k, v in timings.items()}}))


if __name__ == "__main__":
    main()
