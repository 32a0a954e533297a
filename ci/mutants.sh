#!/usr/bin/env bash
# Mutation check of the harness: every bug in tests/mutants/*.patch must be caught ("killed").
#
# usage: ci/mutants.sh [--quick] [--list] [--help] [MUTANT...]
#   MUTANT      a number prefix ("05"), a full name ("05-buf-free-not-idempotent", .patch
#               optional) or a glob ("*guard*"); MUTANTS="..." (space or comma separated) works too.
#   --quick     one mutant per bug class (the first of each class, by file name) and stages 1-2
#               only, for ci/test.sh (the first of each class is one those stages kill).
#   --list      print the mutants with their class and exit.
#   MUTANT_STAGES        the stages to run (default "1 2 3"; --quick "1 2"); "2 3" measures the
#                        fuzz harness alone, without the unit tests; "4" its search alone
#   MUTANT_FUZZ_SECONDS  per fuzz target in stage 3, 1 to 86400 (default 60)
#   MUTANT_FUZZ_SEED     libFuzzer -seed, 1 to 4294967295 (default 1, so times to kill are
#                        repeatable)
#   MUTANT_SOURCE        worktree (default: the files git tracks or would track, as they are on
#                        disk; in a clean checkout that is HEAD) or head (git HEAD only)
#   MUTANT_WORKDIR       where the scratch directory is made (default $TMPDIR or /tmp); it is
#                        removed at exit
#   MUTANT_KEEP=1        keep the scratch directory (the mutated trees and their builds)
#
# The source is snapshotted once at the start, so edits made while the script runs do not leak
# into it. bench/ is stubbed out in the snapshot (no mutant touches it, and an in-progress bench
# edit must not decide the outcome). Each mutant gets its own copy of the snapshot, the patch is
# applied with `patch -p1` (a patch that does not apply is a failure of this script), and the
# stages run in order, stopping at the first that kills it:
#   1 unit     dev preset (gcc): build all, ctest -E '^corpus_', plus tests/mutants/test_*.c if any
#   2 replay   asan preset: ctest -R '^corpus_'; then valgrind preset: ctest -R '^corpus_'
#   3 fuzz     fuzz preset (libFuzzer): each target for MUTANT_FUZZ_SECONDS from corpus/<target>
#   4 empty    as 3, from an empty corpus: what the fuzzers find with no seed pointing at it (not
#              run by default: MUTANT_STAGES=4 measures the search alone)
# Every stage first runs once on the unmutated snapshot (the baseline): if the baseline fails a
# stage, nothing it says about a mutant means anything, and the script stops. A fuzz finding
# counts only if the same input passes on the baseline's fuzz binary.
# A preset is configured and built only when a mutant reaches its stage. The mutants share one
# tree and its builds: before each, the files the previous mutant changed are copied back from
# the snapshot (new mtimes), so a build recompiles only what the two patches touched (the first
# build of a preset compiles everything: a few seconds on 2 cores; the timings are in the table).
#
# Output: a Markdown table (mutant, class, killed by, time to kill = time spent in the stages up
# to the one that killed it, builds included; time spent in each stage) on stdout and in
# build/mutants/report.md, with the median and the worst time to kill; logs of every stage in
# build/mutants/logs/<mutant>/. Exit status non-zero if any mutant survives, does not apply,
# fails to build, or a baseline stage fails.
set -euo pipefail
JOB_NAME=mutants
source "$(dirname "$0")/lib.sh"

quick=0 list=0 sel=()
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    --list) list=1 ;;
    -h | --help) ci_usage; exit 0 ;;
    -*) ci_die "unknown option '$(ci_printable "$arg")' (see --help)" ;;
    *) sel+=("$arg") ;;
  esac
done
if [ -n "${MUTANTS:-}" ]; then
  read -r -a extra <<<"${MUTANTS//,/ }"
  sel+=("${extra[@]}")
