#!/usr/bin/env bash
# clang ThreadSanitizer: every ctest entry, among them test_guard_threads (a guard attributing a
# bad free by reading another thread's guard while that guard's owner changes it).
#
# usage: ci/tsan.sh [--help]
#   JOBS          parallel build and test jobs (default: the number of cores)
#   TSAN_OPTIONS  default "halt_on_error=1 second_deadlock_stack=1"
# Build outputs: build/tsan/.
set -euo pipefail
JOB_NAME=tsan
source "$(dirname "$0")/lib.sh"
ci_no_args "$@"
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1 second_deadlock_stack=1}
rc=0
{ build_preset tsan && ctest_preset tsan; } || rc=1
verdict $rc
