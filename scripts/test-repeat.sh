#!/usr/bin/env bash
# Runs the whole test suite N times in a row and prints one line per run and a
# summary, so anyone can hunt flaky tests the way CI meets them:
#   scripts/test-repeat.sh 10                 ten plain runs
#   scripts/test-repeat.sh 5 --stress         five runs with `stress-ng --cpu 2` busy beside them
#   SMARTALEX_TEST_JOBS=4 scripts/test-repeat.sh 5
# Each run's full output is kept in $TMPDIR/smartalex-test-repeat.*/run-K.log.
set -uo pipefail
cd "$(dirname "$0")/.."

runs=${1:?usage: scripts/test-repeat.sh N [--stress]}
stress=${2:-}
logs=$(mktemp -d "${TMPDIR:-/tmp}/smartalex-test-repeat.XXXXXX")
stress_pid=
if [ "$stress" = --stress ]; then
  command -v stress-ng >/dev/null || { echo "stress-ng is not installed (Debian: stress-ng)" >&2; exit 2; }
  stress-ng --cpu 2 --quiet & stress_pid=$!
fi
trap '[ -n "$stress_pid" ] && kill "$stress_pid" 2>/dev/null' EXIT

passed=0
declare -A failures=()
for k in $(seq 1 "$runs"); do
  start=$(date +%s)
  npx tsx test/run.ts >"$logs/run-$k.log" 2>&1
  code=$?
  secs=$(( $(date +%s) - start ))
  summary=$(grep -E '^[0-9]+/[0-9]+ test files passed' "$logs/run-$k.log" | tail -1)
  failed=$(grep -E '^FAIL ' "$logs/run-$k.log" | awk '{print $2}' | tr '\n' ' ')
  if [ "$code" = 0 ]; then passed=$((passed + 1)); fi
  for f in $failed; do failures[$f]=$(( ${failures[$f]:-0} + 1 )); done
  echo "run $k/$runs: ${summary:-no summary (exit $code)} in ${secs} s${failed:+; failed: $failed}"
done
echo "summary: $passed/$runs runs passed${stress:+ (with stress-ng --cpu 2)}, SMARTALEX_TEST_JOBS=${SMARTALEX_TEST_JOBS:-2}; logs in $logs"
for f in "${!failures[@]}"; do echo "  $f failed in ${failures[$f]} run(s)"; done
[ "$passed" = "$runs" ]
