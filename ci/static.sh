#!/usr/bin/env bash
# Static analysis of src/: clang-tidy (checks in .clang-tidy) and cppcheck. Zero findings pass;
# justified suppressions live inline next to the code they excuse.
set -euo pipefail
JOB_NAME=static
source "$(dirname "$0")/lib.sh"
"$ROOT/ci/deps.sh" clang-tidy cppcheck >/dev/null
passed=0 failed=0
run cmake --preset dev -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
if run clang-tidy --quiet -p build/dev src/*.c; then
  passed=$((passed + 1))
else
  failed=$((failed + 1)); say "clang-tidy reported findings"
fi
if run cppcheck --quiet --std=c11 --enable=warning,style,performance,portability \
     --inline-suppr --error-exitcode=1 -I include -I src -D__GNUC__ \
     --suppress=missingIncludeSystem src; then
  passed=$((passed + 1))
else
  failed=$((failed + 1)); say "cppcheck reported findings"
fi
record "$passed" "$failed"
verdict $((failed > 0))
