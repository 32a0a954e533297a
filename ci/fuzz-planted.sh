#!/usr/bin/env bash
# The fuzz harness's acceptance experiment, on a copy of the tree with a planted bug (default
# tests/planted/resize-drops-block.patch: mb_buf_resize loses the old block when growth fails):
#   1. ci/fuzz.sh on the planted copy must stop with a finding and file one C regression test and
#      one corpus input (ci/triage.sh, into the copy); from the moment fuzzing stops to a filed C
#      test that is built and seen failing against the planted library must take under 10 s;
#   2. triage run again on the raw finding and on the filed input reports a duplicate: filed once;
#   3. once the patch is reverted the C test passes, and triage files nothing (the finding no
#      longer fails: triage rebuilt membuf-ops);
#   4. time to find: TARGETS x {custom mutator on, off} x REPS seeds, each from an empty corpus,
#      one process on one core, -max_total_time=LIMIT; median, min and max seconds.
#
# usage: ci/fuzz-planted.sh [PATCH]
#   PATCH            a patch for `patch -p1` in the tree's root (default above)
#   PLANTED_REPS     seeds per target and mutator setting (default 5)
#   PLANTED_LIMIT    seconds per timing run, and for step 1 (default 300)
#   PLANTED_JOBS     timing runs at a time (default: core count)
#   PLANTED_TARGETS  default fuzz_buf (the only target with buffer ops: the others cannot reach
#                    mb_buf_resize)
#   -h, --help       this text
# Exit 0 when every check holds, 1 when one fails, 2 on bad usage.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/args.sh" # ci_die, ci_printable, ci_usage, ci_uint, ci_env_uint
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
ci_operands "$@"
[ ${#CI_OPERANDS[@]} -le 1 ] || ci_die "one PATCH at most (see --help)"
patch_arg=${CI_OPERANDS[0]:-}
patch_file=${patch_arg:-$ROOT/tests/planted/resize-drops-block.patch}
if [ ! -f "$patch_file" ] || [ ! -r "$patch_file" ]; then ci_die "cannot read patch '$(ci_printable "$patch_file")'"; fi
patch_file=$(realpath -- "$patch_file")
cores=$(nproc)
ci_env_uint PLANTED_REPS 5 1 1000
ci_env_uint PLANTED_LIMIT 300 1 86400
ci_env_uint PLANTED_JOBS "$cores" 1 256
reps=$PLANTED_REPS limit=$PLANTED_LIMIT jobs=$PLANTED_JOBS
read -r -a targets <<<"${PLANTED_TARGETS:-fuzz_buf}"
[ ${#targets[@]} -gt 0 ] || ci_die "PLANTED_TARGETS is empty"
for t in "${targets[@]}"; do
  if ! [[ "$t" =~ ^fuzz_[a-z0-9_]+$ ]] || [ ! -f "$ROOT/fuzz/$t.c" ]; then
    ci_die "PLANTED_TARGETS: unknown target '$(ci_printable "$t")'"
  fi
done
bjobs=${JOBS:-$cores}
[[ "$bjobs" =~ ^[1-9][0-9]{0,3}$ ]] || ci_die "JOBS must be a positive integer, got '$(ci_printable "$bjobs")'"
"$ROOT/ci/deps.sh"

now() { printf '%s' "${EPOCHREALTIME/,/.}"; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
bad() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/membuf-planted.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT
tree="$tmp/tree"
mkdir -p "$tree"
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf -) | (cd "$tree" && tar -xf -)
cd "$tree"
echo "=== planting $(basename "$patch_file") in a copy of the tree"
patch -p1 --quiet <"$patch_file" || bad "the patch does not apply"
t0=$(now)
{ cmake --preset fuzz && cmake --build --preset fuzz -j "$bjobs" --target membuf-ops "${targets[@]}" &&
  cmake --preset dev && cmake --build --preset dev -j "$bjobs" --target membuf_internal; } >"$tmp/build.log" 2>&1 \
  || { tail -n 30 "$tmp/build.log"; bad "building the planted tree failed"; }
echo "built (fuzz preset: ${targets[*]} membuf-ops; dev preset: the library) in $(secs "$t0" "$(now)")s"

count() { find "$@" -type f ! -name README.md 2>/dev/null | wc -l; }
list_c() { find tests/regress -maxdepth 1 -name '*.c' -printf '%f\n' | sort; }
c_list=$(list_c) c_before=$(count tests/regress -name '*.c') i_before=$(count corpus/fuzz_buf/regressions)

echo "=== 1. ci/fuzz.sh on the planted tree (fuzz_buf, ${limit}s at most)"
# Its output as it comes, with the moment fuzzing stopped taken from it.
{
  rc=0
  FUZZ_SECONDS=$limit FUZZ_JOBS=1 FUZZ_WORKDIR="$tmp/work" ci/fuzz.sh --no-build fuzz_buf || rc=$?
  echo "$rc" >"$tmp/fuzz.rc"
} 2>&1 | while IFS= read -r line; do
  case "$line" in *": libFuzzer stopped after "*) [ -s "$tmp/stopped" ] || now >"$tmp/stopped" ;; esac
  printf '    | %s\n' "$line"
done
rc=$(cat "$tmp/fuzz.rc")
[ "$rc" -ne 0 ] || bad "ci/fuzz.sh did not stop on the planted bug"
[ -s "$tmp/stopped" ] || bad "ci/fuzz.sh failed (exit $rc) without a finding"
stopped=$(cat "$tmp/stopped")
filed=$(comm -13 <(printf '%s\n' "$c_list") <(list_c))
n_c=$(($(count tests/regress -name '*.c') - c_before)) n_i=$(($(count corpus/fuzz_buf/regressions) - i_before))
if [ "$n_c" -ne 1 ] || [ "$(grep -c . <<<"$filed")" -ne 1 ]; then bad "ci/fuzz.sh filed $n_c C tests, not 1"; fi
[ "$n_i" -eq 1 ] || bad "ci/fuzz.sh filed $n_i corpus inputs, not 1"
name=$(basename "$filed" .c)
t_triaged=$(now)
# Built as its header says (cc -std=c11 t.c -lmembuf -lm), against the planted dev library.
if ! gcc -std=c11 -Iinclude "tests/regress/$name.c" build/dev/libmembuf_internal.a -lm -pthread \
  -o "$tmp/regress" >"$tmp/build-test.log" 2>&1; then
  cat "$tmp/build-test.log"
  bad "the filed test tests/regress/$name.c does not build"
fi
trc=0
"$tmp/regress" >"$tmp/before.log" 2>&1 & # (a background job: no "Aborted" line from the shell)
wait $! || trc=$?
if [ "$trc" -eq 0 ]; then
  bad "the filed test tests/regress/$name.c passes against the planted bug"
fi
t_failing=$(now)
total=$(secs "$stopped" "$t_failing")
echo "filed: tests/regress/$name.c and corpus/fuzz_buf/regressions/$name"
echo "the test fails against the planted library, as it must: $(grep -m1 -E 'CHECK|violation|abort' "$tmp/before.log" || tail -n 1 "$tmp/before.log")"
echo "fuzzing stopped -> filed C test seen failing: ${total}s (triage and filing $(secs "$stopped" "$t_triaged")s, building and running the test $(secs "$t_triaged" "$t_failing")s)"
awk -v s="$total" 'BEGIN { exit !(s < 10) }' || bad "that took ${total}s, not under 10 s"

echo "=== 2. triage again: on the raw finding and on the filed input"
art=$(find "$tmp/work" -path '*/fuzz_buf/artifacts/*' -type f \( -name 'crash-*' -o -name 'leak-*' \
  -o -name 'timeout-*' -o -name 'oom-*' \) ! -name '*.*' | head -n 1)
[ -n "$art" ] || bad "no artifact left in the work directory"
for f in "$art" "corpus/fuzz_buf/regressions/$name"; do
  out=$(ci/triage.sh fuzz_buf "$f" 2>&1) || bad "ci/triage.sh on $(basename "$f") failed: $out"
  grep -q '^duplicate: ' <<<"$out" || bad "ci/triage.sh on $(basename "$f") did not report a duplicate: $out"
done
if [ "$(count tests/regress -name '*.c')" -ne $((c_before + 1)) ] ||
  [ "$(count corpus/fuzz_buf/regressions)" -ne $((i_before + 1)) ]; then
  bad "triage run again filed more"
fi
echo "triage run twice more: both report a duplicate; filed once (1 C test, 1 corpus input)"

echo "=== 3. the patch reverted: ctest's regress_$name, then triage"
patch -p1 -R --quiet <"$patch_file"
cmake --preset dev >>"$tmp/build-dev.log" 2>&1 || { tail -n 30 "$tmp/build-dev.log"; bad "configuring the dev preset failed"; }
cmake --build --preset dev -j "$bjobs" --target "regress_$name" >>"$tmp/build-dev.log" 2>&1 \
  || { tail -n 30 "$tmp/build-dev.log"; bad "regress_$name does not build on the fixed tree"; }
"build/dev/tests/regress/regress_$name" >"$tmp/after.log" 2>&1 || { cat "$tmp/after.log"; bad "the test still fails after the fix"; }
echo "fixed: regress_$name passes"
trc=0
ci/triage.sh fuzz_buf "$art" >"$tmp/triage-fixed.log" 2>&1 || trc=$?
[ "$trc" -eq 1 ] || { cat "$tmp/triage-fixed.log"; bad "triage of the fixed finding exited $trc, not 1 (does not fail)"; }
echo "fixed: triage rebuilt membuf-ops and files nothing: $(tail -n 1 "$tmp/triage-fixed.log")"
patch -p1 --quiet <"$patch_file" # back to the planted tree for the timing runs
cmake --build --preset fuzz -j "$bjobs" --target "${targets[@]}" >>"$tmp/build.log" 2>&1 \
  || { tail -n 30 "$tmp/build.log"; bad "rebuilding the planted fuzzers failed"; }

echo "=== 4. time to find: ${targets[*]} x mutator on/off x $reps seeds, empty corpus, limit ${limit}s, $jobs at a time"
runone() { # runone TARGET MODE SEED -> "TARGET MODE SEED SECONDS found|not-found EXECS"
  local t=$1 mode=$2 seed=$3 dir="$tmp/runs/$1-$2-$3"
  mkdir -p "$dir/corpus"
  local start end rc=0
  start=$(date +%s.%N)
  MEMBUF_MUTATOR=$([ "$mode" = on ] && echo 1 || echo 0) ASAN_OPTIONS=detect_leaks=1 \
    "build/fuzz/fuzz/$t" -seed="$seed" -max_total_time="$limit" -max_len=2048 -timeout=10 \
    -artifact_prefix="$dir/" "$dir/corpus" >"$dir/log" 2>&1 || rc=$?
  end=$(date +%s.%N)
  local execs
  execs=$(grep -oE '^#[0-9]+' "$dir/log" | tail -n 1 | tr -d '#')
  printf '%s %s %s %.2f %s %s\n' "$t" "$mode" "$seed" "$(awk -v a="$start" -v b="$end" 'BEGIN {print b - a}')" \
    "$([ "$rc" -ne 0 ] && [ -n "$(find "$dir" -maxdepth 1 \( -name 'crash-*' -o -name 'leak-*' \) | head -n 1)" ] && echo found || echo not-found)" "${execs:-0}"
}
export -f runone
export tmp limit
for t in "${targets[@]}"; do for mode in on off; do for s in $(seq 1 "$reps"); do
  echo "$t $mode $s"
done; done; done | xargs -P "$jobs" -L 1 bash -c 'runone "$0" "$1" "$2"' >"$tmp/times.txt"
echo
echo "| target | mutator | found | median s | min–max s | runs |"
echo "|---|---|---|---|---|---|"
for t in "${targets[@]}"; do for mode in on off; do
  awk -v t="$t" -v m="$mode" '$1 == t && $2 == m' "$tmp/times.txt" | sort -k4 -n >"$tmp/sel"
  n=$(wc -l <"$tmp/sel"); found=$(grep -c ' found ' "$tmp/sel" || true)
  med=$(awk '{a[NR]=$4} END {print a[int((NR+1)/2)]}' "$tmp/sel")
  printf '| %s | %s | %s/%s | %s | %s–%s | %s |\n' "$t" "$mode" "$found" "$n" "$med" \
    "$(head -n 1 "$tmp/sel" | awk '{print $4}')" "$(tail -n 1 "$tmp/sel" | awk '{print $4}')" \
    "$(awk '{printf "%s%s", (NR > 1 ? " " : ""), $6}' "$tmp/sel")"
done; done
echo "(a run that does not find the bug counts as the limit, ${limit}s)"
echo "fuzz-planted: PASS (fuzzing stopped -> failing C test in ${total}s; triage twice: filed once)"
