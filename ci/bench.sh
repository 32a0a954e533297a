#!/usr/bin/env bash
# Benchmarks: builds the bench preset (gcc -O2, no sanitizers), runs every program in bench/ and
# prints Markdown tables (also written to build/bench/results.md; the raw records to
# build/bench/raw.tsv). Every figure is the median and min–max of REPS interleaved runs (run 1 of
# every variant, then run 2, ...; across executables too), and every comparison is a ratio of
# medians to a baseline measured in the same run.
#
# usage: ci/bench.sh [--quick] [--no-fuzz] [--reps N] [--fuzz-runs N] [--help]
#   --quick        a short smoke run (small sizes; seconds, plus the builds)
#   --no-fuzz      skip the fuzzing-throughput section (and its two clang builds)
#   --reps N       interleaved runs per figure, 1 to 31 (default 5)
#   --fuzz-runs N  libFuzzer -runs per fuzzing run (default 4000; --quick: 200)
# Installs libmimalloc-dev, libjemalloc-dev, libgoogle-perftools-dev and python3-numpy if missing
# (rows for an allocator whose library is absent are left out; numpy rows likewise).
set -euo pipefail
JOB_NAME=bench
source "$(dirname "$0")/lib.sh"

quick=0 fuzz=1 reps=5 fuzz_runs=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --no-fuzz) fuzz=0 ;;
    --reps) [ $# -ge 2 ] || ci_die "--reps needs a value"; reps=$2; shift ;;
    --reps=*) reps=${1#--reps=} ;;
    --fuzz-runs) [ $# -ge 2 ] || ci_die "--fuzz-runs needs a value"; fuzz_runs=$2; shift ;;
    --fuzz-runs=*) fuzz_runs=${1#--fuzz-runs=} ;;
    -h|--help) ci_usage; exit 0 ;;
    *) ci_die "unknown argument '$(ci_printable "$1")' (see --help)" ;;
  esac
  shift
done
ci_uint --reps "$reps" 1 31
[ "$reps" -ge 5 ] || say "warning: --reps $reps: figures are meant to be medians of at least 5 runs"
# shellcheck disable=SC2054 # --mib=1,64 is one argument: a comma-separated list
if [ "$quick" -eq 1 ]; then
  churn_steps=200000 mixed_steps=50000 growth_resizes=100000 overhead_blocks=100000
  fill_args=(--mib=1,64 --bytes=256Mi --normal=1000000 --samples=3000000)
  fuzz_runs=${fuzz_runs:-200}
else
  churn_steps=20000000 mixed_steps=2000000 growth_resizes=2000000 overhead_blocks=1000000
  fill_args=(--mib=1,64 --bytes=4Gi --normal=1000000 --samples=20000000)
  fuzz_runs=${fuzz_runs:-4000}
fi
ci_uint --fuzz-runs "$fuzz_runs" 1 1000000000
t_start=$(date +%s)

# --- Dependencies -------------------------------------------------------------------------------
pkgs=(libmimalloc-dev libjemalloc-dev libgoogle-perftools-dev python3-numpy)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  say "installing ${missing[*]}"
  if ! { $sudo apt-get update -qq &&
         $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
           "${missing[@]}" >/dev/null; }; then
    say "warning: could not install ${missing[*]}: their rows will be missing"
  fi
fi
if [ "$fuzz" -eq 1 ]; then
  "$ROOT/ci/deps.sh" >/dev/null || say "warning: ci/deps.sh failed (the fuzz builds need clang)"
fi

# --- Build --------------------------------------------------------------------------------------
build_preset bench
bin="$ROOT/build/bench/bench"
out="$ROOT/build/bench"
raw="$out/raw.tsv"
results="$out/results.md"
: >"$raw"
errlog="$out/errors.log"
: >"$errlog"
failures=0

# The Python with numpy: the PATH's python3, else Debian's (python3-numpy installs there).
py=""
for cand in python3 /usr/bin/python3; do
  if command -v "$cand" >/dev/null && "$cand" -c 'import numpy' 2>/dev/null; then py=$cand; break; fi
done

