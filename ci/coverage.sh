#!/usr/bin/env bash
# clang source-based coverage of src/ from the unit tests + corpus replay (all ctest entries),
# plus a second figure from corpus replay alone. HTML report in build/coverage/coverage-html/.
# Fails below COVERAGE_MIN (default 95) percent line coverage of src/.
set -euo pipefail
JOB_NAME=coverage
source "$(dirname "$0")/lib.sh"
min=${COVERAGE_MIN:-95}
bdir="$ROOT/build/coverage"
build_preset coverage

# report NAME CTEST_ARGS...: runs the selected tests with profiling, prints src/ line coverage.
report() {
  local name=$1; shift
  local prof="$bdir/prof-$name"
  rm -rf "$prof"; mkdir -p "$prof"
  LLVM_PROFILE_FILE="$prof/%p-%m.profraw" ctest --test-dir "$bdir" -j "$JOBS" "$@" >"$prof/ctest.log" 2>&1 \
    || { say "ctest failed during coverage run ($name): see $prof/ctest.log"; return 1; }
  llvm-profdata merge -sparse "$prof"/*.profraw -o "$prof/merged.profdata"
  local objs=() f
  while IFS= read -r f; do objs+=(-object "$f"); done < <(find "$bdir" -type f -perm -u+x \
    \( -name 'test_*' -o -name 'fuzz_*' -o -name 'consumer*' -o -name 'pool_bugs' \) | sort)
  llvm-cov report "${objs[@]:1}" -instr-profile="$prof/merged.profdata" "$ROOT"/src/*.c \
    >"$prof/report.txt"
  if [ "$name" = all ]; then
    llvm-cov show "${objs[@]:1}" -instr-profile="$prof/merged.profdata" -format=html \
      -output-dir="$bdir/coverage-html" "$ROOT"/src/*.c
  fi
  # TOTAL row: Regions Missed Cover Functions Missed Executed Lines Missed Cover ...
  awk '/^TOTAL/ {print $10}' "$prof/report.txt" | tr -d '%'
}

all=$(report all)
corpus=$(report corpus -R '^corpus_') || corpus="n/a"
cat "$bdir/prof-all/report.txt"
say "line coverage of src/: ${all}% (unit tests + corpus), ${corpus}% (corpus replay alone)"
say "HTML: $bdir/coverage-html/index.html"
if awk -v c="$all" -v m="$min" 'BEGIN {exit !(c >= m)}'; then
  record 1 0; verdict 0
else
  say "below the ${min}% gate"; record 0 1; verdict 1
fi
