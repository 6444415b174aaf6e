#!/usr/bin/env bash
# The whole suite N times in a row (default 3) with a CPU hog on every core, to shake out tests
# that race (one that polls for one thing and asserts another written later). Arguments after
# the count go to pytest. Stops at the first failing pass; prints one line per pass and a last
# line of JSON: passes, failed_pass (null when none), seconds per pass, cores, hog.
#   ./scripts/test-under-load.sh [N] [pytest arguments...]
# The hog is Debian's stress-ng (`stress-ng --cpu 0`: one worker per core), else a Python loop per core.
set -euo pipefail
cd "$(dirname "$0")/.."

passes="${1:-3}"
shift || true
cores="$(nproc)"
mkdir -p test-artifacts

if command -v stress-ng >/dev/null; then
  setsid stress-ng --cpu 0 --quiet &
  hog_name="stress-ng --cpu 0"
else
  setsid python3 -c 'import multiprocessing as m
def spin():
    while True: pass
for _ in range(m.cpu_count()): m.Process(target=spin).start()' &
  hog_name="python loop x ${cores}"
fi
hog=$!  # a session of its own (setsid): its whole process group goes at the end
trap 'kill -- "-$hog" 2>/dev/null || true' EXIT

seconds=()
failed=null
for pass in $(seq "$passes"); do
  start=$(date +%s)
  if ./scripts/test.sh -p no:cacheprovider -q --basetemp="/tmp/mendan-under-load-$pass" \
      --junitxml="test-artifacts/under-load-$pass.xml" "$@" > "test-artifacts/under-load-$pass.log" 2>&1; then
    ok=passed
  else
    ok=failed
    failed=$pass
  fi
  seconds+=("$(( $(date +%s) - start ))")
  echo "pass $pass: $ok in ${seconds[-1]} s ($(tail -n 1 "test-artifacts/under-load-$pass.log"))"
  [ "$ok" = passed ] || break
done

printf '{"passes": %s, "failed_pass": %s, "seconds": [%s], "cores": %s, "hog": "%s"}\n' \
  "$passes" "$failed" "$(IFS=,; echo "${seconds[*]}")" "$cores" "$hog_name"
[ "$failed" = null ]