fi
ci_env_uint MUTANT_FUZZ_SECONDS 60 1 86400
ci_env_uint MUTANT_FUZZ_SEED 1 1 4294967295
FUZZ_SECONDS=$MUTANT_FUZZ_SECONDS FUZZ_SEED=$MUTANT_FUZZ_SEED
SOURCE=${MUTANT_SOURCE:-worktree}
case "${MUTANT_KEEP:-0}" in 0 | 1) ;; *) ci_die "MUTANT_KEEP must be 0 or 1, got '$(ci_printable "$MUTANT_KEEP")'" ;; esac
case "$SOURCE" in worktree | head) ;; *) echo "mutants.sh: MUTANT_SOURCE must be worktree or head" >&2; exit 2 ;; esac

MDIR=tests/mutants
OUTDIR=$ROOT/build/mutants

field() { sed -n "s/^# $2: *//p" "$1" | head -n 1; } # field PATCH class|what

# ---- which mutants ---------------------------------------------------------------------------
all=()
for p in "$MDIR"/[0-9]*.patch; do [ -e "$p" ] && all+=("$(basename "$p" .patch)"); done
[ ${#all[@]} -gt 0 ] || { say "no mutants in $MDIR"; record 0 1; verdict 1 || exit 1; }
chosen=()
if [ ${#sel[@]} -gt 0 ]; then
  for s in "${sel[@]}"; do
    s=${s%.patch}
    s=${s##*/}
    hit=0
    for m in "${all[@]}"; do
      # shellcheck disable=SC2053 # glob match on purpose
      if [[ "$m" == $s || "$m" == "$s"-* ]]; then
        [[ " ${chosen[*]} " == *" $m "* ]] || chosen+=("$m")
        hit=1
      fi
    done
    [ "$hit" -eq 1 ] || { echo "mutants.sh: no mutant matches '$s'" >&2; exit 2; }
  done
elif [ "$quick" -eq 1 ]; then
  declare -A seen_class=()
  for m in "${all[@]}"; do
    c=$(field "$MDIR/$m.patch" class)
    [ -n "${seen_class[$c]:-}" ] && continue
    seen_class[$c]=1
    chosen+=("$m")
  done
else
  chosen=("${all[@]}")
fi
if [ "$list" -eq 1 ]; then
  for m in "${chosen[@]}"; do
    printf '%-42s %-16s %s\n' "$m" "$(field "$MDIR/$m.patch" class)" "$(field "$MDIR/$m.patch" what)"
  done
  exit 0
fi
for m in "${chosen[@]}"; do
  for f in class what; do
    [ -n "$(field "$MDIR/$m.patch" $f)" ] || { echo "mutants.sh: $m.patch has no '# $f:' line" >&2; exit 2; }
  done
done
stages=(1 2 3)
[ "$quick" -eq 1 ] && stages=(1 2)
[ -n "${MUTANT_STAGES:-}" ] && read -r -a stages <<<"${MUTANT_STAGES//,/ }"
for k in "${stages[@]}"; do
  case $k in 1 | 2 | 3 | 4) ;; *) echo "mutants.sh: MUTANT_STAGES: no stage '$k'" >&2; exit 2 ;; esac
done

# ---- scratch space and the snapshot -----------------------------------------------------------
mkdir -p "${MUTANT_WORKDIR:-${TMPDIR:-/tmp}}"
WORK=$(mktemp -d "${MUTANT_WORKDIR:-${TMPDIR:-/tmp}}/membuf-mutants.XXXXXX")
cleanup() { [ "${MUTANT_KEEP:-0}" = 1 ] || rm -rf "$WORK"; }
trap cleanup EXIT
rm -rf "$OUTDIR/logs"
mkdir -p "$OUTDIR/logs" "$WORK/snap" "$WORK/patches"
for m in "${chosen[@]}"; do cp "$MDIR/$m.patch" "$WORK/patches/"; done

if [ "$SOURCE" = head ]; then
  git archive HEAD | tar -xf - -C "$WORK/snap"
  rev="HEAD $(git rev-parse --short HEAD)"
else
  git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
    if [ -e "$f" ]; then printf '%s\0' "$f"; fi
  done | tar --null -T - -cf - | tar -xf - -C "$WORK/snap"
  rev="working tree of $(git rev-parse --short HEAD)"
  git diff --quiet HEAD -- src || rev+=" (src/ has uncommitted changes)"
fi
[ -d "$WORK/snap/bench" ] &&
  echo '# bench/ is not built for mutation testing (stubbed by ci/mutants.sh)' >"$WORK/snap/bench/CMakeLists.txt"
FUZZ_TARGETS=()
for f in "$WORK"/snap/fuzz/fuzz_*.c; do FUZZ_TARGETS+=("$(basename "$f" .c)"); done
if [ ! -e "$WORK/snap/fuzz/${FUZZ_TARGETS[0]}.c" ]; then
  say "no fuzz targets in the snapshot"
  record 0 1
  verdict 1 || exit 1
fi
say "${#chosen[@]} mutant(s) of $rev; stages ${stages[*]}; fuzz ${FUZZ_SECONDS}s per target; scratch $WORK"
# --quick runs a few mutants, but every patch must still apply (exactly, no fuzz) to the source:
# a source change that silently retires a mutant is caught here, in seconds.
if [ "$quick" -eq 1 ]; then
  stale=()
  for p in "${all[@]}"; do
    (cd "$WORK/snap" && patch -p1 --dry-run -F0 -f <"$MDIR/$p.patch" >/dev/null 2>&1) || stale+=("$p")
  done
  if [ "${#stale[@]}" -gt 0 ]; then
    say "${#stale[@]} mutant(s) no longer apply exactly to the source (regenerate them): ${stale[*]}"
    exit 1
  fi
  say "all ${#all[@]} mutants apply exactly to the source"
fi

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# build TREE PRESET LOG [targets...]: configure and build; non-zero if either fails.
build() {
  local tree=$1 preset=$2 log=$3
  shift 3
  local tg=()
  [ $# -gt 0 ] && tg=(--target "$@")
  (cd "$tree" && cmake --preset "$preset" && cmake --build --preset "$preset" -j "$JOBS" "${tg[@]}") \
    >>"$log" 2>&1
}

# ctest_run TREE PRESET LOG TIMEOUT ARGS...: 0 passed, 1 failed; names of failed tests in $FAILED.
FAILED=
ctest_run() {
  local tree=$1 preset=$2 log=$3 to=$4
  shift 4
  local rc=0
  ctest --test-dir "$tree/build/$preset" --output-on-failure --timeout "$to" -j "$JOBS" "$@" \
    >>"$log" 2>&1 || rc=$?
  FAILED=$(sed -nE 's/^[[:space:]]*[0-9]+ - ([^ ]+) \(.*/\1/p' "$log" | sort -u | paste -sd, -)
  [ "$rc" -eq 0 ] && return 0
  [ -n "$FAILED" ] || FAILED="ctest exit $rc"
  return 1
}

# Extra unit tests kept with the mutants (tests/mutants/test_*.c): built against the dev build's
# static library, run after ctest in stage 1.
extra_tests() {
  local tree=$1 log=$2 t exe
  for t in "$tree/$MDIR"/test_*.c; do
    [ -e "$t" ] || continue
    exe="$tree/build/dev/mutants_$(basename "$t" .c)"
    if ! gcc -std=c11 -g -Wall -Wextra -Werror -I "$tree/include" -I "$tree/src" -I "$tree/tests" \
      "$t" "$tree/build/dev/libmembuf_internal.a" -lm -lpthread -o "$exe" >>"$log" 2>&1; then
      FAILED="build of $(basename "$t")"
      return 2
    fi
    echo "+ $exe" >>"$log"
    if ! timeout 120 "$exe" >>"$log" 2>&1; then
      FAILED="$(basename "$t" .c)"
      return 1
    fi
  done
  return 0
}

# Each stage: stageN TREE LOGDIR. Returns 0 survived, 1 killed (KILLER says how), 2 build failure.
KILLER=
stage1() {
  local tree=$1 log=$2/1-unit.log
  build "$tree" dev "$log" || { KILLER="dev build failed"; return 2; }
  if ! ctest_run "$tree" dev "$log" 120 -E '^corpus_'; then
    KILLER="unit: $FAILED"
    return 1
  fi
  local rc=0
  extra_tests "$tree" "$log" || rc=$?
  [ "$rc" -eq 0 ] && return 0
  KILLER="unit: $FAILED"
  [ "$rc" -eq 2 ] && KILLER="$FAILED failed"
  return "$rc"
}

# stage2_one TREE LOGDIR PRESET: corpus replay in one preset.
stage2_one() {
  local tree=$1 preset=$3 to=300 log=$2/2-$3.log
  build "$tree" "$preset" "$log" "${FUZZ_TARGETS[@]}" || { KILLER="$preset build failed"; return 2; }
  [ "$preset" = valgrind ] && to=900
  if ! ctest_run "$tree" "$preset" "$log" "$to" -R '^corpus_'; then
    KILLER="$preset replay: $FAILED"
    return 1
  fi
  return 0
}
# Stage 2: asan replay, then valgrind replay; each preset's baseline runs only when a mutant
# first reaches that preset (a mutant asan kills never pays for the valgrind build).
stage2() {
  local preset
  for preset in asan valgrind; do
    baseline "2:$preset"
    stage2_one "$1" "$2" "$preset" || return $?
  done
  return 0
}

# fuzz_opts TARGET: the target's .options (from the snapshot) as -key=value words.
fuzz_opts() {
  local line f=$WORK/snap/fuzz/$1.options
  [ -f "$f" ] || return 0
  while IFS= read -r line; do
    [[ "$line" =~ ^[[:space:]]*([a-z_]+)[[:space:]]*=[[:space:]]*(.+)$ ]] &&
      printf -- '-%s=%s\n' "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
  done <"$f"
}

# Targets in the order most likely to kill a mutant of the given files first.
fuzz_order() {
  local first=fuzz_alloc t
  case " $* " in
    *" src/guard.c "*) first=fuzz_guard ;;
    *" src/buf.c "* | *" src/rng.c "*) first=fuzz_buf ;;
  esac
  echo "$first"
  for t in "${FUZZ_TARGETS[@]}"; do [ "$t" = "$first" ] || echo "$t"; done
}

stage3() {
  local tree=$1 ldir=$2 log=$2/$STAGE-fuzz.log t seeds
  shift 2
  build "$tree" fuzz "$log" "${FUZZ_TARGETS[@]}" || { KILLER="fuzz build failed"; return 2; }
  for t in $(fuzz_order "$@"); do
    local dir=$tree/fuzz-run/$t opts=() rc=0 t0 art
    rm -rf "$dir"
    mkdir -p "$dir/corpus" "$dir/artifacts"
    seeds=("$tree/corpus/$t")
    [ "$STAGE" = 4 ] && seeds=()
    mapfile -t opts < <(fuzz_opts "$t")
    t0=$(now)
    echo "=== $t" >>"$log"
    timeout $((FUZZ_SECONDS + 120)) "$tree/build/fuzz/fuzz/$t" "${opts[@]}" -seed="$FUZZ_SEED" \
      -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$dir/artifacts/" "$dir/corpus" "${seeds[@]}" >"$ldir/$STAGE-$t.log" 2>&1 || rc=$?
    art=$(find "$dir/artifacts" -maxdepth 1 -type f | head -n 1)
    echo "$t: exit $rc after $(secs "$t0" "$(now)")s, artifact: ${art:-none}" >>"$log"
    [ "$rc" -eq 0 ] && [ -z "$art" ] && continue
    # A finding counts only if the unmutated build passes the same input.
    if [ -n "$art" ]; then
      cp "$art" "$ldir/"
      if ! "$WORK/baseline/build/fuzz/fuzz/$t" "$art" >>"$log" 2>&1; then
        KILLER="$t finding also fails the baseline"
        return 2
      fi
      KILLER="fuzz: $t, $(grep -m1 -oE 'membuf-fuzz: [^(]*|membuf: [a-z-]+|ERROR: [A-Za-z]+: [A-Za-z-]+|AddressSanitizer: CHECK failed|runtime error: [a-z ]+|deadly signal' \
        "$ldir/$STAGE-$t.log" | head -n 1 | sed 's/ *$//') after $(secs "$t0" "$(now)")s"
    else
      KILLER="fuzz: $t exited $rc without an artifact"
    fi
    return 1
  done
  return 0
}

# Stage 4: stage 3 from an empty corpus.
STAGE=3
stage4() {
  local rc=0
  STAGE=4
  stage3 "$@" || rc=$?
  STAGE=3
  return "$rc"
}

# Baselines, each once and only when a stage is first needed.
declare -A base_ok=()
BASE_SPENT=0 # seconds spent in baselines (not charged to a mutant's stage)
baseline() {
  local k=$1 rc=0
  [ "$k" = 2 ] && return 0 # per preset, from stage2
  [ -n "${base_ok[$k]:-}" ] && return 0
  if [ ! -d "$WORK/baseline" ]; then
    cp -a "$WORK/snap" "$WORK/baseline"
  fi
  local ldir=$OUTDIR/logs/baseline t0
  mkdir -p "$ldir"
  t0=$(now)
  case $k in
    1) stage1 "$WORK/baseline" "$ldir" || rc=$? ;;
    2:*) stage2_one "$WORK/baseline" "$ldir" "${k#2:}" || rc=$? ;;
    3 | 4)
      build "$WORK/baseline" fuzz "$ldir/3-fuzz.log" "${FUZZ_TARGETS[@]}" || { rc=2; KILLER="fuzz build failed"; }
      for t in "${FUZZ_TARGETS[@]}"; do
        [ "$rc" -eq 0 ] || break
        mapfile -t opts < <(fuzz_opts "$t")
        "$WORK/baseline/build/fuzz/fuzz/$t" "${opts[@]}" -runs=0 "$WORK/baseline/corpus/$t" \
          >>"$ldir/3-fuzz.log" 2>&1 || { rc=1; KILLER="$t corpus run"; }
      done
      ;;
  esac
  if [ "$rc" -ne 0 ]; then
    say "BASELINE FAILS stage $k ($KILLER): the unmutated tree must pass first; logs in $ldir"
    tail -n 30 "$ldir"/"${k%%:*}"-*.log || true
    record 0 1
    verdict 1 || exit 1
  fi
  local spent
  spent=$(secs "$t0" "$(now)")
  local label="stage $k"
  [[ $k == *:* ]] && label="stage ${k%%:*} (${k#*:})"
  say "baseline passes $label (${spent}s)"
  BASE_SPENT=$(awk -v a="$BASE_SPENT" -v b="$spent" 'BEGIN { printf "%.1f", a + b }')
  base_ok[$k]=1
}

