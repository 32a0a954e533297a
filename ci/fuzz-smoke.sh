#!/usr/bin/env bash
# Fuzz smoke: build the fuzz preset (clang, libFuzzer, ASan+UBSan) and run every target for
# FUZZ_SMOKE_SECONDS (default 10) from the checked-in corpus, one process each, through
# ci/fuzz.sh (so a finding is minimised and printed the same way). One result per target.
set -euo pipefail
JOB_NAME=fuzz-smoke
source "$(dirname "$0")/lib.sh"
seconds=${FUZZ_SMOKE_SECONDS:-10}
rc=0
build_preset fuzz || { record 0 1; verdict 1; }
passed=0 failed=0
for f in "$ROOT"/fuzz/fuzz_*.c; do
  t=$(basename "$f" .c)
  if FUZZ_SECONDS=$seconds FUZZ_JOBS=1 FUZZ_WORKDIR="$ROOT/build/fuzz/smoke" \
       run "$ROOT/ci/fuzz.sh" --no-build "$t"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1)) rc=1
  fi
done
if [ $((passed + failed)) -eq 0 ]; then
  say "no fuzz targets found in fuzz/"
  failed=1 rc=1
fi
record "$passed" "$failed"
verdict $rc
