"""Each staff role's main screens, one request at a time: how long each answers, cold and warm.

    python bench/pages.py [--db sqlite|postgres] [--interviews 60] [--rounds 20] [--keep DIR]

Makes a demo tenant with the product's own command, `mendan demo --interviews N` (recorded,
analysed and evaluated interviews and a first AI model: about 20 minutes for 60 on two busy
cores, with the model files of `mendan models fetch` where MENDAN_MODELS_DIR says), in a fresh
data folder and database (PostgreSQL: a database of its own on --server, dropped afterwards);
with `--keep DIR` (SQLite only) the data folder DIR is made once and reused, so later runs start
at once. It starts `mendan serve`, signs the demo's admin, interviewer and expert in through the
sign-in form (bench/load.py's helpers), and has each open the main screens its role may see: home,
interviews, one analysed interview (results, AI scores, the evaluation form), the evaluation queue,
people, jobs, question sets, the AI model page, the video analysis page and, for admins, billing.
A screen that answers 403 or 404 for a role is left out and said so; a 5xx stops the bench.

Cold: a role's first request of a screen (for the admin, who goes first, also the server process's
first). Warm: then `--rounds` rounds over the role's screens in turn. Prints a table per role and
screen (cold, p50, p95, max in ms), the load average before and after, and a last line of JSON:
p95_ms (the worst screen's warm p95), worst (its role/screen), screens ({role/screen: cold_ms,
p50_ms, p95_ms}), db, rounds, interviews, load_1min. Target: p95_ms <= 300 for every screen.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)  # the repository's packages, as bench/load.py does

from bench.load import (HTML, MENDAN, environment, free_port, percentile, postgres, sign_in,  # noqa: E402
                        start_server, stop_server)
from mendan.cli import DEMO_PASSWORD, DEMO_USERS  # noqa: E402

SLUG = "demo"  # `mendan demo`'s own, so --keep takes a folder that `mendan demo` (or start.sh) made
ROLES = ("admin", "interviewer", "expert")
TARGET_MS = 300


def paths(interview_id: str) -> dict[str, str]:
    base = f"/t/{SLUG}"
    return {"home": f"{base}/", "interviews": f"{base}/interviews", "interview": f"{base}/interviews/{interview_id}",
            "to_evaluate": f"{base}/interviews/to-evaluate", "people": f"{base}/people", "jobs": f"{base}/jobs",
            "question_sets": f"{base}/question-sets", "ai_model": f"{base}/ai_model/",
            "video_analysis": f"{base}/video_analysis/", "billing": f"{base}/billing/"}


async def timed_get(client: httpx.AsyncClient, path: str) -> tuple[int, float]:
    """(status, seconds until the whole answer was read)."""
    started = time.perf_counter()
    answer = await client.get(path, headers=HTML)
    return answer.status_code, time.perf_counter() - started


async def measure(base_url: str, rounds: int) -> dict[str, dict]:
    """Every role's screens: {"role/screen": {"cold": s, "warm": [s, ...]}}, in the order opened."""
    figures: dict[str, dict] = {}
    emails = {role: email for role, email, _name in DEMO_USERS}
    for role in ROLES:
        async with httpx.AsyncClient(base_url=base_url, timeout=120) as client:
            await sign_in(client, emails[role], slug=SLUG, password=DEMO_PASSWORD)
            listed = await client.get(f"/t/{SLUG}/interviews", headers=HTML)
            found = re.search(rf"/t/{SLUG}/interviews/([0-9a-f-]{{36}})", listed.text)
            if found is None:
                raise SystemExit(f"the {role} sees no interview: was the demo made with --interviews 0?")
            screens = []
            for screen, path in paths(found.group(1)).items():
                status, seconds = await timed_get(client, path)
                if status >= 500:
                    raise SystemExit(f"{screen} ({path}) answered {status} for the {role}")
                if status != 200:
                    print(f"{role}: {screen} answers {status}, left out")
                    continue
                screens.append((screen, path))
                figures[f"{role}/{screen}"] = {"cold": seconds, "warm": []}
            for _ in range(rounds):
                for screen, path in screens:
                    status, seconds = await timed_get(client, path)
                    if status != 200:
                        raise SystemExit(f"{screen} ({path}) answered {status} for the {role} on a later request")
                    figures[f"{role}/{screen}"]["warm"].append(seconds)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--interviews", type=int, default=60, help="demo interviews to make (`mendan demo`'s default)")
    parser.add_argument("--rounds", type=int, default=20, help="warm requests per role and screen")
    parser.add_argument("--keep", type=Path, help="data folder to make once and reuse (SQLite only)")
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432", help="PostgreSQL server")
    args = parser.parse_args()
    if args.keep and args.db != "sqlite":
        parser.error("--keep keeps a SQLite data folder; PostgreSQL runs get a fresh database")
    data_dir = args.keep or Path(tempfile.mkdtemp(prefix="mendan-bench-pages-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    server_url = args.server.rstrip("/")
    database = f"mendan_bench_pages_{secrets.token_hex(4)}"
    if args.db == "postgres":
        asyncio.run(postgres(server_url, f"CREATE DATABASE {database}"))
        env = environment(data_dir, f"{server_url}/{database}", None)
    else:
        env = environment(data_dir, f"sqlite:///{data_dir / 'mendan.sqlite'}", None)
    if os.environ.get("MENDAN_MODELS_DIR"):  # the demo's analysis needs the fetched model files
        env["MENDAN_MODELS_DIR"] = os.environ["MENDAN_MODELS_DIR"]
    server = None
    try:
        print(f"making the demo tenant in {data_dir} (minutes for new interviews)", flush=True)
        started = time.monotonic()
        # Safe to run again: a kept folder that has its interviews is only migrated.
        subprocess.run([MENDAN, "demo", "--slug", SLUG, "--interviews", str(args.interviews)], env=env, cwd=ROOT,
                       check=True, stdout=subprocess.DEVNULL)
        print(f"demo tenant ready in {time.monotonic() - started:.0f} s")
        load_before = os.getloadavg()[0]
        port = free_port()
        server = start_server(env, port, 1, data_dir / "serve.log")
        logging.getLogger("httpx").setLevel(logging.WARNING)
        figures = asyncio.run(measure(f"http://127.0.0.1:{port}", args.rounds))
        load_after = os.getloadavg()[0]
    finally:
        if server is not None:
            stop_server(server)
        if args.db == "postgres":
            asyncio.run(postgres(server_url, f"DROP DATABASE {database} WITH (FORCE)"))
    if not args.keep:  # kept after a failure, for its serve.log
        shutil.rmtree(data_dir)

    screens = {name: {"cold_ms": round(f["cold"] * 1000, 1), "p50_ms": round(percentile(f["warm"], 50), 1),
                      "p95_ms": round(percentile(f["warm"], 95), 1), "max_ms": round(max(f["warm"]) * 1000, 1)}
               for name, f in figures.items()}
    print(f"{'role/screen':28s} {'cold ms':>8s} {'p50 ms':>8s} {'p95 ms':>8s} {'max ms':>8s}")
    for name, f in screens.items():
        late = "  > target" if f["p95_ms"] > TARGET_MS else ""
        print(f"{name:28s} {f['cold_ms']:8.1f} {f['p50_ms']:8.1f} {f['p95_ms']:8.1f} {f['max_ms']:8.1f}{late}")
    print(f"load average (1 min): {load_before:.2f} before, {load_after:.2f} after, on {os.cpu_count()} cores")
    worst = max(screens, key=lambda name: screens[name]["p95_ms"])
    print(json.dumps({"p95_ms": screens[worst]["p95_ms"], "worst": worst, "target_ms": TARGET_MS,
                      "screens": {n: {k: f[k] for k in ("cold_ms", "p50_ms", "p95_ms")} for n, f in screens.items()},
                      "db": args.db, "rounds": args.rounds, "interviews": args.interviews,
                      "load_1min": round(load_after, 2)}))


if __name__ == "__main__":
    main()
