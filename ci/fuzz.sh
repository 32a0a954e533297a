#!/usr/bin/env bash
# The main job: build the fuzz preset (clang, libFuzzer, ASan+UBSan) and fuzz each target for
# FUZZ_SECONDS, starting from the checked-in corpus, in a run directory of its own.
#
# usage: ci/fuzz.sh [--update-corpus] [--no-build] [--minimize] [TARGET...]
#   TARGET           a fuzz/fuzz_*.c name: fuzz_buf, fuzz_alloc, fuzz_guard (default: all)
#   --update-corpus  add to corpus/<target>/ the new inputs that reach new edges (libFuzzer
#                    -merge=1 -use_counters=0 into a fresh directory: the checked-in corpus
#                    first, then the new inputs); never deletes or changes a checked-in file
#   --no-build       use the existing build/fuzz
#   --minimize       before triage, let libFuzzer's -minimize_crash shrink a finding (slow)
#   -h, --help       this text
# Environment (numbers: positive decimal integers):
#   FUZZ_SECONDS           seconds per target (default 60, at most 604800)
#   FUZZ_JOBS              libFuzzer processes per target, -fork when above 1 (default: cores)
#   FUZZ_WORKDIR           work directory (default: build/fuzz-work in this clone); a new or
#                          empty directory, or one this script made (it holds .membuf-fuzz-workdir);
#                          never the checkout, a source directory, /, $HOME or one of their parents
#   FUZZ_HEARTBEAT         seconds between progress lines (default 10)
#   FUZZ_MINIMIZE=1        same as --minimize; FUZZ_MINIMIZE_SECONDS its budget (default 30)
#   FUZZ_KEEP_RUNS         finished runs kept in the work directory (default 10; runs with
#                          findings are always kept)
#   MEMBUF_MUTATOR=0|1     the structure-aware mutator off / on (also off / on; default on)
#   ASAN_OPTIONS, UBSAN_OPTIONS  passed on (defaults: leaks detected, halt on UBSan errors)
# Each run gets WORKDIR/run-<date>-<id>/<target>/ (corpus/: new inputs, artifacts/, fuzz.log);
# it deletes nothing else, and two runs never share one. A finding (crash, leak, timeout) is
# triaged by ci/triage.sh (op-level shrink, text form, one corpus file and one C test, or a
# duplicate of one filed before) and the script exits 1. Bad usage: one line, exit 2.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/args.sh" # ci_die, ci_printable, ci_usage, ci_uint, ci_env_uint
caller=$PWD
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)

