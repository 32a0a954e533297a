#!/usr/bin/env bash
# Verifies third-party allocators through membuf's custom family, and the harness against them:
# glibc, and Debian's mimalloc, jemalloc and tcmalloc (gperftools, tcmalloc_minimal).
#
#  (a) conformance: tests/verify/conform.c, built once per allocator and linked directly against
#      it, drives mb_alloc_custom_new over a vtable on the allocator's own API (mi_*, tc_*, or the
#      malloc that jemalloc/glibc export) and checks content across realloc, size 0, realloc
#      failure (injected, the allocator's own, and real out-of-memory under RLIMIT_AS), no overlap
#      under random churn, 16-byte alignment, usable size, exact statistics, one vtable call per
#      request. Table: property x allocator.
#  (b) fuzz_alloc under LD_PRELOAD of each allocator, so the harness's libc-backed families
#      (system, custom over libc, the pool's large blocks) all run on it: libFuzzer without ASan
#      (ASan replaces malloc itself and cannot be combined with another allocator) for a fixed
#      number of runs, then the gcc replay build over the checked-in corpus, a fixed set of seeded
#      random inputs and everything the libFuzzer runs found. LD_DEBUG=bindings shows where each
#      binary's malloc/realloc/free bind: the evidence that the preload took effect.
#  (c) the planted bugs of tests/detectors whose underlying allocator is the C library's (system
#      family blocks, and frees through a system instance) run with each allocator preloaded, plus
#      two debug flavours (glibc's libc_malloc_debug with MALLOC_CHECK_=3, tcmalloc's debug
#      library). Valgrind is not used: it replaces malloc, so a preloaded allocator would be
#      bypassed. Table: program x allocator, what happened; every clean twin must be silent.
#
# Everything goes to build/verify (report.md: all tables as Markdown). Fails on a conformance
# FAIL, a fuzz failure, a preload that did not take effect, a clean twin that was not silent, or
# a membuf report that expected.tsv promises and that went missing under some allocator.
#
# usage: ci/verify-allocators.sh [--help]
#   VERIFY_FUZZ_RUNS   libFuzzer runs per allocator (default 8000)
#   VERIFY_GEN_INPUTS  seeded random replay inputs (default 2000)
#   VERIFY_CHURN_OPS   conform churn ops (default 200000)
#   DET_REPEAT         runs of each planted bug per allocator in (c) (default 5)
#   RUN_TIMEOUT        seconds per program run (default 120)
set -euo pipefail
JOB_NAME=verify-allocators
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
ci_no_args "$@"

T0=$SECONDS
OUTDIR=build/verify
LOGS=$OUTDIR/logs
REPORT=$OUTDIR/report.md
ci_env_uint VERIFY_FUZZ_RUNS 8000 1 1000000000
ci_env_uint VERIFY_GEN_INPUTS 2000 1 1000000
ci_env_uint VERIFY_CHURN_OPS 200000 1 1000000000
ci_env_uint RUN_TIMEOUT 120 1 86400
ci_env_uint DET_REPEAT 5 1 100
FUZZ_RUNS=$VERIFY_FUZZ_RUNS GEN_INPUTS=$VERIFY_GEN_INPUTS CHURN_OPS=$VERIFY_CHURN_OPS
EXPECTED=tests/detectors/expected.tsv

rc=0
passed=0
failed=0
fail() { say "FAIL: $*"; rc=1; }
ok() { passed=$((passed + 1)); }
ko() { failed=$((failed + 1)); fail "$*"; }

run ci/deps.sh libmimalloc-dev libjemalloc-dev libgoogle-perftools-dev

rm -rf "$LOGS" "$OUTDIR/fuzz-out" "$OUTDIR/gen" "$OUTDIR/det"
mkdir -p "$LOGS" "$OUTDIR/bin" "$OUTDIR/fuzz-out" "$OUTDIR/gen/fuzz_alloc" "$OUTDIR/det"

