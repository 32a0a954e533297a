#!/usr/bin/env bash
# Static analysis of src/: clang-tidy (checks in .clang-tidy) and cppcheck. Zero findings pass;
# justified suppressions live inline next to the code they excuse. Prints one line per tool when
# it is clean and every finding in full when it is not; clang-tidy's "N warnings generated."
# (warnings in system headers, which it does not show) is left out.
#
# usage: ci/static.sh [--help]
# Build outputs: build/dev/ (configured with compile_commands.json), build/static/ (the compile
# database clang-tidy reads, one entry per source file, and both tools' full logs).
set -euo pipefail
JOB_NAME=static
source "$(dirname "$0")/lib.sh"
ci_no_args "$@"
"$ROOT/ci/deps.sh" clang-tidy cppcheck >/dev/null
passed=0 failed=0
out=$ROOT/build/static
mkdir -p "$out"
run cmake --preset dev -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
# build/dev's database has each library source twice (the internal static library and the
# installed one, same flags): keep one entry per file, so clang-tidy analyses each once.
python3 - "$ROOT/build/dev/compile_commands.json" "$out/compile_commands.json" <<'PY'
import json, os, sys
seen, keep = set(), []
with open(sys.argv[1]) as f:
    for e in json.load(f):
        if e["file"] not in seen:
            seen.add(e["file"])
            keep.append(e)
tmp = sys.argv[2] + ".tmp"
with open(tmp, "w") as f:
    json.dump(keep, f, indent=1)
os.replace(tmp, sys.argv[2])
PY

srcs=(src/*.c)
say "clang-tidy: ${#srcs[@]} files of src/"
rc=0
clang-tidy --quiet -p "$out" "${srcs[@]}" >"$out/clang-tidy.log" 2>"$out/clang-tidy.err" || rc=$?
# Findings go to stdout; stderr carries one "N warnings generated." per file (diagnostics in
# system headers, suppressed by HeaderFilterRegex) and, on a real problem, its message.
grep -vE '^[0-9]+ (warnings?|errors?)( and [0-9]+ errors?)? generated\.$' "$out/clang-tidy.err" >"$out/clang-tidy.notes" || true
findings=$(grep -cE ':[0-9]+:[0-9]+: (warning|error): ' "$out/clang-tidy.log" || true)
if [ "$rc" -eq 0 ] && [ "$findings" -eq 0 ] && [ ! -s "$out/clang-tidy.notes" ]; then
  passed=$((passed + 1)); say "clang-tidy: no findings"
else
  failed=$((failed + 1))
  cat "$out/clang-tidy.log" "$out/clang-tidy.notes"
  say "clang-tidy: $findings findings (exit status $rc); log: $out/clang-tidy.log"
fi

say "cppcheck: src/"
if cppcheck --quiet --std=c11 --enable=warning,style,performance,portability \
     --inline-suppr --error-exitcode=1 -I include -I src -D__GNUC__ \
     --suppress=missingIncludeSystem src >"$out/cppcheck.log" 2>&1; then
  passed=$((passed + 1)); say "cppcheck: no findings"
else
  failed=$((failed + 1))
  cat "$out/cppcheck.log"
  say "cppcheck reported findings; log: $out/cppcheck.log"
fi
record "$passed" "$failed"
verdict $((failed > 0))