rel() { # a path as the user wants to read it: relative to the checkout when inside it
  case "$1" in "$ROOT"/*) printf '%s' "${1#"$ROOT"/}" ;; *) printf '%s' "$1" ;; esac
}

update=0 build=1 minimize=0 targets=()
for arg in "$@"; do
  case "$arg" in
    --update-corpus) update=1 ;;
    --no-build) build=0 ;;
    --minimize) minimize=1 ;;
    -h | --help) ci_usage; exit 0 ;;
    -*) ci_die "unknown option '$(ci_printable "$arg")' (see --help)" ;;
    *)
      if ! [[ "$arg" =~ ^fuzz_[a-z0-9_]+$ ]] || [ ! -f "$ROOT/fuzz/$arg.c" ]; then
        known=$(find "$ROOT/fuzz" -maxdepth 1 -name 'fuzz_*.c' -printf '%f\n' | sed 's/\.c$//' | sort | tr '\n' ' ')
        ci_die "unknown target '$(ci_printable "$arg")' (one of: ${known% })"
      fi
      [[ " ${targets[*]} " == *" $arg "* ]] || targets+=("$arg") ;;
  esac
done
cores=$(nproc)
[ "$cores" -le 256 ] || cores=256
ci_env_uint FUZZ_SECONDS 60 1 604800
ci_env_uint FUZZ_JOBS "$cores" 1 256
ci_env_uint FUZZ_HEARTBEAT 10 1 3600
ci_env_uint FUZZ_MINIMIZE_SECONDS 30 1 86400
ci_env_uint FUZZ_KEEP_RUNS 10 1 100000
case "${FUZZ_MINIMIZE:-0}" in
  0) ;; 1) minimize=1 ;;
  *) ci_die "FUZZ_MINIMIZE must be 0 or 1, got '$(ci_printable "$FUZZ_MINIMIZE")'" ;;
esac
case "${MEMBUF_MUTATOR-1}" in # the values the targets accept (fuzz/mutator.c)
  '' | 0 | 1 | off | on) ;;
  *) ci_die "MEMBUF_MUTATOR must be 0 or off, 1 or on, got '$(ci_printable "$MEMBUF_MUTATOR")'" ;;
esac
seconds=$FUZZ_SECONDS jobs=$FUZZ_JOBS hb=$FUZZ_HEARTBEAT

# ---- the work directory: checked before anything is built, written or deleted -----------------
marker_name=.membuf-fuzz-workdir
if [ -n "${FUZZ_WORKDIR:-}" ]; then
  case "$FUZZ_WORKDIR" in /*) w=$FUZZ_WORKDIR ;; *) w=$caller/$FUZZ_WORKDIR ;; esac
  w=$(realpath -m -- "$w") || ci_die "FUZZ_WORKDIR: cannot resolve '$(ci_printable "$FUZZ_WORKDIR")'"
else
  w=$ROOT/build/fuzz-work
fi
within() { [ "$1" = "$2" ] || [[ "$1" == "$2"/* ]]; } # within PATH DIR: PATH is DIR or inside it
refuse_w() { ci_die "FUZZ_WORKDIR '$(ci_printable "$w")' $* (see --help)"; }
[ "$w" != / ] || refuse_w "is the root directory"
within "$ROOT" "$w" && refuse_w "is or contains this checkout"
home=$(realpath -m -- "${HOME:-/nonexistent-home}")
within "$home" "$w" && refuse_w "is or contains your home directory"
for sys in /bin /boot /dev /etc /home /lib /lib32 /lib64 /media /mnt /opt /proc /root /run /sbin \
  /srv /sys /tmp /usr /var /var/tmp; do
  [ "$w" != "$sys" ] || refuse_w "is a system directory"
done
if within "$w" "$ROOT" && ! within "$w" "$ROOT/build"; then
  refuse_w "is inside the checkout's sources (use a directory under build/ or outside the clone)"
fi
# Inside some other git work tree: only where git ignores it.
probe=$w
while [ ! -e "$probe" ]; do probe=$(dirname "$probe"); done
[ -d "$probe" ] || refuse_w "is below a file"
if top=$(git -C "$probe" rev-parse --show-toplevel 2>/dev/null) && [ -n "$top" ]; then
  if ! within "$w" "$ROOT/build" && ! git -C "$top" check-ignore -q -- "$w" 2>/dev/null; then
    refuse_w "is inside the git work tree $top and not ignored there"
  fi
fi
if [ -e "$w" ] || [ -L "$w" ]; then
  if [ ! -d "$w" ] || [ -L "$w" ]; then refuse_w "exists and is not a directory"; fi
  if [ ! -f "$w/$marker_name" ] && [ -n "$(find "$w" -mindepth 1 -maxdepth 1 -print -quit)" ]; then
    refuse_w "is not empty and not a membuf fuzz work directory (no $marker_name): name a new or empty one"
  fi
fi

# ---- build --------------------------------------------------------------------------------------
bin="$ROOT/build/fuzz/fuzz"
if [ ${#targets[@]} -eq 0 ]; then
  while IFS= read -r t; do targets+=("$t"); done \
    < <(find "$ROOT/fuzz" -maxdepth 1 -name 'fuzz_*.c' -printf '%f\n' | sed 's/\.c$//' | sort)
fi
if [ "$build" -eq 1 ]; then
  cd "$ROOT"
  "$ROOT/ci/deps.sh"
  echo "+ cmake --preset fuzz && cmake --build --preset fuzz"
  cmake --preset fuzz >/dev/null
  cmake --build --preset fuzz -j "${JOBS:-$cores}"
fi
for t in "${targets[@]}"; do
  [ -x "$bin/$t" ] || ci_die "no fuzzer binary build/fuzz/fuzz/$t (build the fuzz preset, or drop --no-build)"
  [ -d "$ROOT/corpus/$t" ] || ci_die "no corpus directory corpus/$t"
done

# ---- the run directory ------------------------------------------------------------------------
if [ ! -d "$w" ]; then
  mkdir -p -- "$w" || ci_die "cannot create FUZZ_WORKDIR '$(ci_printable "$w")'"
fi
if [ ! -f "$w/$marker_name" ]; then
  printf 'membuf fuzz work directory (ci/fuzz.sh): run-* directories inside it are its own\n' \
    >"$w/$marker_name" || ci_die "cannot write to FUZZ_WORKDIR '$(ci_printable "$w")'"
fi
run=$(mktemp -d "$w/run-$(date +%Y%m%d-%H%M%S)-XXXXXX") || ci_die "cannot create a run directory in '$(ci_printable "$w")'"
echo "ci/fuzz.sh pid $$" >"$run/.membuf-fuzz-run"
# A held lock marks the run as live: pruning skips it.
exec {lockfd}>"$run/.lock"
flock -x "$lockfd"
echo "run directory: $(rel "$run")"

# Prune: finished runs of this work directory beyond the newest FUZZ_KEEP_RUNS, but never a live
# one (its lock is held), one with findings, or anything without the run marker.
prune() {
  local d n=0 fd
  while IFS= read -r d; do
    n=$((n + 1))
    [ "$n" -gt "$FUZZ_KEEP_RUNS" ] || continue
    if [ "$d" = "$run" ] || [ ! -f "$d/.membuf-fuzz-run" ] || [ -e "$d/FINDINGS" ] || [ -L "$d" ]; then
      continue
    fi
    [ -f "$d/.lock" ] || continue
    exec {fd}<"$d/.lock"
    if flock -n "$fd"; then rm -rf -- "$d"; fi
    exec {fd}<&-
  done < <(find "$w" -mindepth 1 -maxdepth 1 -type d -name 'run-*' -printf '%p\n' | sort -r)
}
prune

bgpid=''
trap '[ -z "$bgpid" ] || kill "$bgpid" 2>/dev/null || true' EXIT
trap 'exit 130' INT TERM

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
now() { printf '%s' "${EPOCHREALTIME/,/.}"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
count_files() { find "$@" -type f ! -name README.md 2>/dev/null | wc -l; }
findings_in() {
  find "$1" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
    -o -name 'oom-*' \) ! -name '*.*' | sort
}
# last_status LOG: "runs cov ft corp exec/s" from libFuzzer's newest status line, '?' if none.
# Lines: "#N<TAB>NEW    cov: C ft: F corp: K/Sb ... exec/s: E", with -fork "#N: cov: C ft: F
# corp: K exec/s: E ...".
last_status() {
  tail -c 65536 "$1" 2>/dev/null | grep -aE '^#[0-9]+:?[[:space:]]+([A-Z]+[[:space:]]+)?cov: ' | tail -n 1 \
    | awk '{ r = $1; gsub(/[#:]/, "", r); c = f = k = e = "?"
             for (i = 1; i < NF; i++) {
               if ($i == "cov:") c = $(i + 1); else if ($i == "ft:") f = $(i + 1)
               else if ($i == "corp:") { k = $(i + 1); sub(/\/.*/, "", k) }
               else if ($i == "exec/s:" || $i == "exec/s") e = $(i + 1)
             }
             print r, c, f, k, e; found = 1 }
           END { if (!found) print "? ? ? ? ?" }'
}
# heartbeat LABEL PID: waits for PID; every FUZZ_HEARTBEAT seconds prints a progress line
# from CALLBACK (a function printing the line's tail). Returns PID's status.
heartbeat() {
  local label=$1 pid=$2 cb=$3 t0=$SECONDS next=$((SECONDS + hb)) rc=0
  while kill -0 "$pid" 2>/dev/null; do
    sleep 0.1
    if [ "$SECONDS" -ge "$next" ]; then
      echo "[heartbeat] $label $((SECONDS - t0))s$("$cb")"
      next=$((next + hb))
    fi
  done
  wait "$pid" || rc=$?
  bgpid=''
  return "$rc"
}

