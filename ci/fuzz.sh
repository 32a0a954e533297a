#!/usr/bin/env bash
# The main job: build the fuzz preset (clang, libFuzzer, ASan+UBSan) and fuzz every target for
# FUZZ_SECONDS each, starting from the checked-in corpus, in a work directory outside the repo.
#
# usage: ci/fuzz.sh [--update-corpus] [--no-build] [TARGET...]
#   FUZZ_SECONDS  seconds per target (default 60)
#   FUZZ_JOBS     parallel fuzzing processes per target, libFuzzer -fork (default: core count)
#   FUZZ_WORKDIR  work directory (default: ${TMPDIR:-/tmp}/membuf-fuzz)
#   MEMBUF_MUTATOR=0  turn the structure-aware mutator off (to measure its effect)
# --update-corpus merges inputs with new coverage back into corpus/<target>/ (libFuzzer -merge=1).
# On a crash, leak or timeout: the input is minimised, printed as text, a C regression test is
# emitted next to it (ci/triage.sh when present also files it), and the script exits non-zero.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

update=0 build=1 targets=()
for arg in "$@"; do
  case "$arg" in
    --update-corpus) update=1 ;;
    --no-build) build=0 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option '$arg' (see --help)" >&2; exit 2 ;;
    *) targets+=("$arg") ;;
  esac
