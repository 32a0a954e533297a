#!/usr/bin/env bash
# Installs the release build into a temporary prefix and builds an outside program against it
# twice: with find_package(membuf) + membuf::membuf, and with pkg-config. Both must run.
set -euo pipefail
JOB_NAME=install
source "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
check() { if "$@"; then passed=$((passed + 1)); else say "failed: $*"; failed=$((failed + 1)); fi; }

build_preset release
run cmake --install build/release --prefix "$tmp/prefix" >/dev/null
check bash -c "cmake -S tests/consumer -B '$tmp/cmake' -DCMAKE_PREFIX_PATH='$tmp/prefix' >/dev/null \
  && cmake --build '$tmp/cmake' >/dev/null && '$tmp/cmake/consumer'"
pcdir=$(dirname "$(find "$tmp/prefix" -name membuf.pc | head -n 1)")
check bash -c "export PKG_CONFIG_PATH='$pcdir'; \
  cc -std=c11 -Wall -Wextra -Werror tests/consumer/main.c \$(pkg-config --cflags --libs membuf) \
  -Wl,-rpath,'$tmp/prefix/lib' -o '$tmp/pc-consumer' && '$tmp/pc-consumer'"
say "$passed passed, $failed failed"
record "$passed" "$failed"
verdict $((failed > 0))