MULTIARCH=$(gcc -print-multiarch)
LIBDIR=/usr/lib/$MULTIARCH
ALLOCS=(glibc mimalloc jemalloc tcmalloc)
declare -A PRELOAD=(
  [glibc]=""
  [mimalloc]=$LIBDIR/libmimalloc.so.2
  [jemalloc]=$LIBDIR/libjemalloc.so.2
  [tcmalloc]=$LIBDIR/libtcmalloc_minimal.so.4
)
# The library each binary's malloc must bind to.
declare -A BINDS_TO=(
  [glibc]=libc.so.6 [mimalloc]=libmimalloc.so.2 [jemalloc]=libjemalloc.so.2
  [tcmalloc]=libtcmalloc_minimal.so.4
)
declare -A CONFORM_DEF=([glibc]="" [mimalloc]=-DVERIFY_MIMALLOC [jemalloc]=-DVERIFY_JEMALLOC
  [tcmalloc]=-DVERIFY_TCMALLOC)
declare -A CONFORM_LIB=([glibc]="" [mimalloc]=-lmimalloc [jemalloc]=-ljemalloc
  [tcmalloc]=-ltcmalloc_minimal)
for a in mimalloc jemalloc tcmalloc; do
  [ -e "${PRELOAD[$a]}" ] || { say "${PRELOAD[$a]} missing"; record 0 1; verdict 1; }
done

# --- what the libraries export -------------------------------------------------------------------
# All three replace malloc when linked or preloaded; each also has its own API.
lib_md=$OUTDIR/libraries.md
{
  echo "| allocator | library | exports (nm -D, allocator entry points) |"
  echo "|---|---|---|"
  echo "| glibc | $(basename "$(gcc -print-file-name=libc.so.6)") | malloc realloc free (the default) |"
  for a in mimalloc jemalloc tcmalloc; do
    syms=$(nm -D --defined-only "${PRELOAD[$a]}" | awk '{print $3}' | sed 's/@.*//' |
      grep -E '^(malloc|realloc|free|malloc_usable_size|mi_malloc|mi_realloc|mi_free|mallocx|rallocx|sallocx|mallctl|tc_malloc|tc_realloc|tc_free|tc_malloc_size)$' |
      sort -u | tr '\n' ' ')
    echo "| $a | $(basename "${PRELOAD[$a]}") | $syms|"
  done
} >"$lib_md"

# --- builds ----------------------------------------------------------------------------------------
# The detector programs whose bug reaches the C library's allocator: blocks of the system family,
# and blocks of other instances freed through a system instance.
DET_PROGRAMS=(leak_system leak_system_longlived realloc_leak_system double_free_system
  foreign_free_system uaf_read_system uaf_write_system overflow_system underflow_system
  size_overflow_system mismatch_pool_via_system mismatch_gpool_via_system mismatch_gsys_via_system)
GCC_DIR=$OUTDIR/gcc
LF_DIR=$OUTDIR/libfuzzer
DET_DIR=$GCC_DIR/tests/detectors
# The detector executables are one per bug class (det_<class>, a few seconds to build them all);
# each names its programs (--list) and runs one as `det_<class> PROGRAM [clean]`.
targets=(--target membuf_internal --target fuzz_alloc --target membuf_detectors)
build_failed=0
{
  run cmake -S . -B "$GCC_DIR" -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DMEMBUF_WERROR=ON &&
    run cmake --build "$GCC_DIR" -j "$JOBS" "${targets[@]}"
} >"$LOGS/build-gcc.log" 2>&1 || build_failed=1
{
  run cmake -S . -B "$LF_DIR" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DMEMBUF_WERROR=ON -DMEMBUF_FUZZ=ON -DMEMBUF_TESTS=OFF &&
    run cmake --build "$LF_DIR" -j "$JOBS" --target fuzz_alloc
} >"$LOGS/build-libfuzzer.log" 2>&1 || build_failed=1
CFLAGS_CONFORM=(-std=c11 -O2 -g -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Werror
  -Iinclude)
for a in "${ALLOCS[@]}"; do
  # shellcheck disable=SC2086 # empty for glibc
  gcc "${CFLAGS_CONFORM[@]}" ${CONFORM_DEF[$a]} tests/verify/conform.c "$GCC_DIR/libmembuf_internal.a" \
    -Wl,--no-as-needed ${CONFORM_LIB[$a]} -lm -ldl -o "$OUTDIR/bin/conform_$a" \
    >>"$LOGS/build-conform.log" 2>&1 || build_failed=1