done
seconds=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-$(nproc)}
work=${FUZZ_WORKDIR:-${TMPDIR:-/tmp}/membuf-fuzz}
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz.sh: FUZZ_SECONDS must be a positive integer, got '$seconds'" >&2; exit 2; }
[[ "$jobs" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz.sh: FUZZ_JOBS must be a positive integer, got '$jobs'" >&2; exit 2; }

if [ "$build" -eq 1 ]; then
  "$ROOT/ci/deps.sh"
  echo "+ cmake --preset fuzz && cmake --build --preset fuzz"
  cmake --preset fuzz >/dev/null
  cmake --build --preset fuzz -j "$(nproc)"
fi
bin="$ROOT/build/fuzz/fuzz"
ops="$ROOT/build/fuzz/tools/membuf-ops"
if [ ${#targets[@]} -eq 0 ]; then
  for f in "$ROOT"/fuzz/fuzz_*.c; do targets+=("$(basename "$f" .c)"); done
fi
for t in "${targets[@]}"; do
  [ -x "$bin/$t" ] || { echo "fuzz.sh: no fuzzer binary $bin/$t (unknown target '$t'?)" >&2; exit 2; }
  [ -d "$ROOT/corpus/$t" ] || { echo "fuzz.sh: no corpus directory corpus/$t" >&2; exit 2; }
done

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p "$work"
rows=() failed=0

# Minimise an artifact, print it as text and emit a C regression test next to it.
triage() {
  local t=$1 art=$2 min="$2.min"
  echo "--- $t: finding $(basename "$art")"
  if "$bin/$t" -minimize_crash=1 -max_total_time=30 -exact_artifact_path="$min" "$art" \
       >"$art.minimize.log" 2>&1 && [ -s "$min" ]; then
    echo "minimised: $min ($(stat -c %s "$min") bytes, was $(stat -c %s "$art"))"
  else
    cp "$art" "$min"
    echo "minimisation did not shrink it further; using the original"
  fi
  if [ -x "$ops" ]; then
    echo "text form:"
    "$ops" print "$min" | sed 's/^/    /' || true
    "$ops" emit-c "$min" >"$art.regress.c" && echo "C regression test: $art.regress.c"
  fi
  if [ -x "$ROOT/ci/triage.sh" ]; then
    "$ROOT/ci/triage.sh" "$t" "$min" || echo "ci/triage.sh failed on $min"
  fi
  echo "reproduce: $bin/$t $min"
  "$bin/$t" "$min" 2>&1 | grep -E "membuf|ERROR|SUMMARY" | head -n 5 | sed 's/^/    /' || true
}

for t in "${targets[@]}"; do
  dir="$work/$t"
  rm -rf "$dir"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  opts=()
  if [ -f "$ROOT/fuzz/$t.options" ]; then
    # [libfuzzer] key = value lines become -key=value
    while IFS= read -r line; do
      [[ "$line" =~ ^[[:space:]]*([a-z_]+)[[:space:]]*=[[:space:]]*(.+)$ ]] \
        && opts+=("-${BASH_REMATCH[1]}=${BASH_REMATCH[2]}")
    done <"$ROOT/fuzz/$t.options"
  fi
  fork=()
  [ "$jobs" -gt 1 ] && fork=(-fork="$jobs")
  log="$dir/fuzz.log"
  echo "=== $t: ${seconds}s, ${jobs} job(s), corpus corpus/$t -> $dir/corpus"
  rc=0
  "$bin/$t" "${opts[@]}" "${fork[@]}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$dir/artifacts/" "$dir/corpus" "$ROOT/corpus/$t" \
    >"$log" 2>&1 || rc=$?
  # Progress lines: "#N DONE cov: C ft: F corp: K/.. exec/s: E" or, with -fork,
  # "#N: cov: C ft: F corp: K exec/s E oom/timeout/crash: ...".
  last=$(grep -E '^#[0-9]+:?[[:space:]]+(DONE[[:space:]]+|pulse[[:space:]]+|NEW[[:space:]]+|REDUCE[[:space:]]+)?cov: ' "$log" | tail -n 1 || true)
  runs=$(sed -nE 's/^#([0-9]+).*/\1/p' <<<"$last")
  cov=$(sed -nE 's/.*cov: ([0-9]+).*/\1/p' <<<"$last")
  ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
  eps=$(grep -E '^stat::average_exec_per_sec' "$log" | awk '{print $2}' | tail -n 1 || true)
  [ -n "$eps" ] && [ "$eps" != 0 ] || eps=$(sed -nE 's/.*exec\/s:? ([0-9]+).*/\1/p' <<<"$last")
  size=$(find "$dir/corpus" "$ROOT/corpus/$t" -type f ! -name README.md | wc -l)
  findings=$(find "$dir/artifacts" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' \
    -o -name 'timeout-*' -o -name 'oom-*' \) ! -name '*.*' | sort)
  result=ok
  if [ "$rc" -ne 0 ] || [ -n "$findings" ]; then
    result=FAIL
    failed=$((failed + 1))
    tail -n 30 "$log"
    if [ -z "$findings" ]; then
      echo "$t exited $rc without an artifact; see $log"
    fi
    for art in $findings; do triage "$t" "$art"; done
  fi
  rows+=("$(printf '| %-10s | %10s | %8s | %6s/%-6s | %6s | %s |' "$t" "${runs:-?}" "${eps:-?}" \
    "${cov:-?}" "${ft:-?}" "$size" "$result")")
  if [ "$update" -eq 1 ] && [ "$result" = ok ]; then
    before=$(find "$ROOT/corpus/$t" -maxdepth 1 -type f | wc -l)
    "$bin/$t" "${opts[@]}" -merge=1 "$ROOT/corpus/$t" "$dir/corpus" >"$dir/merge.log" 2>&1 \
      || { echo "merge failed for $t: see $dir/merge.log"; failed=$((failed + 1)); }
    after=$(find "$ROOT/corpus/$t" -maxdepth 1 -type f | wc -l)
    echo "merged into corpus/$t: $before -> $after files"
  fi
done

echo
echo "| target     |       runs |   exec/s | cov/ft        | corpus | result |"
echo "|------------|------------|----------|---------------|--------|--------|"
printf '%s\n' "${rows[@]}"
echo "work directory: $work"
if [ "$failed" -gt 0 ]; then
  echo "fuzz: FAIL ($failed target(s) with findings)"
  exit 1
fi
echo "fuzz: PASS"
