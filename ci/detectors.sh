#!/usr/bin/env bash
# Detector self-test: every planted bug in tests/detectors must be reported by the detectors that
# tests/detectors/expected.tsv marks `yes` and by none marked `no`; every clean twin by no detector
# at all. Prints the matrix (bug x detector) as Markdown, writes it to build/detectors/matrix.md and,
# when the run matches the table, into README.md between its detector-matrix markers.
#
# Detectors and the builds they run in:
#   membuf    dev build: a "membuf: " violation report (default handler, then abort)
#   oracle    dev build, MEMBUF_LEAK_ORACLE=1: exit 3 with "leak-oracle:" (live blocks at exit)
#   asan, ubsan, lsan
#             asan build (clang, -fsanitize=address,undefined, no recovery, leak detection on),
#             one run: "ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer"
#   msan      msan build: "WARNING: MemorySanitizer"
#   valgrind  valgrind build (gcc, MEMBUF_VALGRIND) under memcheck: exit 99, or a non-zero
#             "ERROR SUMMARY" when the program died of a signal first (a membuf report aborts)
# A detector counts as reporting only with a non-zero exit status and its signature. A clean twin
# must exit 0 under every detector with no report; a run that prints "detector: " (the program
# itself failed: bad arguments, a constructor) fails the job.
#
# Each build has one executable per bug class (det_<class>, tests/detectors/CMakeLists.txt); the
# programs are the names `det_<class> --list` prints, run as `det_<class> PROGRAM` (the bug) and
# `det_<class> PROGRAM clean` (its twin, which differs only by the fix).
#
# usage: ci/detectors.sh [--measure] [--help]
#   --measure  also run the `-` cells and write what was seen as build/detectors/observed.tsv,
#              in expected.tsv's format, to review and lock in
#   JOBS                       programs run in parallel (default: the number of cores)
#   RUN_TIMEOUT                seconds per program run (default 120)
#   MEMBUF_DETECTORS_EXPECTED  the expected table (default tests/detectors/expected.tsv)
# Build outputs: build/dev, build/asan, build/msan, build/valgrind (target membuf_detectors);
# build/detectors/ (matrix.md, logs/: each run's output, exit status and what it reported).
set -euo pipefail
JOB_NAME=detectors
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

MEASURE=0
for arg in "$@"; do
  case "$arg" in
    --measure) MEASURE=1 ;;
    -h | --help) ci_usage; exit 0 ;;
    *) ci_die "unknown argument '$(ci_printable "$arg")' (see --help)" ;;
  esac
done
EXPECTED=${MEMBUF_DETECTORS_EXPECTED:-tests/detectors/expected.tsv}
if [ ! -f "$EXPECTED" ] || [ ! -r "$EXPECTED" ]; then
  ci_die "MEMBUF_DETECTORS_EXPECTED: cannot read '$(ci_printable "$EXPECTED")'"
fi
ci_env_uint RUN_TIMEOUT 120 1 86400
OUTDIR=build/detectors
LOGS=$OUTDIR/logs
DETECTORS=(membuf asan ubsan msan valgrind lsan oracle)
# Word-split on use (exported to the parallel runners as one string).
VALGRIND="valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect"
VALGRIND+=" --show-mismatched-frees=yes --error-exitcode=99"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1:symbolize=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export MSAN_OPTIONS="halt_on_error=1"
unset MEMBUF_LEAK_ORACLE

rc=0
fail() { say "MISMATCH: $*"; rc=1; }

# --- build only the detector programs, in each preset's existing build directory ------------
mkdir -p "$OUTDIR"
for preset in dev asan msan valgrind; do
  blog=$OUTDIR/build-$preset.log
  if ! { run cmake --preset "$preset" && run cmake --build --preset "$preset" -j "$JOBS" \
    --target membuf_detectors; } >"$blog" 2>&1; then
    grep '^\[detectors\] +' "$blog" || true
    tail -n 30 "$blog"
    say "building the $preset detector programs failed"
    record 0 1
    verdict 1
  fi
  grep '^\[detectors\] +' "$blog"
done

