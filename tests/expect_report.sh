#!/usr/bin/env bash
# expect_report.sh REGEX CMD [ARGS...]: passes only if CMD exits non-zero AND its output matches
# REGEX (extended). Used by planted-bug tests: a detector must fire, and fire for this reason.
set -uo pipefail
[ $# -ge 2 ] || { echo "usage: expect_report.sh REGEX CMD [ARGS...]" >&2; exit 2; }
regex=$1; shift
out=$("$@" 2>&1); rc=$?
printf '%s\n' "$out" | tail -n 40
if [ "$rc" -eq 0 ]; then
  echo "expect_report: '$*' exited 0: the planted bug was not reported" >&2; exit 1
fi
if ! grep -Eq -- "$regex" <<<"$out"; then
  echo "expect_report: exit $rc but no report matching /$regex/" >&2; exit 1
fi
echo "expect_report: reported as expected (exit $rc)"
