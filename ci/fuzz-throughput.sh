#!/usr/bin/env bash
# Fuzzing throughput, before and after a change, side by side: each target's libFuzzer binary
# from REV (before) and from the working tree (after) fuzz at the same time, each from its own
# tree's checked-in corpus, with the options ci/fuzz.sh uses for one job (the target's .options,
# -timeout=10 -rss_limit_mb=2048, ASAN_OPTIONS as ci/fuzz.sh sets them), one target after
# another. Then the working tree's binary alone on one core and with -fork=2.
#
# usage: ci/fuzz-throughput.sh REV
#   THROUGHPUT_SECONDS  per side-by-side run (default 480; 0 skips them)
#   FORK_SECONDS        per run of the one-core / -fork=2 comparison (default 180; 0 skips it)
#   THROUGHPUT_TARGETS  default: every fuzz/fuzz_*.c
#   -h, --help          this text
# Output: a Markdown table on stdout and in build/throughput/report.md (exec/s as libFuzzer's
# final average, executions, peak RSS, exec/s in each minute), the load (uptime) before and after,
# logs in build/throughput/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/args.sh" # ci_die, ci_printable, ci_usage, ci_uint, ci_env_uint
ci_operands "$@"
[ ${#CI_OPERANDS[@]} -eq 1 ] || ci_die "usage: ci/fuzz-throughput.sh REV (see --help)"
rev=${CI_OPERANDS[0]}
ci_env_uint THROUGHPUT_SECONDS 480 0 86400
ci_env_uint FORK_SECONDS 180 0 86400
secs=$THROUGHPUT_SECONDS fsecs=$FORK_SECONDS
export JOB_NAME=throughput
source "$(dirname "$0")/lib.sh"
git rev-parse --verify -q "$rev^{commit}" >/dev/null || ci_die "no commit '$(ci_printable "$rev")'"
targets=()
if [ -n "${THROUGHPUT_TARGETS:-}" ]; then read -r -a targets <<<"$THROUGHPUT_TARGETS"; else
  for f in "$ROOT"/fuzz/fuzz_*.c; do targets+=("$(basename "$f" .c)"); done
fi
for t in "${targets[@]}"; do
  if ! [[ "$t" =~ ^fuzz_[a-z0-9_]+$ ]] || [ ! -f "$ROOT/fuzz/$t.c" ]; then
    ci_die "THROUGHPUT_TARGETS: unknown target '$(ci_printable "$t")'"
  fi
done
# build/throughput is this script's own: replaced on each run, but only when it is marked as its
# own (or holds an earlier run's report).
out=$ROOT/build/throughput
if [ -e "$out" ] && [ ! -f "$out/.membuf-throughput" ] && [ ! -f "$out/report.md" ] && [ ! -d "$out/before-src" ] &&
  [ -n "$(find "$out" -mindepth 1 -maxdepth 1 -print -quit)" ]; then
  ci_die "build/throughput holds files this script did not write: move them away first"
fi
rm -rf -- "$out"
mkdir -p "$out/before-src"
echo "fuzz-throughput.sh output; replaced by its next run" >"$out/.membuf-throughput"
git archive "$rev" | tar -xf - -C "$out/before-src"
echo '# not built here' >"$out/before-src/bench/CMakeLists.txt"
run bash -c "cd '$out/before-src' && cmake --preset fuzz >/dev/null && cmake --build --preset fuzz -j $JOBS >'$out/before-build.log' 2>&1"
build_preset fuzz >"$out/after-build.log" 2>&1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# fuzz TREE TARGET NAME SECONDS [extra libFuzzer flags]: one run in build/throughput/NAME/,
# with the run count (the last "#N" of libFuzzer's log) sampled every minute into NAME/samples.
fuzz() {
  local tree=$1 t=$2 name=$3 s=$4 opts=() line sampler
  shift 4
  mkdir -p "$out/$name/corpus"
  : >"$out/$name/log"
  while IFS= read -r line; do
    [[ "$line" =~ ^[[:space:]]*([a-z_]+)[[:space:]]*=[[:space:]]*(.+)$ ]] &&
      opts+=("-${BASH_REMATCH[1]}=${BASH_REMATCH[2]}")
  done <"$tree/fuzz/$t.options"
  (while sleep 60; do
     grep -oE '^#[0-9]+' "$out/$name/log" | tail -n 1 | tr -d '#' >>"$out/$name/samples" || true
   done) &
  sampler=$!
  (cd "$out/$name" && timeout $((s + 120)) "$tree/build/fuzz/fuzz/$t" "${opts[@]}" "$@" \
    -max_total_time="$s" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$out/$name/" corpus "$tree/corpus/$t" >>"$out/$name/log" 2>&1) || true
  kill "$sampler" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true
}

# stats NAME: "exec/s runs peak-rss findings per-minute-exec/s" (per minute: a,b,c,...)
stats() {
  local log=$out/$1/log eps runs rss found per last
  eps=$(sed -nE 's/^stat::average_exec_per_sec:[[:space:]]*([0-9]+).*/\1/p' "$log" | tail -n 1)
  runs=$(sed -nE 's/^stat::number_of_executed_units:[[:space:]]*([0-9]+).*/\1/p' "$log" | tail -n 1)
  rss=$(sed -nE 's/^stat::peak_rss_mb:[[:space:]]*([0-9]+).*/\1/p' "$log" | tail -n 1)
  if [ -z "$eps" ]; then # -fork: the last status line ("#RUNS: cov: ... exec/s N ... time: Ts")
    last=$(grep -E '^#[0-9]+: cov:' "$log" | tail -n 1 || true)
    runs=$(sed -nE 's/^#([0-9]+):.*/\1/p' <<<"$last")
    eps=$(sed -nE 's/.* time: ([0-9]+)s.*/\1/p' <<<"$last" | awk -v n="$runs" '$1 > 0 { printf "%d", n / $1 }')
    rss=$(grep -oE 'rss: [0-9]+Mb' "$log" | tr -dc '0-9\n' | sort -n | tail -n 1)
  fi
  per=$(awk 'BEGIN { p = 0 } /^[0-9]+$/ { printf "%s%d", (NR > 1 ? "," : ""), ($1 - p) / 60; p = $1 }' \
    "$out/$1/samples" 2>/dev/null || true)
  found=$(find "$out/$1" -maxdepth 1 \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' \
    -o -name 'leak-*' \) | wc -l)
  echo "${eps:-?} ${runs:-?} ${rss:-?} $found ${per:--}"
}

load_before=$(uptime)
say "load before: $load_before"
rows=()
for t in "${targets[@]}"; do
  [ "$secs" -gt 0 ] || break
  say "$t: before ($rev) and after side by side, ${secs}s"
  fuzz "$out/before-src" "$t" "$t-before" "$secs" &
  fuzz "$ROOT" "$t" "$t-after" "$secs" &
  wait
  read -r be br bm bf bp <<<"$(stats "$t-before")"
  read -r ae ar am af ap <<<"$(stats "$t-after")"
  ratio=$(awk -v a="$ae" -v b="$be" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "?" }')
  rows+=("| $t | $be | $ae | $ratio | $br | $ar | $bm | $am | $bf / $af | $bp | $ap |")
  say "$t: before $be exec/s, after $ae exec/s ($ratio); RSS $bm / $am MB"
done
frows=()
if [ "$fsecs" -gt 0 ]; then
  for t in "${targets[@]}"; do
    say "$t: after alone on one process, then -fork=2, ${fsecs}s each"
    fuzz "$ROOT" "$t" "$t-one" "$fsecs"
    fuzz "$ROOT" "$t" "$t-fork2" "$fsecs" -fork=2
    read -r oe _ om _ _ <<<"$(stats "$t-one")"
    read -r fe _ fm _ _ <<<"$(stats "$t-fork2")"
    frows+=("| $t | $oe | $fe | $(awk -v a="$fe" -v b="$oe" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "?" }') | $om | $fm |")
  done
fi
load_after=$(uptime)
say "load after: $load_after"
{
  echo "# Fuzzing throughput: $rev (before) and the working tree of $(git rev-parse --short HEAD) (after)"
  echo
  if [ ${#rows[@]} -gt 0 ]; then
    echo "Side by side, ${secs}s per target, one process each (the two cores shared), the options"
    echo "ci/fuzz.sh uses. exec/s: libFuzzer's average over the run."
    echo
    echo "| target | before exec/s | after exec/s | after/before | before runs | after runs | before peak RSS MB | after peak RSS MB | findings before / after | before exec/s per minute | after exec/s per minute |"
    echo "|---|--:|--:|--:|--:|--:|--:|--:|--:|---|---|"
    printf '%s\n' "${rows[@]}"
  fi
  if [ ${#frows[@]} -gt 0 ]; then
    echo
    echo "The working tree alone, ${fsecs}s each: one process, then -fork=2 (two workers)."
    echo
    echo "| target | one process exec/s | -fork=2 exec/s | ratio | one process peak RSS MB | -fork=2 peak RSS MB |"
    echo "|---|--:|--:|--:|--:|--:|"
    printf '%s\n' "${frows[@]}"
  fi
  echo
  echo "Load before: $load_before"
  echo "Load after: $load_after"
} >"$out/report.md"
cat "$out/report.md"
verdict 0
