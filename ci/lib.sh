# Shared helpers for the ci/ job scripts (sourced, not run).
# shellcheck shell=bash
# Each job records "<job> <passed> <failed>" lines into $MEMBUF_RESULTS when ci/test.sh sets it.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The running script's absolute path (for --help), taken before the cd below.
case $0 in /*) CI_SCRIPT=$0 ;; *) CI_SCRIPT=$PWD/$0 ;; esac
cd "$ROOT" || exit 2

# ---- arguments and values ---------------------------------------------------------------------
# Every ci script answers --help (its header comment, on stdout, exit 0) and refuses an unknown
# argument or a malformed value with one line on stderr and exit status 2.

# ci_usage: prints the running script's header comment (line 2 up to the first non-comment line).
ci_usage() { awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$CI_SCRIPT"; }

# ci_printable VALUE: VALUE as one short line (control characters as '?', cut at 60 characters).
ci_printable() {
  local v=${1//[^[:print:]]/?}
  [ ${#v} -le 60 ] || v="${v:0:57}..."
  printf '%s' "$v"
}

# ci_die MESSAGE...: "<script>: MESSAGE" on stderr, exit 2.
ci_die() { printf '%s: %s\n' "${0##*/}" "$*" >&2; exit 2; }

# ci_no_args "$@": for a script that takes no argument but -h/--help.
ci_no_args() {
  [ $# -gt 0 ] || return 0
  case "$1" in
    -h | --help) [ $# -eq 1 ] || ci_die "--help takes no further argument"; ci_usage; exit 0 ;;
    *) ci_die "unknown argument '$(ci_printable "$1")' (see --help)" ;;
  esac
}

# ci_uint NAME VALUE MIN MAX: VALUE must be a decimal integer from MIN to MAX (digits only, no
# sign, no leading zero; at most 18 digits, so bash arithmetic cannot wrap); exits 2 otherwise.
ci_uint() {
  local name=$1 v=$2 min=$3 max=$4
  if ! [[ "$v" =~ ^(0|[1-9][0-9]{0,17})$ ]] || ((v < min || v > max)); then
    ci_die "$name must be an integer from $min to $max, got '$(ci_printable "$v")'"
  fi
}

# ci_env_uint VAR DEFAULT MIN MAX: checks the environment variable VAR (DEFAULT when unset or
# empty) with ci_uint and assigns the result to the shell variable VAR.
ci_env_uint() {
  local var=$1 v
  v=${!var:-$2}
  ci_uint "$var" "$v" "$3" "$4"
  printf -v "$var" '%s' "$v"
}

# JOBS: parallel build and test jobs (default: the number of cores).
[ -n "${JOBS:-}" ] || JOBS=$(nproc)
ci_uint JOBS "$JOBS" 1 1024

say() { printf '[%s] %s\n' "${JOB_NAME:-ci}" "$*"; }
run() { say "+ $*"; "$@"; }

# record PASSED FAILED: add this job's counts to the run's tally.
record() {
  [ -n "${MEMBUF_RESULTS:-}" ] && echo "${JOB_NAME:-ci} $1 $2" >>"$MEMBUF_RESULTS"
  return 0
}

# build_preset PRESET [cmake -D args...]: configure (if needed) and build build/PRESET.
build_preset() {
  local preset=$1; shift
  run cmake --preset "$preset" "$@" >/dev/null
  run cmake --build --preset "$preset" -j "$JOBS"
}

# ctest_preset PRESET [ctest args...]: runs ctest, records its counts, returns its status.
ctest_preset() {
  local preset=$1; shift
  local log
  log=$(mktemp)
  local rc=0
  say "+ ctest --test-dir build/$preset $*"
  ctest --test-dir "build/$preset" --output-on-failure -j "$JOBS" "$@" 2>&1 | tee "$log" || rc=$?
  # ctest's summary: "100% tests passed, 0 tests failed out of 12"
  local line total failed
  line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1 || true)
  if [ -z "$line" ]; then
    say "no ctest summary found: counting the job as one failure"
    record 0 1
    rm -f "$log"
    return 1
  fi
  failed=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
  total=$(sed -E 's/.* failed out of ([0-9]+).*/\1/' <<<"$line")
  record $((total - failed)) "$failed"
  rm -f "$log"
  [ "$rc" -eq 0 ] && [ "$failed" -eq 0 ]
}

verdict() {
  if [ "$1" -eq 0 ]; then say "PASS"; else say "FAIL"; fi
  return "$1"
}