done
grep -h '^\[verify-allocators\] +' "$LOGS"/build-*.log || true
if [ "$build_failed" -ne 0 ]; then
  tail -n 30 "$LOGS"/build-*.log
  say "build failed (logs in $LOGS)"
  record 0 1
  verdict 1
fi
declare -A DET_EXE # program -> its executable
while read -r exe; do
  [ -n "$exe" ] || continue
  for p in $("$DET_DIR/$exe" --list); do DET_EXE[$p]=$exe; done
done <"$DET_DIR/executables.txt"
for p in "${DET_PROGRAMS[@]}"; do
  if [ -z "${DET_EXE[$p]:-}" ]; then
    say "no detector executable lists the program $p (tests/detectors)"
    record 0 1
    verdict 1
  fi
done
REPLAY=$GCC_DIR/fuzz/fuzz_alloc
LIBFUZZER=$LF_DIR/fuzz/fuzz_alloc
if nm "$LIBFUZZER" | grep -q __asan_init; then
  fail "$LIBFUZZER is built with ASan: it cannot run on a preloaded allocator"
fi
say "built in $((SECONDS - T0)) s"

# --- (a) conformance --------------------------------------------------------------------------------
T_A=$SECONDS
declare -A CELL VERSION
props=()
for a in "${ALLOCS[@]}"; do
  st=0
  VERIFY_CHURN_OPS=$CHURN_OPS timeout "$RUN_TIMEOUT" "$OUTDIR/bin/conform_$a" \
    >"$LOGS/conform-$a.out" 2>"$LOGS/conform-$a.err" || st=$?
  VERSION[$a]=$(awk -F'\t' '$1 == "ALLOC" {print $3}' "$LOGS/conform-$a.out")
  rows=0
  while IFS=$'\t' read -r tag prop res det; do
    [ "$tag" = ROW ] || continue
    rows=$((rows + 1))
    [ -n "${CELL[$prop,glibc]+x}${CELL[$prop,mimalloc]+x}${CELL[$prop,jemalloc]+x}${CELL[$prop,tcmalloc]+x}" ] ||
      props+=("$prop")
    det=${det//|/\\|}
    if [ "$res" = PASS ]; then
      CELL[$prop,$a]="pass: $det"
      ok
    elif [ "$res" = INCOMPLETE ]; then
      CELL[$prop,$a]="incomplete: $det" # the crash itself is another row's FAIL
    else
      CELL[$prop,$a]="**FAIL**: $det"
      ko "conformance, $a: $prop: $det"
    fi
  done <"$LOGS/conform-$a.out"
  if [ "$rows" -eq 0 ] || { [ "$st" -ne 0 ] && [ "$st" -ne 1 ]; }; then
    ko "conform_$a exited $st with $rows rows (see $LOGS/conform-$a.err)"
  fi
done
conf_md=$OUTDIR/conformance.md
{
  printf '| property |'; printf ' %s |' "${ALLOCS[@]}"; echo
  printf '|---|'; for _ in "${ALLOCS[@]}"; do printf -- '---|'; done; echo
  printf '| version |'; for a in "${ALLOCS[@]}"; do printf ' %s |' "${VERSION[$a]:-?}"; done; echo
  for p in "${props[@]}"; do
    printf '| %s |' "$p"
    for a in "${ALLOCS[@]}"; do printf ' %s |' "${CELL[$p,$a]:-no result}"; done
    echo
  done
} >"$conf_md"
cat "$conf_md"
say "conformance: $((SECONDS - T_A)) s"

# --- (b) fuzz_alloc on each allocator ---------------------------------------------------------------
T_B=$SECONDS
# Evidence: where a binary's own references to malloc/realloc/free bind with the preload.
# binds_of BINARY ALLOC ARGS...: prints "lib lib lib" for malloc realloc free.
binds_of() {
  local bin=$1 a=$2
  shift 2
  local log
  log=$(env LD_PRELOAD="${PRELOAD[$a]}" LD_DEBUG=bindings MEMBUF_REPLAY_NOFORK=1 "$bin" "$@" 2>&1 >/dev/null || true)
  local s out=""
  for s in malloc realloc free; do
    local lib
    lib=$(grep -E "binding file [^ ]*$(basename "$bin") \[0\] to [^ ]+ \[0\]: normal symbol \`$s'" <<<"$log" |
      head -n 1 | sed -E 's/.* to ([^ ]+) \[0\]: .*/\1/')
    out+="$(basename "${lib:-none}") "
  done
  echo "${out% }"
}
EVIDENCE_INPUT=$(find corpus/fuzz_alloc -maxdepth 1 -type f ! -name README.md | sort | head -n 1)
ev_md=$OUTDIR/evidence.md
{
  echo "| allocator | LD_PRELOAD | replay build: malloc realloc free bind to | libFuzzer build | detector programs |"
  echo "|---|---|---|---|---|"
} >"$ev_md"
for a in "${ALLOCS[@]}"; do
  want=${BINDS_TO[$a]}
  b1=$(binds_of "$REPLAY" "$a" "$EVIDENCE_INPUT")
  b2=$(binds_of "$LIBFUZZER" "$a" -runs=1 "$EVIDENCE_INPUT")
  b3=$(binds_of "$DET_DIR/${DET_EXE[leak_system]}" "$a" leak_system clean)
  cell() { if [ "$1" = "$want $want $want" ]; then echo "$want (all three)"; else echo "**$1**"; fi; }
  echo "| $a | ${PRELOAD[$a]:-(none)} | $(cell "$b1") | $(cell "$b2") | $(cell "$b3") |" >>"$ev_md"
  for b in "$b1" "$b2" "$b3"; do
    if [ "$b" = "$want $want $want" ]; then ok; else ko "$a: preload evidence: '$b', want $want"; fi
  done
done
cat "$ev_md"

# Seeded random inputs (every byte string is a valid op sequence).
python3 - "$OUTDIR/gen/fuzz_alloc" "$GEN_INPUTS" <<'EOF'
import random, sys
out, n = sys.argv[1], int(sys.argv[2])
r = random.Random(0x6d656d62)
for i in range(n):
    size = r.randint(1, 2048)
    with open(f"{out}/gen{i:05d}", "wb") as f:
        f.write(r.randbytes(size))
EOF

# libFuzzer (no ASan) for a fixed number of runs per allocator, JOBS at a time; new inputs go to
# fuzz-out/ALLOC (first corpus directory), the checked-in corpus is only read.
libfuzzer_one() {
  local a=$1 st=0
  mkdir -p "$OUTDIR/fuzz-out/$a"
  timeout "$RUN_TIMEOUT" env LD_PRELOAD="${PRELOAD[$a]}" "$LIBFUZZER" -runs="$FUZZ_RUNS" -seed=1 \
    -max_len=2048 -rss_limit_mb=2048 -artifact_prefix="$OUTDIR/fuzz-out/$a-" \
    "$OUTDIR/fuzz-out/$a" corpus/fuzz_alloc >"$LOGS/libfuzzer-$a.log" 2>&1 || st=$?
  echo "$st" >"$LOGS/libfuzzer-$a.rc"
}
replay_one() {
  local a=$1 st=0
  # shellcheck disable=SC2046 # the libFuzzer output directories, as separate arguments
  timeout "$RUN_TIMEOUT" env LD_PRELOAD="${PRELOAD[$a]}" "$REPLAY" corpus/fuzz_alloc \
    "$OUTDIR/gen/fuzz_alloc" $(printf "$OUTDIR/fuzz-out/%s " "${ALLOCS[@]}") \
    >"$LOGS/replay-$a.log" 2>&1 || st=$?
  echo "$st" >"$LOGS/replay-$a.rc"
}
in_parallel() { # FUNCTION: runs it for every allocator, JOBS at a time
  local n=0 a
  for a in "${ALLOCS[@]}"; do
    "$1" "$a" &
    n=$((n + 1))
    if [ $((n % JOBS)) -eq 0 ]; then wait; fi
  done
  wait
}
say "+ libFuzzer fuzz_alloc, $FUZZ_RUNS runs per allocator, $JOBS at a time"
in_parallel libfuzzer_one
say "+ replay (gcc build): corpus/fuzz_alloc, $GEN_INPUTS seeded random inputs, the libFuzzer finds"
in_parallel replay_one
fuzz_md=$OUTDIR/fuzz.md
{
  echo "| allocator | libFuzzer (no ASan): runs, result | coverage at the end | new inputs | replay (gcc, non-sanitized): inputs | result |"
  echo "|---|---|---|---|---|---|"
} >"$fuzz_md"
for a in "${ALLOCS[@]}"; do
  lst=$(cat "$LOGS/libfuzzer-$a.rc")
  lf_done=$(grep -E '^Done [0-9]+ runs in' "$LOGS/libfuzzer-$a.log" | tail -n 1 || true)
  lf_stat=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$LOGS/libfuzzer-$a.log" | tail -n 1 |
    sed -E 's/.*(cov: [0-9]+ ft: [0-9]+).*(exec\/s: [0-9]+).*/\1, \2/' || true)
  new=$(find "$OUTDIR/fuzz-out/$a" -type f | wc -l)
  if [ "$lst" -eq 0 ] && [ -n "$lf_done" ]; then
    lf_res="pass: ${lf_done#Done }"
    ok
  else
    lf_res="**FAIL** (exit $lst): $(grep -m1 -E 'ERROR|membuf-fuzz|deadly' "$LOGS/libfuzzer-$a.log" | cut -c1-100 || true)"
    ko "libFuzzer on $a exited $lst (see $LOGS/libfuzzer-$a.log)"
  fi
  rst=$(cat "$LOGS/replay-$a.rc")
  summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$LOGS/replay-$a.log" | tail -n 1 || true)
  if [ "$rst" -eq 0 ] && [ -n "$summary" ]; then
    r_res=pass
    ok
  else
    r_res="**FAIL** (exit $rst): $(grep -m1 -E 'membuf-fuzz|FAILED' "$LOGS/replay-$a.log" | cut -c1-100 || true)"
    ko "replay on $a: ${summary:-no summary} (see $LOGS/replay-$a.log)"
  fi
  echo "| $a | $lf_res | ${lf_stat:-?} | $new | ${summary:-?} | $r_res |" >>"$fuzz_md"
