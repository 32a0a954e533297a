#!/usr/bin/env bash
# AFL++ job: build every fuzz target with afl-clang-fast (ASan, plus UBSan when the toolchain
# supports it) linked against AFL++'s libFuzzer driver (libAFLDriver.a: persistent mode,
# shared-memory test cases), then run afl-fuzz on each for AFL_SECONDS from the checked-in corpus.
# Installs Debian's afl++ package through ci/deps.sh when it is missing. See docs/afl.md.
#
# usage: ci/afl.sh [--no-build] [--side-by-side] [--help] [TARGET...]
#   AFL_SECONDS     seconds of afl-fuzz per target, 1 to 86400 (default 30); with --side-by-side,
#                   per phase
#   AFL_TIMEOUT_MS  per-input timeout in ms, 1 to 3600000 (default 10000, as ci/fuzz.sh's
#                   -timeout=10)
# Everything goes to build/afl/ (binaries), build/afl/seeds/<t>/ (flat copy of corpus/<t>/ and
# corpus/<t>/regressions/), build/afl/out/<t>/ (afl-fuzz -o). Exits non-zero when afl-fuzz fails
# or saves a crash or a hang.
# --side-by-side: libFuzzer and AFL++ on one corpus, per target, in three phases of AFL_SECONDS:
# libFuzzer (build/fuzz/fuzz/<t>, built with the fuzz preset if missing) into
# build/afl/side/<t>/libfuzzer, then afl-fuzz -M main -F <that dir> (imports libFuzzer's finds),
# then libFuzzer -merge=1 of AFL's queue back into the libFuzzer dir.
#
# The structure-aware mutator (fuzz/mutator.c) is NOT linked: AFL++ 4.04c's libAFLDriver never
# calls LLVMFuzzerCustomMutator (afl-fuzz mutates on its own; custom mutators are separate
# AFL_CUSTOM_MUTATOR_LIBRARY plugins), so it would be dead code.
set -euo pipefail
JOB_NAME=afl
source "$(dirname "$0")/lib.sh"

build=1 side=0 targets=()
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    --side-by-side) side=1 ;;
    -h|--help) ci_usage; exit 0 ;;
    -*) ci_die "unknown option '$(ci_printable "$arg")' (see --help)" ;;
    *) [[ "$arg" =~ ^fuzz_[a-z0-9_]+$ ]] || ci_die "not a target name: '$(ci_printable "$arg")' (fuzz_<name>)"
       targets+=("$arg") ;;
  esac