# --- Machine ------------------------------------------------------------------------------------
header=$(mktemp)
trap 'rm -f "$header"' EXIT
{
  echo "## membuf benchmarks"
  echo
  cpu=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
  echo "- CPU: ${cpu:-unknown}, $(nproc) cores online ($(grep -c '^processor' /proc/cpuinfo) in /proc/cpuinfo)"
  caches=$(lscpu 2>/dev/null | grep -E '^L[123][di]? cache' | sed -E 's/ +/ /g; s/ cache:/:/' |
           paste -sd, - | sed 's/,/, /g' || true)
  [ -n "$caches" ] && echo "- caches: $caches"
  echo "- $(gcc --version | head -n 1); $(uname -sr); glibc $(getconf GNU_LIBC_VERSION | cut -d' ' -f2)"
  vers=()
  for p in libmimalloc-dev libjemalloc-dev libgoogle-perftools-dev python3-numpy; do
    v=$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null || true)
    vers+=("${p} ${v:-absent}")
  done
  echo "- packages: $(IFS=,; echo "${vers[*]}" | sed 's/,/, /g'); python with numpy: ${py:-none}"
  thp=$(sed -E 's/.*\[(.*)\].*/\1/' /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || echo '?')
  echo "- preset bench (gcc -O2 -DNDEBUG); transparent hugepages: $thp; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  mode="full"
  [ "$quick" -eq 1 ] && mode="quick (--quick: small sizes, for a smoke test only)"
  echo "- run: $mode, $reps interleaved runs per figure, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "Ratios are of medians measured in the same run: \"N× faster\" below 1 means slower."
  echo
} >"$header"
cat "$header"

# run_rec CMD...: appends CMD's records to raw.tsv; a failure is logged and counted, not fatal.
run_rec() {
  local err
  local rc=0
  err=$(mktemp)
  "$@" >>"$raw" 2>"$err" || rc=$?
  if [ "$rc" -eq 0 ]; then
    rm -f "$err"
    return 0
  fi
  failures=$((failures + 1))
  { echo "FAILED (exit $rc): $*"; cat "$err"; } | tee -a "$errlog" >&2
  rm -f "$err"
  return 0
}