rows=() failed=0 new_total=0
for t in "${targets[@]}"; do
  d="$run/$t"
  mkdir -p "$d/corpus" "$d/artifacts" "$d/tmp"
  opts=()
  if [ -f "$ROOT/fuzz/$t.options" ]; then
    # [libfuzzer] key = value lines become -key=value
    while IFS= read -r line; do
      [[ "$line" =~ ^[[:space:]]*([a-z_]+)[[:space:]]*=[[:space:]]*(.+)$ ]] \
        && opts+=("-${BASH_REMATCH[1]}=${BASH_REMATCH[2]}")
    done <"$ROOT/fuzz/$t.options"
  fi
  fork=()
  [ "$jobs" -le 1 ] || fork=(-fork="$jobs")
  log="$d/fuzz.log"
  checked_in=$(count_files "$ROOT/corpus/$t")
  echo "=== $t: ${seconds}s, ${jobs} job(s), checked-in corpus corpus/$t ($checked_in files), new inputs -> $(rel "$d/corpus")"
  fuzz_status() {
    local r c f k e
    read -r r c f k e <<<"$(last_status "$log")"
    printf '/%ss: runs %s, exec/s %s, cov %s, ft %s, corpus %s (%s new), findings %s' "$seconds" \
      "$r" "$e" "$c" "$f" "$k" "$(count_files "$d/corpus")" "$(findings_in "$d/artifacts" | wc -l)"
  }
  t0=$(now)
  rc=0
  (cd "$d" && TMPDIR="$d/tmp" exec "$bin/$t" "${opts[@]}" "${fork[@]}" -max_total_time="$seconds" \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$d/artifacts/" \
    "$d/corpus" "$ROOT/corpus/$t") >"$log" 2>&1 &
  bgpid=$!
  heartbeat "$t" "$bgpid" fuzz_status || rc=$?
  elapsed=$(since "$t0")
  stopped=$(now)
  read -r runs cov ft _ _ <<<"$(last_status "$log")"
  units=$(sed -nE 's/^stat::number_of_executed_units:[[:space:]]*([0-9]+).*/\1/p' "$log" | tail -n 1)
  [ -z "$units" ] || runs=$units
  eps=$(awk -v r="$runs" -v s="$elapsed" 'BEGIN { if (r ~ /^[0-9]+$/ && s > 0) printf "%d", r / s; else print "?" }')
  new=$(count_files "$d/corpus")
  findings=$(findings_in "$d/artifacts")
  nf=$(grep -c . <<<"$findings" || true)
  result=ok
  if [ "$rc" -ne 0 ] || [ -n "$findings" ]; then
    result=FAIL
    failed=$((failed + 1))
    echo "FINDINGS: $t" >>"$run/FINDINGS"
    echo "--- $t: libFuzzer stopped after ${elapsed}s (exit $rc) with $nf finding(s); its own message first:"
    msg=$(grep -aE '^(membuf-fuzz|membuf): ' "$log" | head -n 5 || true)
    [ -n "$msg" ] || msg=$(grep -aE '(^==[0-9]+==ERROR: |^SUMMARY: |runtime error: )' "$log" | head -n 5 || true)
    printf '    %s\n' "${msg:-(no oracle or sanitizer message in the log)}"
    echo "--- last lines of $(rel "$log"):"
    tail -n 30 "$log" | sed 's/^/    /'
    [ -n "$findings" ] || echo "$t exited $rc without an artifact; see $(rel "$log")"
    while IFS= read -r art; do
      [ -n "$art" ] || continue
      echo "--- $t: finding $(rel "$art")"
      use=$art
      if [ "$minimize" -eq 1 ]; then
        min="$art.minimized"
        # (libFuzzer's minimiser runs steps of -max_total_time each: timeout caps the whole)
        (cd "$d" && TMPDIR="$d/tmp" exec timeout -k 5 "$FUZZ_MINIMIZE_SECONDS" "$bin/$t" "${opts[@]}" -minimize_crash=1 \
          -max_total_time="$FUZZ_MINIMIZE_SECONDS" -exact_artifact_path="$min" "$art") \
          >"$art.minimize.log" 2>&1 &
        bgpid=$!
        heartbeat "$t: libFuzzer -minimize_crash" "$bgpid" true || true
        if [ -s "$min" ]; then
          s_art=$("$ROOT/ci/triage.sh" --signature "$t" "$art" 2>/dev/null || true)
          s_min=$("$ROOT/ci/triage.sh" --signature "$t" "$min" 2>/dev/null || true)
          if [ -n "$s_min" ] && [ "$s_min" = "$s_art" ]; then
            echo "libFuzzer minimised it from $(stat -c %s "$art") to $(stat -c %s "$min") bytes, same failure"
            use=$min
          else
            echo "libFuzzer's minimised input fails otherwise (${s_min:-or not at all}): triaging the original"
          fi
        else
          echo "libFuzzer did not minimise it; triaging the original"
        fi
      fi
      trc=0
      "$ROOT/ci/triage.sh" "$t" "$use" || trc=$?
      case $trc in
        0) ;;
        1) echo "not filed: it does not fail under membuf-ops alone (a leak or crash of the whole run?)" ;;
        *) echo "ci/triage.sh failed (exit $trc) on $(rel "$use")" ;;
      esac
      [ "$trc" -eq 0 ] || echo "reproduce: build/fuzz/fuzz/$t $(rel "$use")"
      echo "triage done $(since "$stopped")s after fuzzing stopped"
    done <<<"$findings"
  fi
  rows+=("$(printf '| %-10s | %7s | %11s | %8s | %6s/%-6s | %9s | %5s | %8s | %-6s |' "$t" "$elapsed" \
    "${runs:-?}" "$eps" "${cov:-?}" "${ft:-?}" "$checked_in" "$new" "$nf" "$result")")
  if [ "$update" -eq 1 ] && [ "$result" = ok ]; then
    # Minimal merge: the checked-in corpus into an empty directory (its coverage), then the new
    # inputs: only those that reach code the checked-in corpus does not (-use_counters=0: edges,
    # not hit counts) are copied in. Checked-in files are never touched.
    m="$d/merge"
    mkdir -p "$m/base"
    merge_status() { printf ': %s' "$(grep -aE '^(MERGE-OUTER|#[0-9]+)' "$d/merge.log" 2>/dev/null | tail -n 1 | cut -c1-100)"; }
    mrc=0
    (cd "$d" && TMPDIR="$d/tmp" exec "$bin/$t" "${opts[@]}" -use_counters=0 -merge=1 "$m/base" "$ROOT/corpus/$t") >"$d/merge.log" 2>&1 &
    bgpid=$!
    heartbeat "$t: merge (checked-in)" "$bgpid" merge_status || mrc=$?
    before=$(find "$m/base" -maxdepth 1 -type f -printf '%f\n' | sort)
    if [ "$mrc" -eq 0 ]; then
      (cd "$d" && TMPDIR="$d/tmp" exec "$bin/$t" "${opts[@]}" -use_counters=0 -merge=1 "$m/base" "$d/corpus") >>"$d/merge.log" 2>&1 &
      bgpid=$!
      heartbeat "$t: merge (new inputs)" "$bgpid" merge_status || mrc=$?
    fi
    if [ "$mrc" -ne 0 ]; then
      echo "merge failed for $t (exit $mrc): see $(rel "$d/merge.log"); corpus/$t unchanged"
      failed=$((failed + 1))
    else
      added=0
      while IFS= read -r f; do
        if [ -z "$f" ] || [ -e "$ROOT/corpus/$t/$f" ]; then continue; fi
        if ! cp -- "$m/base/$f" "$ROOT/corpus/$t/.$f.tmp.$$" ||
          ! mv -- "$ROOT/corpus/$t/.$f.tmp.$$" "$ROOT/corpus/$t/$f"; then
          rm -f -- "$ROOT/corpus/$t/.$f.tmp.$$"
          echo "fuzz.sh: cannot write corpus/$t/$f" >&2
          exit 1
        fi
        added=$((added + 1))
      done < <(comm -13 <(printf '%s\n' "$before") <(find "$m/base" -maxdepth 1 -type f -printf '%f\n' | sort))
      new_total=$((new_total + added))
      edges=$(sed -nE 's/^MERGE-OUTER: [0-9]+ new files with [0-9]+ new features added; ([0-9]+) new coverage edges.*/\1/p' \
        "$d/merge.log" | tail -n 1)
      echo "corpus/$t: $added of $new new input(s) add coverage (${edges:-?} new edges) and were added; $checked_in checked-in file(s) left as they were"
    fi
  fi
done

echo
echo "| target     | seconds |        runs | runs / s | cov/ft        | checked-in | new   | findings | result |"
echo "|------------|---------|-------------|----------|---------------|------------|-------|----------|--------|"
printf '%s\n' "${rows[@]}"
echo "runs / s: total runs over the fuzzing seconds; new: inputs this run added in its corpus/"
[ "$update" -eq 0 ] || echo "--update-corpus: $new_total input(s) added to corpus/"
echo "run directory: $(rel "$run")"
if [ "$failed" -gt 0 ]; then
  echo "fuzz: FAIL ($failed target(s) with findings or errors)"
  exit 1
fi
echo "fuzz: PASS"
