#!/usr/bin/env bash
# gcc debug build with -Werror, plus a clang -Werror build; unit tests and corpus replay (gcc).
#
# usage: ci/dev.sh [--help]
#   JOBS  parallel build and test jobs (default: the number of cores)
# Build outputs: build/dev/ (gcc), build/clang/.
set -euo pipefail
JOB_NAME=dev
source "$(dirname "$0")/lib.sh"
ci_no_args "$@"
rc=0
{ build_preset dev && ctest_preset dev; } || rc=1
build_preset clang || { record 0 1; rc=1; }
verdict $rc
