#!/usr/bin/env bash
# Every test: installs what is missing, then runs each CI job script and ends with one line
# "N passed, M failed" summed over all jobs. Non-zero exit if anything failed.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
"$ROOT/ci/deps.sh"

MEMBUF_RESULTS=$(mktemp)
export MEMBUF_RESULTS
trap 'rm -f "$MEMBUF_RESULTS"' EXIT

jobs=(dev asan msan tsan valgrind fuzz-smoke detectors oss-fuzz-check coverage mutants install static python)
status=()
start_all=$SECONDS
for job in "${jobs[@]}"; do
  echo "=== ci/$job.sh"
  start=$SECONDS
  args=()
  [ "$job" = mutants ] && args=(--quick) # one mutant per bug class; ci/mutants.sh alone runs all
  if "$ROOT/ci/$job.sh" "${args[@]}"; then r=ok; else r=FAILED; fi
  # A job that died before recording anything still counts as a failure.
  grep -q "^$job " "$MEMBUF_RESULTS" || echo "$job 0 1" >>"$MEMBUF_RESULTS"
  status+=("$(printf '%-10s %-7s %4ds' "$job" "$r" $((SECONDS - start)))")
done

echo "=== summary ($((SECONDS - start_all))s)"
printf '%s\n' "${status[@]}"
passed=$(awk '{p += $2} END {print p + 0}' "$MEMBUF_RESULTS")
failed=$(awk '{f += $3} END {print f + 0}' "$MEMBUF_RESULTS")
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
