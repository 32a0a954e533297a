# Shared helpers for the ci/ job scripts (sourced, not run).
# shellcheck shell=bash
# Each job records "<job> <passed> <failed>" lines into $MEMBUF_RESULTS when ci/test.sh sets it.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The running script's path and the argument helpers (ci_usage, ci_die, ci_uint, ...).
source "$(dirname "${BASH_SOURCE[0]}")/args.sh"
cd "$ROOT" || exit 2

# JOBS: parallel build and test jobs (default: the number of cores).
[ -n "${JOBS:-}" ] || JOBS=$(nproc)
ci_uint JOBS "$JOBS" 1 1024

say() { printf '[%s] %s\n' "${JOB_NAME:-ci}" "$*"; }
run() { say "+ $*"; "$@"; }

# record PASSED FAILED: add this job's counts to the run's tally.
record() {
  [ -n "${MEMBUF_RESULTS:-}" ] && echo "${JOB_NAME:-ci} $1 $2" >>"$MEMBUF_RESULTS"
  return 0
}

# build_preset PRESET [cmake -D args...]: configure (if needed) and build build/PRESET.
build_preset() {
  local preset=$1; shift
  run cmake --preset "$preset" "$@" >/dev/null
  run cmake --build --preset "$preset" -j "$JOBS"
}

# ctest_preset PRESET [ctest args...]: runs ctest, records its counts, returns its status.
ctest_preset() {
  local preset=$1; shift
  local log
  log=$(mktemp)
  local rc=0
  say "+ ctest --test-dir build/$preset $*"
  ctest --test-dir "build/$preset" --output-on-failure -j "$JOBS" "$@" 2>&1 | tee "$log" || rc=$?
  # ctest's summary: "100% tests passed, 0 tests failed out of 12"
  local line total failed
  line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1 || true)
  if [ -z "$line" ]; then
    say "no ctest summary found: counting the job as one failure"
    record 0 1
    rm -f "$log"
    return 1
  fi
  failed=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
  total=$(sed -E 's/.* failed out of ([0-9]+).*/\1/' <<<"$line")
  record $((total - failed)) "$failed"
  rm -f "$log"
  [ "$rc" -eq 0 ] && [ "$failed" -eq 0 ]
}

verdict() {
  if [ "$1" -eq 0 ]; then say "PASS"; else say "FAIL"; fi
  return "$1"
}
