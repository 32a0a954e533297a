#!/usr/bin/env bash
# clang ASan+UBSan (no recovery; LeakSanitizer on): unit tests, planted-bug checks, corpus replay.
set -euo pipefail
JOB_NAME=asan
source "$(dirname "$0")/lib.sh"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
rc=0
{ build_preset asan && ctest_preset asan; } || rc=1
verdict $rc