# --- the expectation table ---------------------------------------------------------------------
header=$(head -n 1 "$EXPECTED")
want_header=$(IFS=$'\t'; echo "program	${DETECTORS[*]}")
if [ "$header" != "$want_header" ]; then
  say "bad header in $EXPECTED: '$header' (want '$want_header')"
  record 0 1
  verdict 1
fi
declare -A expect
programs=()
while IFS=$'\t' read -r prog cells; do
  [ -n "$prog" ] || continue
  read -r -a c <<<"$cells"
  if [ "${#c[@]}" -ne "${#DETECTORS[@]}" ]; then
    fail "$EXPECTED: row '$prog' has ${#c[@]} cells, want ${#DETECTORS[@]}"
    continue
  fi
  for i in "${!DETECTORS[@]}"; do
    case ${c[$i]} in yes | no | -) ;; *) fail "$EXPECTED: row '$prog': bad cell '${c[$i]}'" ;; esac
    expect[$prog,${DETECTORS[$i]}]=${c[$i]}
  done
  programs+=("$prog")
done < <(tail -n +2 "$EXPECTED")

# The programs: every executable CMake lists names its own. Every program has a row, and every
# row a program.
DETDIR=tests/detectors
declare -A exe_of
built=()
while read -r exe; do
  [ -n "$exe" ] || continue
  if ! names=$("build/dev/$DETDIR/$exe" --list); then
    fail "build/dev/$DETDIR/$exe --list failed"
    continue
  fi
  for p in $names; do
    if [ -n "${exe_of[$p]:-}" ]; then
      fail "program '$p' is listed by both ${exe_of[$p]} and $exe"
      continue
    fi
    exe_of[$p]=$exe
    built+=("$p")
  done
done <"build/dev/$DETDIR/executables.txt"
listed=$(printf '%s\n' "${programs[@]}" | sort)
for p in $(comm -23 <(printf '%s\n' "${built[@]}" | sort) <(echo "$listed")); do
  fail "program '$p' has no row in $EXPECTED"
done
for p in $(comm -13 <(printf '%s\n' "${built[@]}" | sort) <(echo "$listed")); do
  fail "row '$p' has no program (tests/detectors/*.c)"
done

# --- run every variant under every build ---------------------------------------------------------
# A task is "PROGRAM VARIANT BUILD EXECUTABLE"; BUILD is dev, oracle, asan, msan or valgrind. Bug
# variants skip builds whose detectors are all `-` for them (unless --measure); clean twins run
# everything.
rm -rf "$LOGS"
mkdir -p "$LOGS"
needs() { # needs PROG BUILD: does the bug variant of PROG need a run in BUILD?
  local d
  [ "$MEASURE" -eq 1 ] && return 0
  case $2 in
    dev) d=(membuf) ;; oracle) d=(oracle) ;; asan) d=(asan ubsan lsan) ;; msan) d=(msan) ;;
    valgrind) d=(valgrind) ;;
  esac
  for x in "${d[@]}"; do [ "${expect[$1,$x]:-}" != "-" ] && return 0; done
  return 1
}
tasks=$OUTDIR/tasks
: >"$tasks"
# Valgrind runs are listed first so the slowest work starts early.
for build in valgrind dev oracle asan msan; do
  for p in "${programs[@]}"; do
    [ -n "${exe_of[$p]:-}" ] || continue
    if needs "$p" "$build"; then echo "$p bug $build ${exe_of[$p]}" >>"$tasks"; fi
    echo "$p clean $build ${exe_of[$p]}" >>"$tasks"
  done
done

