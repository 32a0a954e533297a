#!/usr/bin/env bash
# gcc debug build with MEMBUF_VALGRIND=ON; every ctest entry (unit tests, whole-corpus replay) runs
# under memcheck (the preset's test launcher), failing on any error or definite/indirect leak.
#
# usage: ci/valgrind.sh [--help]
#   JOBS  parallel build and test jobs (default: the number of cores)
# Build outputs: build/valgrind/.
set -euo pipefail
JOB_NAME=valgrind
source "$(dirname "$0")/lib.sh"
ci_no_args "$@"
rc=0
{ build_preset valgrind && ctest_preset valgrind; } || rc=1
verdict $rc
