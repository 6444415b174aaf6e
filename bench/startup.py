"""How long `mendan --help` takes: every command of the CLI loads the installed plugins, so a
plugin that imports a heavy library at module level slows down every command.

    python bench/startup.py [--runs 7]

Prints the median wall time of `mendan --help` (help_s), of `python -c pass` (python_s)
on the same interpreter, and their ratio, which says more than seconds on a loaded
machine. Goal: help_s under 1.5 s on the project's 2-core machines.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

HELP = [sys.executable, "-c", "from mendan.cli import main; main()", "--help"]
PASS = [sys.executable, "-c", "pass"]


def median_seconds(command: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    median_seconds(HELP, 1)  # warm the file cache (.pyc files, shared libraries)
    help_s = median_seconds(HELP, args.runs)
    python_s = median_seconds(PASS, args.runs)
    print(f"mendan --help: median {help_s:.3f} s over {args.runs} runs")
    print(f"python -c pass: median {python_s:.3f} s")
    print(json.dumps({"help_s": round(help_s, 3), "python_s": round(python_s, 3),
                      "ratio": round(help_s / python_s, 1), "runs": args.runs}))


if __name__ == "__main__":
    main()