# run_one PROG VARIANT BUILD EXE: runs it, leaving LOG.out (its output), LOG.rc (its exit status)
# and LOG.res: "PROG VARIANT BUILD STATUS WORD...", a WORD for each detector of BUILD that
# reported (its signature and a non-zero status), and `program-error` for a "detector: " line.
run_one() {
  local prog=$1 variant=$2 build=$3 exe=$4 dir bin
  local log=$LOGS/$prog.$variant.$build
  dir=build/$build
  [ "$build" = oracle ] && dir=build/dev
  bin=$dir/tests/detectors/$exe
  local args=("$prog")
  [ "$variant" = clean ] && args+=(clean)
  local st=0 out=""
  if [ ! -x "$bin" ]; then
    echo "detectors: $bin was not built" >"$log.out"
    st=127
  else
    # The outer 2>/dev/null silences bash's own "Aborted" notices: aborting is the expected
    # outcome.
    # shellcheck disable=SC2086 # $VALGRIND is split into words on purpose
    {
      case $build in
        oracle) MEMBUF_LEAK_ORACLE=1 timeout "$RUN_TIMEOUT" "$bin" "${args[@]}" >"$log.out" 2>&1 || st=$? ;;
        valgrind) timeout "$RUN_TIMEOUT" $VALGRIND "$bin" "${args[@]}" >"$log.out" 2>&1 || st=$? ;;
        *) timeout "$RUN_TIMEOUT" "$bin" "${args[@]}" >"$log.out" 2>&1 || st=$? ;;
      esac
    } 2>/dev/null
    # The whole output, newline-prefixed so that "\nX" matches X at the start of a line.
    IFS= read -r -d '' out <"$log.out" || true
    out=$'\n'$out
  fi
  echo "$st" >"$log.rc"
  local res="$prog $variant $build $st"
  if [ "$st" -ne 0 ]; then
    case $build in
      dev) [[ $out == *$'\n''membuf: '* ]] && res+=" membuf" ;;
      oracle) [ "$st" -eq 3 ] && [[ $out == *$'\n''leak-oracle: '* ]] && res+=" oracle" ;;
      asan)
        [[ $out == *'ERROR: AddressSanitizer'* ]] && res+=" asan"
        [[ $out == *'runtime error:'* ]] && res+=" ubsan"
        [[ $out == *'ERROR: LeakSanitizer'* ]] && res+=" lsan"
        ;;
      msan) [[ $out == *'WARNING: MemorySanitizer'* ]] && res+=" msan" ;;
      valgrind) { [ "$st" -eq 99 ] || [[ $out =~ '== ERROR SUMMARY: '[1-9] ]]; } && res+=" valgrind" ;;
    esac
  fi
  [[ $out == *$'\n''detector: '* ]] && res+=" program-error"
  echo "$res" >"$log.res"
}
export -f run_one
export LOGS RUN_TIMEOUT VALGRIND
say "+ running $(wc -l <"$tasks") detector runs, $JOBS at a time (logs in $LOGS)"
# Four tasks to a shell, so that starting one costs little.
# shellcheck disable=SC2016 # the positional parameters are the inner shell's
xargs -P "$JOBS" -n 16 bash -c 'while [ $# -ge 4 ]; do run_one "$1" "$2" "$3" "$4"; shift 4; done' _ \
  <"$tasks"

# What each run reported (said[PROG.VARIANT.DETECTOR]=1). A run that left no result, hit the
# time limit, found no program to run, failed by itself, or (a clean twin) exited non-zero, is a
# failure whatever it printed.
declare -A said
while read -r prog variant build _; do
  key=$prog.$variant.$build
  if [ ! -f "$LOGS/$key.res" ]; then
    fail "$key: no result (see $LOGS/$key.out)"
    continue
  fi
  read -r _ _ _ st words <"$LOGS/$key.res"
  broken=0
  for w in $words; do
    if [ "$w" = program-error ]; then broken=1; else said[$prog.$variant.$w]=1; fi
  done
  case $st in
    124) fail "$key timed out after ${RUN_TIMEOUT}s" ;;
    127) fail "$key: $(cat "$LOGS/$key.out")" ;;
    *)
      if [ "$broken" -eq 1 ]; then
        fail "$key: $(grep -m1 '^detector: ' "$LOGS/$key.out")"
      elif [ "$variant" = clean ] && [ "$st" -ne 0 ]; then
        fail "$key: the clean twin exited $st (see $LOGS/$key.out)"
      fi
      ;;
  esac
done <"$tasks"

# reported PROG VARIANT DETECTOR: 0 if that detector reported on that run.
reported() { [ -n "${said[$1.$2.$3]:-}" ]; }