done
cat "$fuzz_md"
say "fuzz: $((SECONDS - T_B)) s"

# --- (c) planted bugs with the allocator preloaded --------------------------------------------------
T_C=$SECONDS
GLIBC_DEBUG=$LIBDIR/libc_malloc_debug.so.0
TC_DEBUG=$LIBDIR/libtcmalloc_minimal_debug.so.4
CONFIGS=("${ALLOCS[@]}")
declare -A CFG_PRELOAD CFG_ENV CFG_TITLE
for a in "${ALLOCS[@]}"; do CFG_PRELOAD[$a]=${PRELOAD[$a]}; CFG_ENV[$a]=""; CFG_TITLE[$a]=$a; done
if [ -e "$GLIBC_DEBUG" ]; then
  CONFIGS+=(glibc-check)
  CFG_PRELOAD[glibc-check]=$GLIBC_DEBUG
  CFG_ENV[glibc-check]=MALLOC_CHECK_=3
  CFG_TITLE[glibc-check]="glibc, MALLOC_CHECK_=3 (debug)"
fi
if [ -e "$TC_DEBUG" ]; then
  CONFIGS+=(tcmalloc-debug)
  CFG_PRELOAD[tcmalloc-debug]=$TC_DEBUG
  CFG_ENV[tcmalloc-debug]=""
  CFG_TITLE[tcmalloc-debug]="tcmalloc_minimal_debug (debug)"
