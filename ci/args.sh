# Argument and value checks shared by every ci script (sourced; defines functions and CI_SCRIPT
# only: no cd, no output). ci/lib.sh sources it; scripts that must check their arguments before
# lib.sh changes directory (fuzz.sh, triage.sh, ...) source it first.
# shellcheck shell=bash
# The running script's absolute path (for --help), taken where it started: once per script, so
# sourcing this again after a cd (ci/lib.sh does) keeps it.
if [ "${_ci_args_pid:-}" != "$$" ]; then
  case $0 in /*) CI_SCRIPT=$0 ;; *) CI_SCRIPT=$PWD/$0 ;; esac
  _ci_args_pid=$$
fi

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

# ci_operands "$@": for a script that takes operands but no option except -h/--help; sets the
# array CI_OPERANDS (an empty operand is refused).
ci_operands() {
  CI_OPERANDS=()
  local arg
  for arg in "$@"; do
    case "$arg" in
      -h | --help) ci_usage; exit 0 ;;
      -*) ci_die "unknown option '$(ci_printable "$arg")' (see --help)" ;;
      '') ci_die "an empty argument (see --help)" ;;
      *) CI_OPERANDS+=("$arg") ;;
    esac
  done
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
