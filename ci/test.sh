#!/usr/bin/env bash
# Every test: installs what is missing, then runs each job of JOB_LIST below marked `test` (the
# list the GitHub workflow reads too, through --matrix) and ends with one line "N passed, M failed"
# summed over all jobs.
# Non-zero exit if anything failed.
#
# usage: ci/test.sh [JOB...]   run the test jobs, or the named jobs (test or workflow ones)
#        ci/test.sh --list     print the test jobs (name and command), run nothing
#        ci/test.sh --matrix   print every job as the workflow's matrix (JSON), run nothing
#        ci/test.sh --help
#   JOBS            parallel build and test jobs within each job (default: the number of cores)
#   MEMBUF_RESULTS  set by this script for the jobs: the file their counts are recorded in
# A job's counts are what it records; a job that exits non-zero without recording a failure
# counts one failure more, and a job that records nothing counts as one test, passed or failed
# by its exit status.
set -euo pipefail
# shellcheck source=ci/lib.sh
source "$(dirname "$0")/lib.sh"
# ---- the job list: the one list, also the workflow's (its matrix is `ci/test.sh --matrix`) ----
# "WHERE JOB COMMAND": WHERE is test (this script runs it, in this order, and the workflow runs
# it as one matrix entry) or workflow (only the workflow: too long for 15 minutes on 2 cores);
# COMMAND is a script of this repository and its arguments, words without quoting or shell syntax.
JOB_LIST=(
  "test dev ci/dev.sh"
  "test asan ci/asan.sh"
  "test msan ci/msan.sh"
  "test tsan ci/tsan.sh"
  "test valgrind ci/valgrind.sh"
  "test fuzz-smoke ci/fuzz-smoke.sh"
  "test hostile tests/hostile.sh"
  "test detectors ci/detectors.sh"
  "test oss-fuzz-check ci/oss-fuzz-check.sh"
  "test coverage ci/coverage.sh"
  "test mutants-quick ci/mutants.sh --quick"
  "test install ci/install.sh"
  "test static ci/static.sh"
  "test python ci/python.sh"
  "workflow fuzz ci/fuzz.sh"
  "workflow mutants ci/mutants.sh"
  "workflow verify-allocators ci/verify-allocators.sh"
)
where=() name=() cmd=()
for entry in "${JOB_LIST[@]}"; do
  read -r w j rest <<<"$entry"
  where+=("$w") name+=("$j") cmd+=("$rest")
done

selected=()
mode=run
for arg in "$@"; do
  case "$arg" in
    -h | --help) ci_usage; exit 0 ;;
    --list) mode=list ;;
    --matrix) mode=matrix ;;
    -*) ci_die "unknown option '$(ci_printable "$arg")' (see --help)" ;;
    *) selected+=("$arg") ;;
  esac
done
[ "$mode" = run ] || [ $# -eq 1 ] || ci_die "--$mode takes no other argument"

if [ "$mode" = list ]; then
  for i in "${!name[@]}"; do
    [ "${where[$i]}" = test ] && printf '%-18s %s\n' "${name[$i]}" "${cmd[$i]}"
  done
  exit 0
fi
if [ "$mode" = matrix ]; then
  # Names and commands hold no character JSON would need to escape (the list above has none).
  sep="" out='{"include":['
  for i in "${!name[@]}"; do
    out+="$sep{\"job\":\"${name[$i]}\",\"where\":\"${where[$i]}\",\"command\":\"${cmd[$i]}\"}"
    sep=,
  done
  echo "$out]}"
  exit 0
fi

run_idx=()
if [ ${#selected[@]} -eq 0 ]; then
  for i in "${!name[@]}"; do [ "${where[$i]}" = test ] && run_idx+=("$i"); done
else
  for s in "${selected[@]}"; do
    hit=""
    for i in "${!name[@]}"; do [ "${name[$i]}" = "$s" ] && hit=$i; done
    [ -n "$hit" ] || ci_die "no job '$(ci_printable "$s")' (see --list)"
    run_idx+=("$hit")
  done
fi

# ---- run ---------------------------------------------------------------------------------------
"$ROOT/ci/deps.sh"
MEMBUF_RESULTS=$(mktemp)
export MEMBUF_RESULTS
trap 'rm -f "$MEMBUF_RESULTS"' EXIT

status=()
start_all=$SECONDS
for i in "${run_idx[@]}"; do
  job=${name[$i]}
  read -r -a argv <<<"${cmd[$i]}"
  echo "=== $job: ${cmd[$i]}"
  start=$SECONDS
  before=$(wc -l <"$MEMBUF_RESULTS")
  rc=0
  "$ROOT/${argv[0]}" "${argv[@]:1}" || rc=$?
  new=$(tail -n +"$((before + 1))" "$MEMBUF_RESULTS")
  if [ -z "$new" ]; then
    # Recorded nothing: one test, decided by the exit status.
    if [ "$rc" -eq 0 ]; then echo "$job 1 0" >>"$MEMBUF_RESULTS"; else echo "$job 0 1" >>"$MEMBUF_RESULTS"; fi
  elif [ "$rc" -ne 0 ] && [ "$(awk '{ f += $3 } END { print f + 0 }' <<<"$new")" -eq 0 ]; then
    echo "$job 0 1" >>"$MEMBUF_RESULTS" # died after recording only passes
  fi
  if [ "$rc" -eq 0 ]; then r=ok; else r=FAILED; fi
  status+=("$(printf '%-18s %-7s %4ds' "$job" "$r" $((SECONDS - start)))")
done

echo "=== summary ($((SECONDS - start_all))s)"
printf '%s\n' "${status[@]}"
passed=$(awk '{p += $2} END {print p + 0}' "$MEMBUF_RESULTS")
failed=$(awk '{f += $3} END {print f + 0}' "$MEMBUF_RESULTS")
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
