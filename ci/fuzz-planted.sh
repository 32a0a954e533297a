#!/usr/bin/env bash
# The fuzz harness's acceptance experiment, on a copy of the tree with a planted bug (default
# tests/planted/resize-drops-block.patch: mb_buf_resize loses the old block when growth fails):
#   1. ci/fuzz.sh on the planted copy must stop with a finding, a readable reproducer and a C
#      regression test (filed by ci/triage.sh into the copy's tests/regress/);
#   2. that C test must fail against the planted library and pass once the patch is reverted;
#   3. time to find: TARGETS x {custom mutator on, off} x REPS seeds, each from an empty corpus,
#      one process on one core, -max_total_time=LIMIT; median, min and max seconds.
# usage: ci/fuzz-planted.sh [PATCH]
#   PLANTED_REPS (5), PLANTED_LIMIT (300 s), PLANTED_JOBS (parallel runs; default core count),
#   PLANTED_TARGETS (fuzz_buf: the only target with buffer ops; the others cannot reach resize)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
patch_file=$(realpath "${1:-$ROOT/tests/planted/resize-drops-block.patch}")
reps=${PLANTED_REPS:-5} limit=${PLANTED_LIMIT:-300} jobs=${PLANTED_JOBS:-$(nproc)}
targets=(${PLANTED_TARGETS:-fuzz_buf})
for v in "$reps" "$limit" "$jobs"; do
  [[ "$v" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz-planted.sh: PLANTED_REPS/LIMIT/JOBS must be positive integers" >&2; exit 2; }
done
[ -r "$patch_file" ] || { echo "fuzz-planted.sh: cannot read $patch_file" >&2; exit 2; }
"$ROOT/ci/deps.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tree="$tmp/tree"
mkdir -p "$tree"
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf -) | (cd "$tree" && tar -xf -)
cd "$tree"
echo "=== planting $(basename "$patch_file")"
patch -p1 --quiet <"$patch_file"
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$(nproc)" >"$tmp/build-fuzz.log" 2>&1 || { tail -n 30 "$tmp/build-fuzz.log"; exit 1; }

echo "=== 1. ci/fuzz.sh on the planted tree (fuzz_buf, 60 s at most)"
rc=0
FUZZ_SECONDS=60 FUZZ_JOBS=1 FUZZ_WORKDIR="$tmp/work" ci/fuzz.sh --no-build fuzz_buf >"$tmp/fuzz.log" 2>&1 || rc=$?
sed -n '/--- fuzz_buf: finding/,$p' "$tmp/fuzz.log" | head -n 60
[ "$rc" -ne 0 ] || { echo "FAIL: ci/fuzz.sh did not stop on the planted bug"; exit 1; }
regress=$(ls tests/regress/*.c 2>/dev/null | head -n 1 || true)
[ -n "$regress" ] || { echo "FAIL: no C regression test was filed"; exit 1; }
name=$(basename "$regress" .c)

echo "=== 2. the emitted test regress_$name: planted library, then fixed"
cmake --preset dev >/dev/null
cmake --build --preset dev -j "$(nproc)" --target "regress_$name" >"$tmp/build-dev.log" 2>&1 || { tail -n 30 "$tmp/build-dev.log"; exit 1; }
if "build/dev/tests/regress/regress_$name" >"$tmp/before.log" 2>&1; then
  echo "FAIL: the regression test passes against the planted bug"; exit 1
fi
echo "planted: fails as it must: $(grep -m1 -E 'CHECK|violation|abort' "$tmp/before.log" || tail -n 1 "$tmp/before.log")"
patch -p1 -R --quiet <"$patch_file"
cmake --build --preset dev -j "$(nproc)" --target "regress_$name" >>"$tmp/build-dev.log" 2>&1
"build/dev/tests/regress/regress_$name" >"$tmp/after.log" 2>&1 || { echo "FAIL: the test still fails after the fix"; cat "$tmp/after.log"; exit 1; }
echo "fixed: passes ($(tail -n 1 "$tmp/after.log"))"
patch -p1 --quiet <"$patch_file" # back to the planted tree for the timing runs

echo "=== 3. time to find: ${targets[*]} x mutator on/off x $reps seeds, empty corpus, limit ${limit}s, $jobs at a time"
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