# ---- the mutants -----------------------------------------------------------------------------
# restore_tree TREE: TREE as the snapshot: made from it the first time; afterwards the files the
# previous mutant's patch named are copied back (without -p: new mtimes, so they are rebuilt) and
# checked. Build directories stay, so each build is incremental.
PREV_FILES=()
restore_tree() {
  local tree=$1 f
  if [ ! -d "$tree" ]; then
    cp -a "$WORK/snap" "$tree"
    return
  fi
  for f in "${PREV_FILES[@]}"; do
    if [ -e "$WORK/snap/$f" ]; then
      cp "$WORK/snap/$f" "$tree/$f"
      cmp -s "$WORK/snap/$f" "$tree/$f" || { say "cannot restore $f in $tree"; exit 1; }
    else
      rm -f "$tree/$f" # a file the patch created
    fi
  done
  rm -rf "$tree/fuzz-run"
}
rows=() kill_times=() bad=() killed=0 notkilled=0
start_all=$(now)
for m in "${chosen[@]}"; do
  patchf=$WORK/patches/$m.patch
  cls=$(field "$patchf" class)
  ldir=$OUTDIR/logs/$m
  mkdir -p "$ldir"
  tree=$WORK/m
  restore_tree "$tree"
  mapfile -t files < <(sed -nE 's/^\+\+\+ b\/([^[:space:]]+).*/\1/p' "$patchf" | sort -u)
  PREV_FILES=("${files[@]}")
  status='' by='' ttk='' st=('' - - - -)
  if ! (cd "$tree" && patch -p1 --dry-run -f --no-backup-if-mismatch <"$patchf" >"$ldir/patch.log" 2>&1 &&
    patch -p1 -f --no-backup-if-mismatch <"$patchf" >>"$ldir/patch.log" 2>&1); then
    status=noapply by="does not apply"
    cat "$ldir/patch.log"
  else
    grep -q 'with fuzz' "$ldir/patch.log" && say "$m: applied with fuzz (regenerate it): $(grep 'with fuzz' "$ldir/patch.log")"
    for k in "${stages[@]}"; do
      baseline "$k"
      t0=$(now) b0=$BASE_SPENT
      rc=0
      case $k in
        1) stage1 "$tree" "$ldir" || rc=$? ;;
        2) stage2 "$tree" "$ldir" || rc=$? ;;
        3) stage3 "$tree" "$ldir" "${files[@]}" || rc=$? ;;
        4) stage4 "$tree" "$ldir" "${files[@]}" || rc=$? ;;
      esac
      st[k]=$(awk -v s="$(secs "$t0" "$(now)")" -v b="$(awk -v a="$BASE_SPENT" -v c="$b0" 'BEGIN { print a - c }')" \
        'BEGIN { printf "%.1f", s - b }') # a baseline run meanwhile is not the mutant's time
      if [ "$rc" -eq 1 ]; then
        status=killed by=$KILLER
        ttk=$(printf '%s\n' "${st[@]}" | awk '{ s += $1 } END { printf "%.1f", s }')
        break
      elif [ "$rc" -eq 2 ]; then
        status=broken by="$KILLER"
        break
      fi
    done
    [ -n "$status" ] || status=survived by="survived stages ${stages[*]}"
  fi
  by=${by//|/\\|}
  case $status in
    killed)
      killed=$((killed + 1))
      kill_times+=("$ttk")
      say "$m: killed by $by in ${ttk}s"
      ;;
    *)
      notkilled=$((notkilled + 1))
      bad+=("$m: $by")
      say "$m: ${status^^}: $by (logs: build/mutants/logs/$m)"
      ;;
  esac
  rows+=("| \`$m\` | $cls | $by | ${ttk:-**${status}**} | ${st[1]} | ${st[2]} | ${st[3]} | ${st[4]} |")