# interleave REPS ARGS... over every flavour of bench_<workload>: run k of each executable, in
# an order rotated by k, then run k+1.
interleave() {
  local workload=$1; shift
  local exes=()
  for f in "" _mimalloc _jemalloc _tcmalloc; do
    [ -x "$bin/bench_${workload}$f" ] && exes+=("$bin/bench_${workload}$f")
  done
  local n=${#exes[@]} k i
  for ((k = 0; k < reps; k++)); do
    for ((i = 0; i < n; i++)); do
      run_rec "${exes[$(((i + k) % n))]}" --tsv --rep=$k "$@" 1
    done
  done
}

section() { say "== $* ($(($(date +%s) - t_start)) s)"; }

# --- Allocator workloads ------------------------------------------------------------------------
section "small churn"
interleave churn "$churn_steps"
section "mixed churn"
interleave churn --mixed "$mixed_steps"
section "growth"
interleave growth "$growth_resizes"
section "memory overhead"
interleave overhead "$overhead_blocks"

# --- Fill ---------------------------------------------------------------------------------------
section "fill"
normal_n=1000000 samples=20000000
for a in "${fill_args[@]}"; do
  case "$a" in --normal=*) normal_n=${a#--normal=} ;; --samples=*) samples=${a#--samples=} ;; esac
done
fills=$((samples / normal_n)); [ "$fills" -ge 3 ] || fills=3
for ((k = 0; k < reps; k++)); do
  run_rec "$bin/bench_fill" --tsv --rep=$k "${fill_args[@]}" 1
  if [ -n "$py" ]; then run_rec "$py" "$ROOT/bench/numpy_normal.py" --tsv "$normal_n" "$fills" 1; fi
done
[ -n "$py" ] || say "no python3 with numpy: numpy rows left out"

# --- Fuzzing throughput -------------------------------------------------------------------------
if [ "$fuzz" -eq 1 ]; then
  section "fuzzing throughput: builds"
  fuzz_ok=1
  build_preset fuzz || fuzz_ok=0
  if [ "$fuzz_ok" -eq 1 ]; then
    run cmake --preset fuzz -DMEMBUF_FUZZ_MUTATOR=OFF -B "$ROOT/build/fuzz-nomut" >/dev/null &&
      run cmake --build "$ROOT/build/fuzz-nomut" -j "$JOBS" --target fuzz_alloc fuzz_buf fuzz_guard \
        >/dev/null || fuzz_ok=0
  fi
  if [ "$fuzz_ok" -eq 0 ]; then
    failures=$((failures + 1))
    echo "FAILED: fuzz builds" | tee -a "$errlog" >&2
  else
    section "fuzzing throughput: $fuzz_runs runs per run"
    work="$out/fuzzwork"
    targets=()
    for f in "$ROOT"/fuzz/fuzz_*.c; do targets+=("$(basename "$f" .c)"); done
    configs=("mutator (default)" "mutator build, MEMBUF_MUTATOR=0" "MEMBUF_FUZZ_MUTATOR=OFF build")
    # ASLR off (when allowed): heap addresses feed the targets' coverage, so with it on, the same
    # -seed does different work from run to run; off, every run of a configuration is the same.
    norand=()
    if setarch "$(uname -m)" -R true 2>/dev/null; then norand=(setarch "$(uname -m)" -R); fi
    # fuzz_once TARGET CONFIG: one run; prints an R record with its exec/s.
    fuzz_once() {
      local t=$1 cfg=$2 exe="$ROOT/build/fuzz/fuzz/$1" envs=()
      case "$cfg" in
        *MEMBUF_MUTATOR=0) envs=(MEMBUF_MUTATOR=0) ;;
        *=OFF\ build) exe="$ROOT/build/fuzz-nomut/fuzz/$t" ;;
      esac
      local opts=() d="$work/$t"
      if [ -f "$ROOT/fuzz/$t.options" ]; then
        while IFS= read -r o; do opts+=("$o"); done < <(
          sed -nE 's/^[[:space:]]*([a-z_]+)[[:space:]]*=[[:space:]]*([^[:space:]]+).*/-\1=\2/p' \
            "$ROOT/fuzz/$t.options")
      fi
      rm -rf "$d"
      mkdir -p "$d/new" "$d/artifacts"
      local t0 t1 rc=0
      t0=$(date +%s%N)
      "${norand[@]}" env "${envs[@]}" ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        "$exe" -runs="$fuzz_runs" -seed=1 -print_final_stats=1 "${opts[@]}" \
        -artifact_prefix="$d/artifacts/" "$d/new" "$ROOT/corpus/$t" >"$d/log" 2>&1 || rc=$?
      t1=$(date +%s%N)
      if [ "$rc" -ne 0 ]; then
        echo "$t ($cfg) exited $rc; log: $d/log (kept as $d.failed.log)" >&2
        cp "$d/log" "$d.failed.log"
        return 1
      fi
      local units
      units=$(sed -nE 's/^stat::number_of_executed_units: ([0-9]+).*/\1/p' "$d/log")
      awk -v t="$t" -v c="$cfg" -v n="${units:-$fuzz_runs}" -v ns=$((t1 - t0)) \
        'BEGIN { printf "R\t%s\t%s\t%.9g\n", t, c, n / (ns / 1e9) }'
    }
    for t in "${targets[@]}"; do
      printf 'T\t%s\tFuzzing throughput: %s\tconfiguration\texec/s\trate\t0\t%s\n' "$t" "$t" "${configs[2]}" >>"$raw"
      printf 'N\t%s\tOne single-threaded libFuzzer process (ASan+UBSan, clang RelWithDebInfo), -runs=%s -seed=1%s and the .options limits, from corpus/%s/ (new units go to a scratch directory); exec/s = executed units / wall time of the whole process (start-up and corpus load included). The configurations generate different inputs, so they do different work per exec.\n' "$t" "$fuzz_runs" "${norand:+, ASLR off}" "$t" >>"$raw"
    done
    n=${#configs[@]}
    for ((k = 0; k < reps; k++)); do
      for t in "${targets[@]}"; do
        for ((i = 0; i < n; i++)); do
          run_rec fuzz_once "$t" "${configs[$(((i + k) % n))]}"
        done
      done
    done
  fi
fi

# --- Report -------------------------------------------------------------------------------------
section "report"
tables=$(mktemp)
"$bin/bench_report" "$raw" >"$tables" || { failures=$((failures + 1)); echo "FAILED: bench_report" >&2; }
elapsed=$(($(date +%s) - t_start))
{
  cat "$header"
  cat "$tables"
  echo "Total time: ${elapsed} s (builds included)."
  if [ "$failures" -gt 0 ]; then
    echo
    echo "**$failures benchmark run(s) failed**; see build/bench/errors.log."
  fi
} >"$results"
rm -f "$tables"
echo
sed -n "$(($(wc -l <"$header") + 1)),\$p" "$results"
say "results: $results (raw records: $raw)"
[ "$failures" -eq 0 ]
