"""Build time, cross-validated Spearman and prediction latency of the evaluation models.

    python bench/ai_model.py --interviews 50   (also 500, 5000)

Features are synthetic (plugins/ai_model/synthetic.py). Goals on 2 cores: at most
30 s for 50 interviews with cross-validation, 5 minutes for 5,000.
"""

from __future__ import annotations

import argparse
import json
import time

from plugins.ai_model.synthetic import synthetic_interviews
from core.model_training import ItemSpec, build, load_model, predict


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--interviews", type=int, default=50)
    parser.add_argument("--noise-features", type=int, default=60)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    features, labels = synthetic_interviews(args.interviews, noise_features=args.noise_features)
    items = [ItemSpec(key, key, 1, 5) for key in labels.columns]
    started = time.perf_counter()
    result = build(features, labels, items, threads=args.threads,
                   progress=lambda p, m: print(f"{p:3d}% {m}", flush=True) if p % 20 == 0 else None)
    build_s = time.perf_counter() - started
    item = items[0]
    model = load_model(result.items[item.key].model_bytes)
    row = features.iloc[0].to_dict()
    predict(model, item, result.feature_names, row)  # warm-up
    repeats = 50
    started = time.perf_counter()
    for _ in range(repeats):
        predict(model, item, result.feature_names, row)
    predict_ms = (time.perf_counter() - started) * 1000 / repeats
    spearman = {key: round(r.metrics["spearman"], 3) for key, r in result.items.items()}
    for key, r in result.items.items():
        print(key, {k: round(v, 3) for k, v in r.metrics.items()})
    print(json.dumps({
        "interviews": args.interviews,
        "features": len(result.feature_names),
        "items": len(items),
        "build_s": round(build_s, 2),
        "cv_spearman": round(min(spearman.values()), 3),
        "cv_spearman_per_item": spearman,
        "predict_ms": round(predict_ms, 2),
    }))


if __name__ == "__main__":
    main()