fi

# The membuf column of expected.tsv: a report membuf must still make whatever the allocator.
declare -A MEMBUF_YES
while IFS=$'\t' read -r prog m _; do MEMBUF_YES[$prog]=$m; done < <(tail -n +2 "$EXPECTED")

det_one() { # PROG VARIANT CONFIG [RUN]: leaves .out .err .rc under $OUTDIR/det
  local prog=$1 variant=$2 cfg=$3 st=0
  local args=("$prog")
  [ "$variant" = clean ] && args+=(clean)
  local log=$OUTDIR/det/$prog.$variant.$cfg${4:+.$4}
  # shellcheck disable=SC2086 # CFG_ENV is empty or one NAME=VALUE word
  { timeout "$RUN_TIMEOUT" env ${CFG_ENV[$cfg]} LD_PRELOAD="${CFG_PRELOAD[$cfg]}" \
    "$DET_DIR/${DET_EXE[$prog]}" "${args[@]}" >"$log.out" 2>"$log.err" || st=$?; } 2>/dev/null
  echo "$st" >"$log.rc"
}
# outcome LOG: one cell. membuf's own report is named as such (it is not the allocator's).
outcome() {
  local log=$1 st line sig
  st=$(cat "$log.rc")
  line=$(grep -m1 '^membuf: ' "$log.err" || true)
  if [ -n "$line" ]; then
    line=${line#membuf: }
    local kind=${line%%:*} extra=""
    # A counter that went below zero (a double or foreign free the allocator accepted).
    if grep -qE '(^|[^0-9])1844674407370955[0-9]{4} blocks' <<<"$line"; then
      extra=" (live_blocks wrapped below 0)"
    fi
    echo "membuf: $kind$extra"
    return
  fi
  # Addresses vary from run to run: masked, so that equal outcomes compare equal.
  line=$(grep -v -m1 -E '^\s*$|^grow failed' "$log.err" | sed -E 's/0x[0-9a-f]+/0x…/g; s/[[:space:]]+$//' |
    cut -c1-80 || true)
  line=${line//|/\\|}
  line=${line//\`/\'}
  if [ "$st" -eq 0 ]; then
    echo "silent"
  elif [ "$st" -eq 124 ]; then
    echo "**timeout**"
  elif [ "$st" -gt 128 ]; then
    sig=$(kill -l $((st - 128)) 2>/dev/null || echo $((st - 128)))
    if [ "$sig" = ABRT ] && [ -n "$line" ]; then
      echo "abort: $line"
    else
      echo "crash: SIG$sig${line:+ ($line)}"
    fi
  else
    echo "exit $st${line:+: $line}"
  fi
}
say "+ ${#DET_PROGRAMS[@]} planted-bug programs and their clean twins x ${#CONFIGS[@]} allocator configurations"
# A bug variant runs DET_REPEAT times: what a bad free does can depend on the address layout
# (ASLR), so an outcome that varies is shown with its frequency. Clean twins run once.
for p in "${DET_PROGRAMS[@]}"; do
  for c in "${CONFIGS[@]}"; do
    for i in $(seq "$DET_REPEAT"); do det_one "$p" bug "$c" "$i"; done
    det_one "$p" clean "$c"
  done
done
# bug_cell PROG CONFIG: the most frequent outcome of the bug variant's runs, and the others.
bug_cell() {
  local i
  for i in $(seq "$DET_REPEAT"); do outcome "$OUTDIR/det/$1.bug.$2.$i"; done |
    sort | uniq -c | sort -k1,1nr -k2 | {
      read -r n first
      local others=""
      while read -r m o; do others+="; $m/$DET_REPEAT: $o"; done
      if [ -n "$others" ]; then echo "$first ($n/$DET_REPEAT$others)"; else echo "$first"; fi
    }
}
det_md=$OUTDIR/detectors.md
declare -A DETECTED CRASHED SILENT MEMBUF_ONLY
{
  printf '| planted bug |'; for c in "${CONFIGS[@]}"; do printf ' %s |' "${CFG_TITLE[$c]}"; done; echo
  printf '|---|'; for _ in "${CONFIGS[@]}"; do printf -- '---|'; done; echo
} >"$det_md"
clean_bad=0
for p in "${DET_PROGRAMS[@]}"; do
  row="| \`$p\` |"
  for c in "${CONFIGS[@]}"; do
    o=$(bug_cell "$p" "$c")
    case $o in
      silent) SILENT[$c]=$((${SILENT[$c]:-0} + 1)) ;;
      membuf:*) MEMBUF_ONLY[$c]=$((${MEMBUF_ONLY[$c]:-0} + 1)) ;;
      abort:*) DETECTED[$c]=$((${DETECTED[$c]:-0} + 1)) ;;
      *) CRASHED[$c]=$((${CRASHED[$c]:-0} + 1)) ;;
    esac
    if [ "${MEMBUF_YES[$p]:-}" = yes ] && [[ $o != membuf:* ]]; then
      ko "$p under $c: expected.tsv says membuf reports it, got: $o"
      o="**$o** (membuf report expected)"
    elif [ "${MEMBUF_YES[$p]:-}" = yes ]; then
      ok
    fi
    # The clean twin: exit 0, nothing on stderr.
    cst=$(cat "$OUTDIR/det/$p.clean.$c.rc")
    if [ "$cst" -ne 0 ] || [ -s "$OUTDIR/det/$p.clean.$c.err" ]; then
      ko "clean twin of $p under $c: $(outcome "$OUTDIR/det/$p.clean.$c")"
      o="$o; **clean twin: $(outcome "$OUTDIR/det/$p.clean.$c")**"
      clean_bad=$((clean_bad + 1))
    else
      ok
    fi
    row+=" $o |"
  done
  echo "$row" >>"$det_md"
