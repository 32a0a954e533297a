# shellcheck shell=bash
# Helpers for the hostile-case files tests/hostile/*.sh (sourced; see tests/hostile.sh).
#
# A case file prints one line per case, "ok - NAME" or "not ok - NAME: WHY", and ends with
# `hostile_end`, which exits 0 iff every case passed. It writes only under $HOSTILE_TMP (or build/).
#   expect_fail2 NAME CMD...  CMD must exit 2 with exactly one non-empty line on stderr
#   expect_ok NAME CMD...     CMD must exit 0
#   ok NAME / not_ok NAME WHY  report a case checked by hand
# CMD runs from the repository root with stdin from /dev/null, under `timeout` (HOSTILE_CMD_TIMEOUT
# seconds, default 60) when it is a program; its stdout and stderr are kept in $HOSTILE_OUT and
# $HOSTILE_ERR until the next command, for further checks.
#
# The driver exports ROOT, HOSTILE_TMP, MEMBUF_OPS and REPLAY_DIR; run alone (bash
# tests/hostile/NAME.sh), this file fills them in: the checkout, a fresh scratch directory
# (removed at exit) and the dev preset's binaries (build/dev; build them first).
ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
if [ -z "${HOSTILE_TMP:-}" ]; then
  HOSTILE_TMP=$(mktemp -d "${TMPDIR:-/tmp}/membuf-hostile.XXXXXX")
  # shellcheck disable=SC2064 # expand now: the path is fixed
  trap "rm -rf '$HOSTILE_TMP'" EXIT
fi
MEMBUF_OPS=${MEMBUF_OPS:-$ROOT/build/dev/tools/membuf-ops}
REPLAY_DIR=${REPLAY_DIR:-$ROOT/build/dev/fuzz}
export ROOT HOSTILE_TMP MEMBUF_OPS REPLAY_DIR
cd "$ROOT" || exit 2

HOSTILE_PASSED=0
HOSTILE_FAILED=0
HOSTILE_OUT=$HOSTILE_TMP/.hostile-lib/stdout
HOSTILE_ERR=$HOSTILE_TMP/.hostile-lib/stderr
mkdir -p "$HOSTILE_TMP/.hostile-lib" || exit 2

# hostile_line TEXT: TEXT on one line (control characters as '?', cut at 160 characters).
hostile_line() {
  local v=${1//[^[:print:]]/?}
  [ ${#v} -le 160 ] || v="${v:0:157}..."
  printf '%s' "$v"
}
ok() { echo "ok - $1"; HOSTILE_PASSED=$((HOSTILE_PASSED + 1)); }
not_ok() { echo "not ok - $1: $(hostile_line "$2")"; HOSTILE_FAILED=$((HOSTILE_FAILED + 1)); }

# hostile_run CMD...: runs CMD as described above; sets HOSTILE_RC.
hostile_run() {
  HOSTILE_RC=0
  if [ "$(type -t "$1")" = file ]; then
    timeout "${HOSTILE_CMD_TIMEOUT:-60}" "$@" </dev/null >"$HOSTILE_OUT" 2>"$HOSTILE_ERR" || HOSTILE_RC=$?
  else
    "$@" </dev/null >"$HOSTILE_OUT" 2>"$HOSTILE_ERR" || HOSTILE_RC=$?
  fi
}

expect_fail2() {
  local name=$1 err
  shift
  hostile_run "$@"
  # Lines as `read` sees them: a last line without a newline counts too.
  mapfile -t err <"$HOSTILE_ERR"
  if [ "$HOSTILE_RC" -ne 2 ]; then
    not_ok "$name" "exit status $HOSTILE_RC, want 2 (stderr: ${err[*]:0:3})"
  elif [ ${#err[@]} -ne 1 ]; then
    not_ok "$name" "${#err[@]} lines on stderr, want 1: ${err[*]:0:3}"
  elif ! [[ "${err[0]}" =~ [^[:space:]] ]]; then
    not_ok "$name" "the line on stderr is empty"
  else
    ok "$name"
  fi
}

expect_ok() {
  local name=$1
  shift
  hostile_run "$@"
  if [ "$HOSTILE_RC" -eq 0 ]; then
    ok "$name"
  else
    local err
    mapfile -t err <"$HOSTILE_ERR"
    not_ok "$name" "exit status $HOSTILE_RC, want 0 (stderr: ${err[*]: -3})"
  fi
}

# hostile_end: exits 0 iff no case failed (and at least one ran).
hostile_end() {
  if [ $((HOSTILE_PASSED + HOSTILE_FAILED)) -eq 0 ]; then
    echo "not ok - $(basename "$0"): no case ran"
    exit 1
  fi
  if [ "$HOSTILE_FAILED" -eq 0 ]; then exit 0; fi
  exit 1
}