done
ci_env_uint AFL_SECONDS 30 1 86400
ci_env_uint AFL_TIMEOUT_MS 10000 1 3600000
seconds=$AFL_SECONDS timeout_ms=$AFL_TIMEOUT_MS
if [ ${#targets[@]} -eq 0 ]; then
  for f in "$ROOT"/fuzz/fuzz_*.c; do targets+=("$(basename "$f" .c)"); done
fi
for t in "${targets[@]}"; do
  [ -f "$ROOT/fuzz/$t.c" ] || ci_die "no fuzz/$t.c (unknown target '$t'?)"
  [ -d "$ROOT/corpus/$t" ] || ci_die "no corpus directory corpus/$t"
done

out_root="$ROOT/build/afl"
mkdir -p "$out_root"

# --- toolchain ---------------------------------------------------------------------------------
if ! command -v afl-fuzz >/dev/null || ! command -v afl-clang-fast >/dev/null; then
  run "$ROOT/ci/deps.sh" afl++ || { say "could not install afl++"; record 0 1; verdict 1; }
fi

# --- build -------------------------------------------------------------------------------------
build_targets() {
  local obj="$out_root/obj" cflags san=() f o pids=() n=0
  rm -rf "$obj"
  mkdir -p "$obj"
  export AFL_USE_ASAN=1 AFL_QUIET=1
  # UBSan as in the fuzz preset (diagnostic, then abort), rather than AFL_USE_UBSAN's
  # trap-on-error, so a reproduction prints what went wrong. Dropped if it does not link.
  if printf 'int main(void) { return 0; }\n' >"$obj/probe.c" &&
     afl-clang-fast -fsanitize=undefined -fno-sanitize-recover=all "$obj/probe.c" \
       -o "$obj/probe" >/dev/null 2>&1; then
    san=(-fsanitize=undefined -fno-sanitize-recover=all)
    say "build: afl-clang-fast, ASan+UBSan, libAFLDriver (persistent mode)"
  else
    say "build: afl-clang-fast, ASan only (UBSan did not link), libAFLDriver (persistent mode)"
  fi
  cflags=(-std=c11 -O2 -g -fno-omit-frame-pointer -Wall -Wextra "${san[@]}"
          -I"$ROOT/include" -I"$ROOT/src" -I"$ROOT/fuzz")
  # Library + fuzz core objects once, shared by every target; $JOBS compiles at a time.
  # The harness core as fuzz/CMakeLists.txt takes it (every fuzz/*.c but the targets, the
  # mutator, the replay main and the tests).
  local harness=()
  for f in "$ROOT"/fuzz/*.c; do
    case "$(basename "$f")" in fuzz_*.c | mutator.c | replay_main.c | test_*.c) ;; *) harness+=("$f") ;; esac
  done
  for f in "$ROOT"/src/*.c "${harness[@]}"; do
    o="$obj/$(basename "$(dirname "$f")")_$(basename "$f" .c).o"
    afl-clang-fast "${cflags[@]}" -c "$f" -o "$o" &
    pids+=($!) n=$((n + 1))
    if [ "$n" -ge "$JOBS" ]; then wait "${pids[0]}" || return 1; pids=("${pids[@]:1}") n=$((n - 1)); fi
  done
  for p in "${pids[@]}"; do wait "$p" || return 1; done
  for t in "${targets[@]}"; do
    say "+ afl-clang-fast ... -fsanitize=fuzzer fuzz/$t.c -o build/afl/$t"
    # afl-cc turns -fsanitize=fuzzer into a link against libAFLDriver.a (it provides main()).
    afl-clang-fast "${cflags[@]}" -fsanitize=fuzzer "$ROOT/fuzz/$t.c" "$obj"/*.o -lm \
      -o "$out_root/$t" || return 1
  done
  unset AFL_USE_ASAN AFL_QUIET
}
if [ "$build" -eq 1 ]; then
  build_targets || { say "build failed"; record 0 1; verdict 1; }
fi
for t in "${targets[@]}"; do
  [ -x "$out_root/$t" ] || { say "no AFL binary build/afl/$t (run without --no-build)"; record 0 1; verdict 1; }
done

# --- running afl-fuzz --------------------------------------------------------------------------
# Unattended, as root in a container: no UI, no core_pattern/cpufreq checks, no CPU binding
# (the cores may be busy with other jobs). ASAN/UBSAN_OPTIONS are left to afl-fuzz's defaults
# (it refuses user settings without abort_on_error=1:symbolize=0).
# AFL_SECONDS/AFL_TIMEOUT_MS are this script's knobs: hidden from afl-fuzz, which warns about
# AFL_* names it does not know.
afl_env=(env -u ASAN_OPTIONS -u UBSAN_OPTIONS -u MSAN_OPTIONS -u AFL_SECONDS -u AFL_TIMEOUT_MS AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1
         AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1)

# max_len from fuzz/<t>.options -> afl-fuzz -G
max_len() {
  sed -nE 's/^[[:space:]]*max_len[[:space:]]*=[[:space:]]*([0-9]+).*/\1/p' "$ROOT/fuzz/$1.options" 2>/dev/null | tail -n 1
}

# seeds T: flat copy of corpus/T and corpus/T/regressions (README.md skipped); prints the dir.
seeds() {
  local t=$1 dir="$out_root/seeds/$1" f
  rm -rf "$dir"
  mkdir -p "$dir"
  for f in "$ROOT/corpus/$t"/* "$ROOT/corpus/$t"/regressions/*; do
    if [ ! -f "$f" ] || [ "$(basename "$f")" = README.md ]; then continue; fi
    case "$f" in
      */regressions/*) cp "$f" "$dir/regression-$(basename "$f")" ;;
      *) cp "$f" "$dir/" ;;
    esac
  done
  echo "$dir"
}

stat_of() { awk -F' *: *' -v k="$2" '$1 == k { print $2 }' "$1" 2>/dev/null; }

# afl T OUTDIR LOG [ENV=VALUE...]: one afl-fuzz run (extra afl-fuzz arguments in the array
# afl_args); returns its status.
afl_args=()
afl() {
  local t=$1 outdir=$2 log=$3 ml seed_dir
  shift 3
  ml=$(max_len "$t")
  seed_dir=$(seeds "$t")
  rm -rf "$outdir"
  mkdir -p "$(dirname "$outdir")"
  say "+ ${*:+$* }afl-fuzz -i ${seed_dir#"$ROOT"/} -o ${outdir#"$ROOT"/} -V $seconds" \
    "-t $timeout_ms ${ml:+-G $ml }${afl_args[*]:+${afl_args[*]#"$ROOT"/} }-- build/afl/$t"
  "${afl_env[@]}" "$@" afl-fuzz -i "$seed_dir" -o "$outdir" -V "$seconds" -t "$timeout_ms" \
    ${ml:+-G "$ml"} "${afl_args[@]}" -- "$out_root/$t" </dev/null >"$log" 2>&1
}

# seed_problems LOG: afl-fuzz 4.04c only warns about (and skips) seeds that crash or time out
# in its dry run, and saves them nowhere; print those lines so they count as failures.
seed_problems() {
  sed 's/\x1b\[[0-9;]*m//g' "$1" 2>/dev/null | grep -E 'crashed with one of the test cases|results in a (crash|timeout)|Skipped [0-9]+ test cases' || true
}

# findings DIR: crash and hang files afl-fuzz saved under instance dir DIR.
findings() { find "$1/crashes" "$1/hangs" -maxdepth 1 -type f -name 'id:*' 2>/dev/null | sort; }

report_findings() {
  local t=$1 inst=$2 f
  findings "$inst" | while IFS= read -r f; do
    echo "--- $t: $(basename "$(dirname "$f")") ${f#"$ROOT"/}"
    echo "reproduce: build/afl/$t '${f#"$ROOT"/}'"
    if [ -x "$ROOT/build/fuzz/fuzz/$t" ]; then
      echo "       or: build/fuzz/fuzz/$t '${f#"$ROOT"/}'"
    fi
    if [ -x "$ROOT/build/dev/tools/membuf-ops" ]; then
      echo "     text: build/dev/tools/membuf-ops -t $t print '${f#"$ROOT"/}'"
    fi
  done
  return 0
}

rows=() passed=0 failed=0

if [ "$side" -eq 0 ]; then
  for t in "${targets[@]}"; do
    inst="$out_root/out/$t/default"
    log="$out_root/out/$t.log"
    echo "=== $t: afl-fuzz ${seconds}s"
    rc=0
    afl_args=()
    afl "$t" "$out_root/out/$t" "$log" || rc=$?
    st="$inst/fuzzer_stats"
    crashes=$(stat_of "$st" saved_crashes); [ -n "$crashes" ] || crashes=$(stat_of "$st" unique_crashes)
    hangs=$(stat_of "$st" saved_hangs); [ -n "$hangs" ] || hangs=$(stat_of "$st" unique_hangs)
    result=ok
    if [ "$rc" -ne 0 ] || [ ! -f "$st" ]; then
      result="FAIL (afl-fuzz exit $rc)"
      tail -n 25 "$log"
    elif [ "${crashes:-0}" != 0 ] || [ "${hangs:-0}" != 0 ] || [ -n "$(findings "$inst")" ]; then
      result=FAIL
      report_findings "$t" "$inst"
    fi
    bad_seeds=$(seed_problems "$log")
    if [ -n "$bad_seeds" ]; then
      [ "$result" = ok ] && result="FAIL (seeds)"
      echo "--- $t: seeds that crash or time out (afl-fuzz skipped them; see ${log#"$ROOT"/}):"
      echo "$bad_seeds"
    fi
    if [ "$result" = ok ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
    rows+=("$(printf '| %-10s | %10s | %13s | %12s | %13s | %11s | %s |' "$t" \
      "$(stat_of "$st" execs_done)" "$(stat_of "$st" execs_per_sec)" "$(stat_of "$st" corpus_count)" \
      "${crashes:-?}" "${hangs:-?}" "$result")")
  done
  echo
  echo "| target     | execs_done | execs_per_sec | corpus_count | saved_crashes | saved_hangs | result |"
  echo "|------------|------------|---------------|--------------|---------------|-------------|--------|"
  printf '%s\n' "${rows[@]}"
  echo "afl-fuzz output: build/afl/out/<target>/default/ (logs: build/afl/out/<target>.log)"
else
  # --side-by-side: libFuzzer -> AFL++ (importing libFuzzer's dir with -F) -> libFuzzer merge.
  lfbin="$ROOT/build/fuzz/fuzz"
  if [ ! -x "$lfbin/${targets[0]}" ]; then
    if [ "$build" -eq 1 ]; then
      build_preset fuzz || { say "fuzz preset build failed"; record 0 1; verdict 1; }
    else
      say "no libFuzzer binaries in build/fuzz/fuzz (run ci/fuzz.sh once, or drop --no-build)"
      record 0 1; verdict 1
    fi
  fi
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
  for t in "${targets[@]}"; do
    side_dir="$out_root/side/$t"
    lf="$side_dir/libfuzzer"
    rm -rf "$side_dir"
    mkdir -p "$lf"
    ml=$(max_len "$t")
    echo "=== $t: side by side, 3 x ${seconds}s"
    result=ok
    say "+ build/fuzz/fuzz/$t -max_total_time=$seconds ${lf#"$ROOT"/} corpus/$t"
    "$lfbin/$t" ${ml:+-max_len="$ml"} -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$side_dir/" "$lf" "$ROOT/corpus/$t" >"$side_dir/libfuzzer1.log" 2>&1 \
      || { result="FAIL (libFuzzer)"; tail -n 20 "$side_dir/libfuzzer1.log"; }
    lf_new=$(find "$lf" -type f | wc -l)
    rc=0
    afl_args=(-M main -F "$lf")
    afl "$t" "$side_dir/afl" "$side_dir/afl.log" AFL_IMPORT_FIRST=1 || rc=$?
    inst="$side_dir/afl/main"
    st="$inst/fuzzer_stats"
    if [ "$rc" -ne 0 ] || [ ! -f "$st" ]; then
      result="FAIL (afl-fuzz exit $rc)"; tail -n 25 "$side_dir/afl.log"
    elif [ -n "$(findings "$inst")" ]; then
      result=FAIL; report_findings "$t" "$inst"
    fi
    bad_seeds=$(seed_problems "$side_dir/afl.log")
    if [ -n "$bad_seeds" ]; then
      [ "$result" = ok ] && result="FAIL (seeds)"
      echo "--- $t: seeds that crash or time out (afl-fuzz skipped them):"
      echo "$bad_seeds"
    fi
    imported=$(find "$inst/queue" -maxdepth 1 -type f -name '*sync:*' 2>/dev/null | wc -l)
    queue=$(find "$inst/queue" -maxdepth 1 -type f -name 'id:*' 2>/dev/null | wc -l)
    before=$(find "$lf" -type f | wc -l)
    say "+ build/fuzz/fuzz/$t -merge=1 ${lf#"$ROOT"/} ${inst#"$ROOT"/}/queue"
    "$lfbin/$t" ${ml:+-max_len="$ml"} -merge=1 -timeout=10 -rss_limit_mb=2048 "$lf" "$inst/queue" \
      >"$side_dir/merge.log" 2>&1 || { result="FAIL (libFuzzer merge)"; tail -n 20 "$side_dir/merge.log"; }
    after=$(find "$lf" -type f | wc -l)
    if [ "$result" = ok ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
    rows+=("$(printf '| %-10s | %13s | %12s | %9s | %13s | %11s | %s |' "$t" "$lf_new" "$imported" \
      "$queue" "$(stat_of "$st" execs_per_sec)" "+$((after - before))" "$result")")
  done
  echo
  echo "| target     | libFuzzer new | AFL imported | AFL queue | execs_per_sec | merged back | result |"
  echo "|------------|---------------|--------------|-----------|---------------|-------------|--------|"
  printf '%s\n' "${rows[@]}"
  echo "work directory: build/afl/side/<target>/ (libfuzzer/, afl/main/, *.log)"
fi

record "$passed" "$failed"
rc=0
[ "$failed" -eq 0 ] || rc=1
verdict $rc