done
{
  printf '| **allocator detected** (abort with its own message) |'
  for c in "${CONFIGS[@]}"; do printf ' %s of %s |' "${DETECTED[$c]:-0}" "${#DET_PROGRAMS[@]}"; done; echo
  printf '| crashed (signal, no message) |'
  for c in "${CONFIGS[@]}"; do printf ' %s |' "${CRASHED[$c]:-0}"; done; echo
  printf '| only membuf reported |'
  for c in "${CONFIGS[@]}"; do printf ' %s |' "${MEMBUF_ONLY[$c]:-0}"; done; echo
  printf '| silent |'
  for c in "${CONFIGS[@]}"; do printf ' %s |' "${SILENT[$c]:-0}"; done; echo
  printf '| clean twins silent |'
  for c in "${CONFIGS[@]}"; do
    n=0
    for p in "${DET_PROGRAMS[@]}"; do
      [ "$(cat "$OUTDIR/det/$p.clean.$c.rc")" -eq 0 ] && [ ! -s "$OUTDIR/det/$p.clean.$c.err" ] && n=$((n + 1))
    done
    printf ' %s of %s |' "$n" "${#DET_PROGRAMS[@]}"
  done
  echo
} >>"$det_md"
cat "$det_md"
say "detectors: $((SECONDS - T_C)) s"