done
total=$(secs "$start_all" "$(now)")

stats_line() {
  [ ${#kill_times[@]} -gt 0 ] || { echo "no mutant killed"; return; }
  printf '%s\n' "${kill_times[@]}" | sort -g | awk '{ t[NR] = $1 } END {
    med = NR % 2 ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
    printf "time to kill: median %.1fs, worst %.1fs (over %d killed)\n", med, t[NR], NR }'
}
report=$OUTDIR/report.md
{
  echo "# Mutants ($([ "$quick" -eq 1 ] && echo "--quick, ")stages ${stages[*]}, fuzz ${FUZZ_SECONDS}s per target)"
  echo
  echo "Source: $rev. $killed of ${#chosen[@]} killed; total ${total}s on $(nproc) core(s)."
  echo "Times in seconds; a stage's time includes configuring and building its preset(s)."
  echo
  echo "| mutant | class | killed by | time to kill | 1 unit | 2 replay | 3 fuzz | 4 empty |"
  echo "|---|---|---|--:|--:|--:|--:|--:|"
  printf '%s\n' "${rows[@]}"
  echo
  stats_line
  if [ ${#bad[@]} -gt 0 ]; then
    echo
    echo "Not killed:"
    printf -- '- %s\n' "${bad[@]}"
  fi
} >"$report"
cat "$report"
say "report: build/mutants/report.md, logs: build/mutants/logs/"
record "$killed" "$notkilled"
verdict $((notkilled > 0 ? 1 : 0))
