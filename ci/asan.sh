#!/usr/bin/env bash
# clang ASan+UBSan (no recovery; LeakSanitizer on): unit tests, planted-bug checks, corpus replay.
#
# usage: ci/asan.sh [--help]
#   JOBS           parallel build and test jobs (default: the number of cores)
#   ASAN_OPTIONS   default detect_leaks=1:abort_on_error=0:halt_on_error=1
#   UBSAN_OPTIONS  default print_stacktrace=1:halt_on_error=1
# Build outputs: build/asan/.
set -euo pipefail
JOB_NAME=asan
source "$(dirname "$0")/lib.sh"
ci_no_args "$@"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
rc=0
{ build_preset asan && ctest_preset asan; } || rc=1
verdict $rc