# --- the report ------------------------------------------------------------------------------------
{
  echo "# verify-allocators"
  echo
  echo "Generated by ci/verify-allocators.sh in $((SECONDS - T0)) s ($JOBS jobs;"
  echo "libFuzzer $FUZZ_RUNS runs per allocator, $GEN_INPUTS random replay inputs, $CHURN_OPS churn ops)."
  echo
  echo "## Libraries"
  echo
  cat "$lib_md"
  echo
  echo "## (a) Conformance through mb_alloc_custom_new (tests/verify/conform.c)"
  echo
  cat "$conf_md"
  echo
  echo "## (b) fuzz_alloc with the allocator preloaded"
  echo
  echo "Where each binary's own malloc/realloc/free bind (LD_DEBUG=bindings):"
  echo
  cat "$ev_md"
  echo
  cat "$fuzz_md"
  echo
  echo "## (c) Planted bugs (tests/detectors) with the allocator preloaded"
  echo
  echo "\`membuf: ...\` is membuf's own report (default handler: message, abort), not the allocator's."
  echo "Each bug variant ran $DET_REPEAT times; an outcome that varied shows its frequency (n/$DET_REPEAT)."
  echo "Summary rows count each cell's most frequent outcome."
  echo
  cat "$det_md"
} >"$REPORT"
say "report written to $REPORT ($((SECONDS - T0)) s in all)"
record "$passed" "$failed"
verdict $rc
