#!/usr/bin/env bash
# Fuzz smoke: build the fuzz preset (clang, libFuzzer, ASan+UBSan) and run every target for
# FUZZ_SMOKE_SECONDS from the checked-in corpus, one process each, through ci/fuzz.sh (so a
# finding is triaged the same way). One result per target; then the ASan build of membuf-ops runs
# each target's corpus (one result per target).
#
# usage: ci/fuzz-smoke.sh [-h|--help]
#   FUZZ_SMOKE_SECONDS  seconds per target (default 10, 1 to 3600)
# Work directory: build/fuzz-smoke/ (one run-* directory per run; older ones pruned by ci/fuzz.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/args.sh" # ci_die, ci_printable, ci_usage, ci_uint, ci_env_uint
case "${1-}" in
  '') [ $# -eq 0 ] || ci_die "unknown argument '' (see --help)" ;;
  -h | --help)
    [ $# -eq 1 ] || ci_die "--help takes no further argument"
    awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"
    exit 0 ;;
  *) ci_die "unknown argument '$(ci_printable "$1")' (see --help)" ;;
esac
seconds=${FUZZ_SMOKE_SECONDS:-10}
if ! [[ "$seconds" =~ ^[1-9][0-9]{0,8}$ ]] || ((seconds > 3600)); then
  ci_die "FUZZ_SMOKE_SECONDS must be an integer from 1 to 3600, got '$(ci_printable "$seconds")'"
fi
export JOB_NAME=fuzz-smoke
source "$(dirname "$0")/lib.sh"
rc=0
build_preset fuzz || { record 0 1; verdict 1; }
passed=0 failed=0
for f in "$ROOT"/fuzz/fuzz_*.c; do
  [ -f "$f" ] || continue
  t=$(basename "$f" .c)
  if FUZZ_SECONDS=$seconds FUZZ_JOBS=1 FUZZ_WORKDIR="$ROOT/build/fuzz-smoke" \
       run "$ROOT/ci/fuzz.sh" --no-build "$t"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1)) rc=1
  fi
done
# The triage tool as ci/triage.sh runs it (the ASan+LSan build): over every target's checked-in
# corpus it must pass each input and exit cleanly (a leak in the tool itself fails triage).
mkdir -p "$ROOT/build/fuzz-smoke"
for d in "$ROOT"/corpus/fuzz_*/; do
  t=$(basename "$d")
  mapfile -t inputs < <(find "$d" -type f ! -name 'README*' ! -name '.*' | sort)
  [ ${#inputs[@]} -gt 0 ] || continue
  if run "$ROOT/build/fuzz/tools/membuf-ops" -t "$t" run "${inputs[@]}" >"$ROOT/build/fuzz-smoke/membuf-ops-$t.log" 2>&1; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1)) rc=1
    say "membuf-ops run over corpus/$t failed: $(grep -m 3 -E 'FAILED|ERROR|membuf' "$ROOT/build/fuzz-smoke/membuf-ops-$t.log" | tr '\n' ' ')"
  fi
done
if [ $((passed + failed)) -eq 0 ]; then
  say "no fuzz targets found in fuzz/"
  failed=1 rc=1
fi
record "$passed" "$failed"
verdict $rc
