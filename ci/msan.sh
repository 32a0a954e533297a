#!/usr/bin/env bash
# clang MSan with origins: unit tests and corpus replay (replay main, no libFuzzer).
#
# usage: ci/msan.sh [--help]
#   JOBS          parallel build and test jobs (default: the number of cores)
#   MSAN_OPTIONS  default halt_on_error=1
# Build outputs: build/msan/.
set -euo pipefail
JOB_NAME=msan
source "$(dirname "$0")/lib.sh"
ci_no_args "$@"
export MSAN_OPTIONS=${MSAN_OPTIONS:-halt_on_error=1}
rc=0
{ build_preset msan && ctest_preset msan; } || rc=1
verdict $rc