# --- compare, and build the matrix ------------------------------------------------------------
# The bug class is the program name's prefix.
classes='leak|double_free|mismatch|foreign_free|uaf|overflow|underflow|uninit|realloc_leak'
classes+='|size_overflow'
class_of() { # prints the class of program $1
  if [[ $1 =~ ^($classes)(_.*)?$ ]]; then echo "${BASH_REMATCH[1]}"; else echo "$1"; fi
}
declare -A class_yes
md=$OUTDIR/matrix.md
observed=$OUTDIR/observed.tsv
echo "$want_header" >"$observed"
{
  printf '| planted bug |'; printf ' %s |' "${DETECTORS[@]}"; echo
  printf '|---|'; for _ in "${DETECTORS[@]}"; do printf ':-:|'; done; echo
} >"$md"
passed=0
failed=0
for p in "${programs[@]}"; do
  row="| \`$p\` |"
  obs=$p
  cls=$(class_of "$p")
  row_ok=1
  for d in "${DETECTORS[@]}"; do
    e=${expect[$p,$d]}
    [ "$e" = yes ] && class_yes[$cls]+=" $d"
    # clean twin: silent under every detector
    if reported "$p" clean "$d"; then
      fail "$p (clean twin) reported by $d: see $LOGS/$p.clean.*"
      row_ok=0
    fi
    got=-
    if [ "$e" != "-" ] || [ "$MEASURE" -eq 1 ]; then
      if reported "$p" bug "$d"; then got=yes; else got=no; fi
    fi
    obs+=$'\t'$got
    case $e/$got in
      yes/yes) cell="✔" ;;
      no/no) cell="✘" ;;
      -/*) cell="—" ;;
      yes/no) cell="✘ (expected ✔)"; fail "$p: $d did not report the bug"; row_ok=0 ;;
      no/yes)
        cell="✔ (expected ✘)"
        fail "$p: $d reported the bug, expected not to"
        row_ok=0
        ;;
    esac
    row+=" $cell |"
  done
  echo "$row" >>"$md"
  echo "$obs" >>"$observed"
  if [ "$row_ok" -eq 1 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done

{
  echo
  echo "✔ caught, ✘ not caught (as expected), — not applicable to this bug class (not run);"
  echo "every clean twin was run under every detector and must be silent."
  echo
  echo "| bug class | detectors that catch it (\`yes\` in expected.tsv) |"
  echo "|---|---|"
} >>"$md"
# Bad frees (double, mismatched, foreign) are refused by every family before any memory is
# touched or libc is called, so no other tool can see them: membuf alone must catch every one.
# Every other class must be caught by at least two detectors.
REFUSED_CLASSES=" double_free mismatch foreign_free "
for cls in $(printf '%s\n' "${programs[@]}" | while read -r p; do class_of "$p"; done | sort -u); do
  ds=$(tr ' ' '\n' <<<"${class_yes[$cls]:-}" | sed '/^$/d' | sort -u | tr '\n' ' ')
  n=$(wc -w <<<"$ds")
  if [[ "$REFUSED_CLASSES" == *" $cls "* ]]; then
    echo "| $cls | ${ds:-none} (refused by membuf before any other tool can see it) |" >>"$md"
    if [ "$ds" != "membuf " ]; then
      fail "bug class '$cls' must be caught by membuf alone (it refuses the call): ${ds:-none}"
      failed=$((failed + 1))
    fi
  else
    echo "| $cls | ${ds:-none} |" >>"$md"
    if [ "$n" -lt 2 ]; then
      fail "bug class '$cls' is caught by fewer than two detectors: ${ds:-none}"
      failed=$((failed + 1))
    fi
  fi
done

cat "$md"
say "matrix written to $md"
# The README shows the measured matrix: refreshed between its markers when this run matched the
# table (a failing run leaves the README alone).
if [ "$rc" -eq 0 ] && [ "$failed" -eq 0 ] && grep -q '^<!-- detector-matrix:begin' README.md; then
  python3 - "$md" README.md <<'PY'
import sys
md, readme = sys.argv[1], sys.argv[2]
text = open(readme, encoding='utf-8').read()
b, e = '<!-- detector-matrix:begin', '<!-- detector-matrix:end -->'
i = text.index(b); i = text.index('\n', i) + 1
j = text.index(e)
new = text[:i] + open(md, encoding='utf-8').read() + text[j:]
if new != text:
    open(readme, 'w', encoding='utf-8').write(new)
    print('[detectors] README.md: matrix updated')
PY
fi
[ "$MEASURE" -eq 1 ] && say "observed table written to $observed"
record "$passed" "$failed"
verdict $rc
