#!/usr/bin/env bash
# The benchmark runs behind the README's numbers (issues 3 and 6), for a
# quiet machine: nothing else running, the benchmark on the same 2 cores.
#
#   tools/bench/run-all.sh                 # every step below, in order (~55 min)
#   tools/bench/run-all.sh instant echo    # only the named steps
#   OUT=bench-results/x PG_URL=postgres://... tools/bench/run-all.sh lag
#
# Steps and rough wall time on a 2-core machine:
#   instant   overheadMs with zero provider latency, 20 calls x 5 turns   ~2 min
#   typical   the anchors' provider medians, 20 calls x 5 turns, barge-in ~3 min
#   lag       event-loop lag, PGlite vs a Postgres server, 4 calls each  ~2 min
#   echo      issue 3: echo calls, ramp 25 -> 600 by 25 until p99 pacing
#             jitter >= 5 ms or any loss                                 ~3-10 min
#   ramp      issue 6: full pipeline (Silero VAD, recording, simulators),
#             ramp 10 -> 400 by 10 until jitter/loss/overhead limits     ~3-15 min
#   soak      50 calls for 30 minutes (issue 6 goal), RSS and heap slopes ~31 min
#   soak-pg   (not in the default list) the same soak with the server on a
#             Postgres server: the server's own memory, without the
#             embedded database's                                         ~31 min
#   ramp-pg   (not in the default list) the full ramp with the server on a
#             Postgres server instead of PGlite: is the embedded database
#             what limits concurrency?                                   ~10-15 min
#
# Reports land in $OUT (default bench-results/<time>, gitignored): one
# .json (schema docs/bench-report.md) and one .html per step, plus the
# summary printed by each run in .txt and the machine in machine.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."

OUT=${OUT:-bench-results/$(date +%Y%m%d-%H%M%S)}
PG_URL=${PG_URL:-postgres://postgres:postgres@127.0.0.1:5432/postgres}
SOAK_S=${SOAK_S:-1800}
mkdir -p "$OUT"
STEPS=("$@")
[ ${#STEPS[@]} -eq 0 ] && STEPS=(instant typical lag echo ramp soak)

{
  date -Is
  uname -a
  lscpu 2>/dev/null | grep -E 'Model name|^CPU\(s\)|Thread|MHz' || true
  free -m 2>/dev/null || true
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  node --version
  git rev-parse HEAD 2>/dev/null || true
} > "$OUT/machine.txt"

load1=$(cut -d' ' -f1 /proc/loadavg)
if awk "BEGIN{exit !($load1 > 0.5)}"; then
  echo "warning: load average is $load1; the numbers need a quiet machine" >&2
fi

bench() { # name, flags...
  local name=$1; shift
  echo "== $name: smartalex bench $*" >&2
  local start=$SECONDS
  # Exit 1 (nothing answered) stops the script; a finished ramp exits 0.
  npx tsx tools/cli.ts bench "$@" --json "$OUT/$name.json" --html "$OUT/$name.html" | tee "$OUT/$name.txt"
  echo "== $name took $((SECONDS - start)) s" >&2
}

for step in "${STEPS[@]}"; do
  case $step in
    instant) bench instant --profile instant --calls 20 --turns 5 ;;
    typical) bench typical --profile typical --calls 20 --turns 5 --barge-in ;;
    lag)
      bench lag-pglite --profile instant --calls 4 --turns 3
      bench lag-postgres --profile instant --calls 4 --turns 3 --database-url "$PG_URL"
      ;;
    # 8 turns keep every call up (~30 s) well past the 20 ms-staggered starts (600 calls: 12 s).
    echo) bench echo-ramp --agent-mode echo --turns 8 --calls 25 --ramp --ramp-step 25 --ramp-max 600 --turn-timeout 5000 ;;
    ramp) bench full-ramp --profile instant --turns 4 --calls 10 --ramp --ramp-step 10 --ramp-max 400 ;;
    ramp-pg) bench full-ramp-postgres --profile instant --turns 4 --calls 10 --ramp --ramp-step 10 --ramp-max 400 --database-url "$PG_URL" ;;
    soak) bench soak --profile instant --calls 50 --turns 3 --duration "$SOAK_S" ;;
    soak-pg) bench soak-postgres --profile instant --calls 50 --turns 3 --duration "$SOAK_S" --database-url "$PG_URL" ;;
    *) echo "unknown step: $step (instant typical lag echo ramp ramp-pg soak soak-pg)" >&2; exit 2 ;;
  esac
done
echo "reports in $OUT" >&2
