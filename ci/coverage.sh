#!/usr/bin/env bash
# clang source-based coverage of src/ from the unit tests + corpus replay (all ctest entries),
# plus a second figure from corpus replay alone (ctest -L corpus). Prints a short summary: the
# totals, and the src/ files with missed lines. Fails below COVERAGE_MIN percent line coverage,
# or below COVERAGE_CORPUS_MIN from corpus replay alone.
#
# Each report is built from the profile of the tests it ran and the binaries those tests run,
# and nothing else: a binary that did not run (say test_alloc in the corpus-only figure) has its
# own `main`, whose hash differs from the one that ran, and llvm-cov would warn about "N
# functions have mismatched data" for code that is not in src/ anyway.
#
# usage: ci/coverage.sh [--help]
#   COVERAGE_MIN  the gate, percent of the lines of src/, 1 to 100 (default 95)
#   COVERAGE_CORPUS_MIN  the same for corpus replay alone (default 95)
#   JOBS          parallel build and test jobs (default: the number of cores)
# Build outputs: build/coverage/ (build.log: the build; prof-all/ and prof-corpus/: ctest.log,
# profiles, report.txt, the full llvm-cov table); HTML in build/coverage/coverage-html/.
set -euo pipefail
JOB_NAME=coverage
source "$(dirname "$0")/lib.sh"
ci_no_args "$@"
ci_env_uint COVERAGE_MIN 95 1 100
ci_env_uint COVERAGE_CORPUS_MIN 95 1 100
bdir="$ROOT/build/coverage"
mkdir -p "$bdir"
say "building the coverage preset (log: ${bdir#"$ROOT"/}/build.log)"
if ! build_preset coverage >"$bdir/build.log" 2>&1; then
  tail -n 40 "$bdir/build.log"
  say "build failed: see $bdir/build.log"
  record 0 1
  verdict 1 || exit 1
fi

# report NAME CTEST_ARGS...: runs the selected tests with profiling into $bdir/prof-NAME and
# writes the llvm-cov table of src/ there (report.txt).
report() {
  local name=$1; shift
  local prof="$bdir/prof-$name" objs=() f
  rm -rf "$prof"; mkdir -p "$prof"
  if ! LLVM_PROFILE_FILE="$prof/%p-%m.profraw" ctest --test-dir "$bdir" -j "$JOBS" "$@" \
      >"$prof/ctest.log" 2>&1; then
    say "ctest failed during the coverage run ($name): see $prof/ctest.log"
    return 1
  fi
  llvm-profdata merge -sparse "$prof"/*.profraw -o "$prof/merged.profdata" || return 1
  # The binaries these tests ran: every argument of their commands that is a file of the build.
  while IFS= read -r f; do objs+=(-object "$f"); done < <(
    ctest --test-dir "$bdir" -N --show-only=json-v1 "$@" | python3 -c '
import json, os, sys
root = sys.argv[1]
seen = set()
for t in json.load(sys.stdin)["tests"]:
    for a in t.get("command", []):
        if a.startswith(root + "/") and os.path.isfile(a) and os.access(a, os.X_OK) and a not in seen:
            seen.add(a)
            print(a)' "$bdir")
  [ ${#objs[@]} -gt 0 ] || { say "no test binary found for the $name report"; return 1; }
  llvm-cov report "${objs[@]:1}" -instr-profile="$prof/merged.profdata" "$ROOT"/src/*.c \
    >"$prof/report.txt" || return 1
  if [ "$name" = all ]; then
    rm -rf "$bdir/coverage-html"
    llvm-cov show "${objs[@]:1}" -instr-profile="$prof/merged.profdata" -format=html \
      -output-dir="$bdir/coverage-html" "$ROOT"/src/*.c || return 1
  fi
}
# TOTAL row: Regions Missed Cover Functions Missed Executed Lines Missed Cover Branches Missed Cover
total() { awk -v k="$2" '/^TOTAL/ { print $k }' "$bdir/prof-$1/report.txt" | tr -d '%'; }

if ! report all; then record 0 1; verdict 1 || exit 1; fi
corpus=0
if report corpus -L corpus; then corpus=$(total corpus 10); else say "no corpus-only figure"; fi
all=$(total all 10)
t=$bdir/prof-all/report.txt
say "src/ lines ${all}% ($(($(total all 8) - $(total all 9)))/$(total all 8)), regions $(total all 4)%," \
  "functions $(total all 7)%, branches $(total all 13)% (unit tests + corpus)"
say "src/ lines ${corpus}% (corpus replay alone)"
# missed FILE: the src/ files with missed lines in a report, with their counts
missed() { awk '/^[a-z_]+\.c / && $9 > 0 { printf "%s%s %d", sep, $1, $9; sep = ", " }' "$1"; }
say "missed lines: $(missed "$t")"
[ -f "$bdir/prof-corpus/report.txt" ] &&
  say "missed lines, corpus alone: $(missed "$bdir/prof-corpus/report.txt")"
say "table: ${t#"$ROOT"/}; HTML: ${bdir#"$ROOT"/}/coverage-html/index.html"
# gate NAME FIGURE MIN: records one check, and says so when the figure is below its minimum
bad=0
gate() {
  if awk -v c="$2" -v m="$3" 'BEGIN {exit !(c >= m)}'; then
    record 1 0
  else
    say "$1: ${2}% is below the ${3}% gate"; record 0 1; bad=1
  fi
}
gate "unit tests + corpus" "$all" "$COVERAGE_MIN"
gate "corpus replay alone" "$corpus" "$COVERAGE_CORPUS_MIN"
verdict "$bad"
