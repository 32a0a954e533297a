#!/usr/bin/env bash
# Installs the release build (shared library) into a temporary prefix, then checks what a user
# gets: the shared library exports exactly the public API (every MB_API name of include/membuf.h,
# nothing else: no mb__ internal), and outside programs build and run against it with
# find_package(membuf) + membuf::membuf, with pkg-config, and a regression test emitted by
# membuf-ops (which must need no internal symbol).
#
# usage: ci/install.sh [--help]
#   JOBS  parallel build jobs (default: the number of cores)
# Build outputs: build/release/ (shared library); the prefix and the outside builds live in a
# temporary directory, removed at exit.
set -euo pipefail
JOB_NAME=install
source "$(dirname "$0")/lib.sh"
ci_no_args "$@"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
check() { if "$@"; then passed=$((passed + 1)); else say "failed: $*"; failed=$((failed + 1)); fi; }

build_preset release -DBUILD_SHARED_LIBS=ON
run cmake --install build/release --prefix "$tmp/prefix" >/dev/null
lib=$(find "$tmp/prefix" -name 'libmembuf.so.*.*' | head -n 1)

# The exported names against the header's MB_API declarations.
exports() {
  [ -n "$lib" ] || { say "no shared library installed"; return 1; }
  nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRV]$/ { print $3 }' | sort >"$tmp/exported"
  grep -oE '^MB_API [^(]*\b(mb_[a-z0-9_]+)\(' include/membuf.h | grep -oE 'mb_[a-z0-9_]+\($' \
    | tr -d '(' | sort >"$tmp/declared"
  if ! diff -u "$tmp/declared" "$tmp/exported" >"$tmp/diff"; then
    say "exported symbols differ from the header's MB_API names (- declared, + exported):"
    sed -n '3,$p' "$tmp/diff"
    return 1
  fi
  say "$(wc -l <"$tmp/exported") symbols exported, all mb_ public names of membuf.h"
}
check exports

check bash -c "cmake -S tests/consumer -B '$tmp/cmake' -DCMAKE_PREFIX_PATH='$tmp/prefix' >/dev/null \
  && cmake --build '$tmp/cmake' >/dev/null && '$tmp/cmake/consumer'"
pcdir=$(dirname "$(find "$tmp/prefix" -name membuf.pc | head -n 1)")
check bash -c "export PKG_CONFIG_PATH='$pcdir'; \
  cc -std=c11 -Wall -Wextra -Werror tests/consumer/main.c \$(pkg-config --cflags --libs membuf) \
  -Wl,-rpath,'$tmp/prefix/lib' -o '$tmp/pc-consumer' && '$tmp/pc-consumer'"

# Regression tests as membuf-ops emits them, from inputs that use the internal fault hook and a
# reentering violation handler, built against the installed shared library only.
emitted() {
  local input
  for input in corpus/fuzz_guard/sys-fail corpus/fuzz_guard/reenter-mismatched-free-1 \
    corpus/fuzz_guard/corrupt-pool corpus/fuzz_guard/corrupt-evict-order \
    corpus/fuzz_guard/reenter-mismatched-free-reused-64 corpus/fuzz_guard/pool-leak-194; do
    build/release/tools/membuf-ops -t fuzz_guard emit-c "$input" >"$tmp/emitted.c" || return 1
    # shellcheck disable=SC2046 # pkg-config's flags are meant to be split into words
    cc -std=c11 -Wall -Wextra -Werror "$tmp/emitted.c" \
      $(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs membuf) -Wl,-rpath,"$tmp/prefix/lib" \
      -o "$tmp/emitted" || return 1
    "$tmp/emitted" >/dev/null || return 1
  done
}
check emitted
say "$passed passed, $failed failed"
record "$passed" "$failed"
verdict $((failed > 0))
