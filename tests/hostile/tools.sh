#!/usr/bin/env bash
# Hostile cases for the C tools: membuf-ops (every subcommand), the gcc replay drivers and the
# MEMBUF_MUTATOR check of the custom mutator. Each case prints one line, "ok - NAME" or
# "not ok - NAME: WHY"; the exit status is 0 iff every case passed. Writes only under
# $HOSTILE_TMP. Run from the repository root:
#
#   MEMBUF_OPS=build/dev/tools/membuf-ops REPLAY_DIR=build/dev/fuzz HOSTILE_TMP=$(mktemp -d) \
#     ROOT=$PWD bash tests/hostile/tools.sh
#
#   MEMBUF_OPS   a dev-preset membuf-ops          REPLAY_DIR   build/dev/fuzz (fuzz_alloc ...;
#   HOSTILE_TMP  an empty scratch directory                    its ../libmembuf.a links tests)
#   ROOT         the repository root
# shellcheck disable=SC2317 # the c_* cases are called through case_
set -euo pipefail
for v in MEMBUF_OPS REPLAY_DIR HOSTILE_TMP ROOT; do
  [ -n "${!v:-}" ] || { echo "tools.sh: $v is not set (see the header of this file)" >&2; exit 2; }
done
ops=$(cd "$(dirname "$MEMBUF_OPS")" && pwd)/$(basename "$MEMBUF_OPS")
replay=$(cd "$REPLAY_DIR" && pwd)
# shellcheck disable=SC2153 # ROOT is checked above (${!v})
root=$(cd "$ROOT" && pwd)
[ -x "$ops" ] || { echo "tools.sh: no membuf-ops at $MEMBUF_OPS" >&2; exit 2; }
[ -x "$replay/fuzz_alloc" ] || { echo "tools.sh: no replay driver $REPLAY_DIR/fuzz_alloc" >&2; exit 2; }
[ -d "$HOSTILE_TMP" ] || { echo "tools.sh: HOSTILE_TMP '$HOSTILE_TMP' is not a directory" >&2; exit 2; }
W=$(mktemp -d "$HOSTILE_TMP/tools.XXXXXX")
seed_ops=$root/corpus/src/fuzz_alloc/bulk.ops   # a text input
seed_bin=$root/corpus/fuzz_guard/sys-fail       # a binary input (fuzz_guard)
if [ ! -f "$seed_ops" ] || [ ! -f "$seed_bin" ]; then
  echo "tools.sh: corpus seeds missing under $root" >&2
  exit 2
fi

failures=0
rc=0
# case NAME FUNCTION [ARGS...]: FUNCTION runs in a fresh directory $W/NAME-ish (the current
# directory) and prints why it failed, returning non-zero, or prints nothing.
n=0
case_() {
  local name=$1 why status=0
  shift
  n=$((n + 1))
  mkdir "$W/$n"
  why=$(cd "$W/$n" && "$@" 2>&1) || status=$?
  if [ "$status" -eq 0 ]; then
    echo "ok - $name"
  else
    echo "not ok - $name: $(tr '\n' ' ' <<<"${why:-failed}" | cut -c1-300)"
    failures=$((failures + 1))
  fi
}

# run CMD...: its stdout, stderr and status in ./out, ./err and $rc (never fails itself).
run() { rc=0; "$@" >out 2>err || rc=$?; }
# checks on the last run
want_rc() { [ "$rc" -eq "$1" ] || { echo "exit $rc, expected $1; stderr: $(head -c 200 err)"; return 1; }; }
one_line() {
  local l
  l=$(wc -l <err)
  [ "$l" -eq 1 ] || { echo "$l lines on stderr, expected 1: $(head -c 200 err)"; return 1; }
}
err_has() { grep -q -- "$1" err || { echo "stderr lacks '$1': $(head -c 200 err)"; return 1; }; }
fail2() { want_rc 2 && one_line; }
# same FILE HASH: FILE still hashes to HASH
same() { [ "$(sha1sum <"$1")" = "$2" ] || { echo "$1 changed"; return 1; }; }
hash() { sha1sum <"$1"; }
# no temporary output files (.NAME.XXXXXX) left in the current directory
no_temps() {
  local t
  t=$(find . -maxdepth 1 -name '.*.??????' -print)
  [ -z "$t" ] || { echo "temporary file left: $t"; return 1; }
}
# the file size limit as a write error (EFBIG), not a fatal signal, in a subshell
limited() { (trap '' XFSZ; ulimit -f "$1"; shift; "$@"); }

# ---- usage ---------------------------------------------------------------------------------
c_help() {
  local h
  for h in --help -h; do
    run "$ops" "$h"
    want_rc 0 || return 1
    grep -q '^usage: membuf-ops' out || { echo "$h: no usage on stdout"; return 1; }
    grep -q '1 MiB' out || { echo "$h: the input cap is not in the help"; return 1; }
    [ ! -s err ] || { echo "$h: stderr not empty"; return 1; }
  done
}
c_bad_usage() {
  cp "$seed_ops" x.ops
  local c
  for c in "--frobnicate" "frob x.ops" "-t banana print x.ops" "print" "print x.ops x.ops" \
           "encode x.ops" "encode x.ops -o" "run" "print -z x.ops" "-t" "shrink x.ops" \
           "encode x.ops -o y -o z" "-t fuzz_buf -t fuzz_alloc print x.ops"; do
    # shellcheck disable=SC2086 # word splitting intended: each string is an argument list
    run "$ops" $c
    fail2 || { echo "'$c': $(fail2)"; return 1; }
  done
}
c_missing_input() { run "$ops" -t fuzz_alloc print does-not-exist; fail2 && err_has 'does-not-exist'; }
c_dir_input() { mkdir d; run "$ops" -t fuzz_alloc print d; fail2 && err_has 'directory'; }

# ---- never overwrite an input --------------------------------------------------------------
c_encode_self() {
  cp "$seed_ops" x.ops
  local h
  h=$(hash x.ops)
  ln x.ops hard.ops
  ln -s x.ops sym.ops
  for o in x.ops ./x.ops "$PWD/x.ops" hard.ops sym.ops; do
    run "$ops" encode x.ops -o "$o"
    fail2 || { echo "-o $o: $(fail2)"; return 1; }
    err_has refusing || return 1
  done
  same x.ops "$h" && [ -L sym.ops ] && no_temps
}
c_shrink_self() {
  cp "$seed_bin" crash
  local h
  h=$(hash crash)
  for o in crash ./crash; do
    run "$ops" -t fuzz_guard shrink crash -o "$o"
    fail2 || { echo "-o $o: $(fail2)"; return 1; }
    err_has refusing || return 1
  done
  same crash "$h" && no_temps
}
c_emit_self() {
  cp "$seed_bin" t.c
  local h
  h=$(hash t.c)
  run "$ops" -t fuzz_guard emit-c t.c -o ./t.c
  fail2 && err_has refusing && same t.c "$h"
}

# ---- outputs: text for *.ops, atomic, complete or absent -----------------------------------
c_ops_output_is_text() {
  cp "$seed_ops" x.ops
  run "$ops" encode x.ops -o y.ops
  want_rc 0 || return 1
  [ "$(head -n 1 y.ops)" = "# target: fuzz_alloc" ] || { echo "y.ops does not start with its target"; return 1; }
  if LC_ALL=C grep -q '[^[:print:][:space:]]' y.ops; then echo "y.ops is not text"; return 1; fi
  run "$ops" encode x.ops -o y.bin
  want_rc 0 || return 1
  if ! { "$ops" print x.ops >a && "$ops" print y.ops >b && "$ops" -t fuzz_alloc print y.bin >c; }; then
    echo "print failed"
    return 1
  fi
  if ! { cmp -s a b && cmp -s a c; }; then echo "text and binary outputs do not print the same ops"; return 1; fi
}
c_text_output_keeps_target() {
  # ops every target has: read back without -t, the text's header keeps fuzz_guard
  printf 'malloc 0 system 16\nfree 0\n' >g.ops
  run "$ops" -t fuzz_guard encode g.ops -o g2.ops
  want_rc 0 || return 1
  run "$ops" run g2.ops
  want_rc 0 || return 1
  grep -q '(fuzz_guard, 2 ops)' out || { echo "read back as: $(cat out)"; return 1; }
}
c_encode_failure_no_file() {
  printf 'malloc 0 system 16\nbogus-op 1\n' >bad.ops
  run "$ops" encode bad.ops -o out.bin
  fail2 || return 1
  [ ! -e out.bin ] || { echo "a failed encode created out.bin"; return 1; }
  no_temps
}
c_encode_full_disk() {
  # 64 ops: more than 1 KB of text, the most ulimit -f 1 lets a file hold (stderr fits)
  local h
  for _ in $(seq 32); do printf 'malloc 1 pool 600\nrealloc 1 4096\n'; done >x.ops
  echo previous >old.ops
  h=$(hash old.ops)
  run limited 1 "$ops" -t fuzz_alloc encode x.ops -o old.ops
  fail2 || return 1
  same old.ops "$h" || return 1
  run limited 1 "$ops" -t fuzz_alloc encode x.ops -o new.ops
  fail2 || return 1
  [ ! -e new.ops ] || { echo "a failed encode left new.ops"; return 1; }
  no_temps || return 1
  run "$ops" -t fuzz_alloc encode x.ops -o new.ops
  want_rc 0 || return 1
  [ "$(grep -c . new.ops)" = 65 ] || { echo "encode without a limit did not write 64 ops"; return 1; }
}
c_emit_full_disk() {
  cp "$seed_bin" in
  echo previous >t.c
  local h
  h=$(hash t.c)
  run limited 4 "$ops" -t fuzz_guard emit-c in -o t.c
  fail2 || return 1
  same t.c "$h" || return 1
  run limited 4 "$ops" -t fuzz_guard emit-c in -o new.c
  fail2 || return 1
  [ ! -e new.c ] || { echo "a failed emit-c left new.c ($(wc -c <new.c) bytes)"; return 1; }
  no_temps || return 1
  run "$ops" -t fuzz_guard emit-c in -o t.c
  want_rc 0 || return 1
  [ "$(tail -n 1 t.c)" = "}" ] || { echo "emit-c -o t.c did not write a whole test"; return 1; }
}
c_shrink_not_failing_no_file() {
  cp "$seed_bin" in
  run "$ops" -t fuzz_guard shrink in -o shrunk
  fail2 && err_has 'does not fail' || return 1
  [ ! -e shrunk ] || { echo "shrink of a clean input created its output"; return 1; }
}
c_output_dir_refused() {
  cp "$seed_ops" x.ops
  mkdir d
  run "$ops" encode x.ops -o d
  fail2 && [ -d d ] && [ -z "$(ls -A d)" ]
}
c_output_missing_dir() {
  cp "$seed_ops" x.ops
  run "$ops" encode x.ops -o no/such/dir/out
  fail2 && [ ! -e no ]
}
c_output_symlink_and_mode() {
  cp "$seed_ops" x.ops
  echo previous >real.bin
  chmod 640 real.bin
  ln -s real.bin link.bin
  run "$ops" encode x.ops -o link.bin
  want_rc 0 || return 1
  [ -L link.bin ] || { echo "the link was replaced by a file"; return 1; }
  [ "$(stat -c %a real.bin)" = 640 ] || { echo "mode changed to $(stat -c %a real.bin)"; return 1; }
  "$ops" -t fuzz_alloc print real.bin | cmp -s - <("$ops" print x.ops) || { echo "real.bin not written"; return 1; }
  no_temps
}
c_emit_ops_name_refused() {
  cp "$seed_bin" in
  run "$ops" -t fuzz_guard emit-c in -o t.ops
  fail2 && [ ! -e t.ops ]
}

# ---- standard output write errors ----------------------------------------------------------
c_stdout_full() {
  cp "$seed_bin" in
  cp "$seed_ops" x.ops
  local c
  for c in "print x.ops" "-t fuzz_guard emit-c in" "run x.ops" "--help"; do
    rc=0
    # shellcheck disable=SC2086 # word splitting intended
    "$ops" $c >/dev/full 2>err || rc=$?
    fail2 || { echo "'$c' >/dev/full: $(fail2)"; return 1; }
    err_has 'standard output' || return 1
  done
}

c_device_outputs() {
  cp "$seed_ops" x.ops
  "$ops" encode x.ops -o ref.bin || { echo "encode failed"; return 1; }
  # a pipe is written in place (nothing to rename over); its reader gets the whole output
  mkfifo p
  timeout 10 cat p >got &
  run timeout 10 "$ops" encode x.ops -o p
  wait $! || { echo "the reader of the pipe failed"; return 1; }
  want_rc 0 || return 1
  if [ ! -p p ] || ! cmp -s got ref.bin; then echo "the pipe did not carry the output"; return 1; fi
  # /dev/full only when a mistaken rename over it could not succeed (not as root)
  if [ "$(id -u)" != 0 ]; then
    run "$ops" encode x.ops -o /dev/full
    fail2 && err_has 'No space' || return 1
  fi
  rc=0
  "$replay/fuzz_alloc" "$seed_bin" >/dev/full 2>err || rc=$?
  want_rc 2 && err_has 'standard output'
}

# ---- inputs are read up to the cap ---------------------------------------------------------
c_dev_zero() {
  local start=$SECONDS
  run timeout 10 "$ops" -t fuzz_alloc print /dev/zero
  fail2 && err_has 'larger than' || return 1
  [ $((SECONDS - start)) -le 5 ] || { echo "took $((SECONDS - start)) s"; return 1; }
  if [ -x /usr/bin/time ]; then
    local kb
    kb=$( { /usr/bin/time -f '%M' "$ops" -t fuzz_alloc print /dev/zero 2>&1 >/dev/null || true; } | tail -n 1)
    [ "$kb" -lt 65536 ] || { echo "max RSS $kb KB reading /dev/zero"; return 1; }
  fi
}
c_cap_boundary() {
  head -c 1048576 /dev/zero >at_cap
  head -c 1048577 /dev/zero >over_cap
  run "$ops" -t fuzz_alloc print at_cap
  want_rc 0 || return 1
  run "$ops" -t fuzz_alloc print over_cap
  fail2 && err_has 'larger than'
}

# ---- emit-c: the input's name cannot break out of the comment, no machine paths ------------
c_emit_name_injection() {
  local d f lib=$replay/../libmembuf.a
  # directories with */ and a newline; a base name (it cannot hold a slash) with a star, a
  # newline, code, a backslash, a question mark and a byte that is not ASCII
  d="x*/"$'\n''int injected_dir = 1; /*'
  mkdir -p "$d"
  f="$d/crash*"$'\n''int injected = 1; \ ??é'
  cp "$seed_bin" "$f"
  run "$ops" -t fuzz_guard emit-c "$f" -o t.c
  want_rc 0 || return 1
  # the name is on line 1 only, escaped; the comment it is in ends on line 3, as always
  if tail -n +2 t.c | grep -q injected; then echo "the name reached the code: $(grep -m1 injected t.c)"; return 1; fi
  if [ "$(head -n 3 t.c | grep -c '\*/')" != 1 ] || ! sed -n 3p t.c | grep -q '\*/$'; then
    echo "the header comment does not end where it should"
    return 1
  fi
  if grep -qF -e "$W" -e "$root" -e "$HOME" t.c; then echo "a machine path in the C file"; return 1; fi
  head -n 1 t.c | grep -q 'from crash\\x2A\\x0Aint\\x20injected' || { echo "name not escaped: $(head -n 1 t.c)"; return 1; }
  [ -f "$lib" ] || { echo "no $lib to build the emitted test"; return 1; }
  cc -std=c11 -Wall -Wextra -Werror -I"$root/include" t.c "$lib" -lm -o t 2>cc.log \
    || { echo "emitted C does not build: $(head -c 300 cc.log)"; return 1; }
  ./t | grep -q 'regression: ok' || { echo "emitted test does not pass"; return 1; }
}

# ---- replay driver -------------------------------------------------------------------------
c_replay_symlink_loop() {
  mkdir -p c/sub
  cp "$seed_bin" c/a
  cp "$seed_bin" c/sub/b
  : >c/empty
  local files=3
  ln -s .. c/sub/up
  ln -s . c/self
  ln -s "$PWD/c" c/sub/abs
  run timeout 30 "$replay/fuzz_alloc" c
  [ "$rc" -ne 124 ] || { echo "still walking after 30 s"; return 1; }
  want_rc 0 || return 1
  [ "$(cat out)" = "$files passed, 0 failed" ] || { echo "summary '$(cat out)', expected $files passed"; return 1; }
  err_has 'already replayed'
}
c_replay_dev_zero() {
  run timeout 10 "$replay/fuzz_alloc" /dev/zero
  want_rc 1 && err_has 'larger than' && [ "$(cat out)" = "0 passed, 1 failed" ]
}
c_replay_oversized_in_dir() {
  mkdir c
  cp "$seed_bin" c/a
  head -c 2000000 /dev/zero >c/big
  run "$replay/fuzz_alloc" c
  want_rc 1 && err_has 'c/big: larger than' || return 1
  [ "$(cat out)" = "1 passed, 1 failed" ] || { echo "summary '$(cat out)'"; return 1; }
}
c_replay_unreadable() {
  ln -s nowhere dangling
  run "$replay/fuzz_alloc" dangling
  want_rc 1 && err_has 'cannot access' && [ "$(cat out)" = "0 passed, 1 failed" ]
}

# ---- MEMBUF_MUTATOR ------------------------------------------------------------------------
# A libFuzzer target with the mutator when clang can link one (as the fuzz preset does), else
# a stand-in main that calls LLVMFuzzerInitialize as libFuzzer does first.
c_mutator_env() {
  local core=$replay/libmembuf_fuzz_core.a internal=$replay/../libmembuf_internal.a
  if [ ! -f "$core" ] || [ ! -f "$internal" ]; then echo "no $core / $internal"; return 1; fi
  local -a inc=(-I"$root/fuzz" -I"$root/include" -DMBF_DIALECT=MBF_D_ALLOC)
  if clang -fsanitize=fuzzer "${inc[@]}" "$root/fuzz/fuzz_alloc.c" "$root/fuzz/mutator.c" \
      "$core" "$internal" -lm -o fz 2>cc.log; then
    local -a go=(./fz -runs=0)
  else
    cat >stub.c <<'EOF'
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerInitialize(int *argc, char ***argv);
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size) { (void)data; (void)max_size; return size; }
int main(int argc, char **argv) { return LLVMFuzzerInitialize(&argc, &argv); }
EOF
    cc -std=c11 "${inc[@]}" stub.c "$root/fuzz/mutator.c" "$core" "$internal" -lm -o fz 2>cc.log \
      || { echo "cannot build the mutator: $(head -c 300 cc.log)"; return 1; }
    local -a go=(./fz)
  fi
  local v
  for v in banana 2 ON yes " 1"; do
    run env MEMBUF_MUTATOR="$v" "${go[@]}"
    fail2 || { echo "MEMBUF_MUTATOR='$v': $(fail2)"; return 1; }
    err_has MEMBUF_MUTATOR || return 1
  done
  for v in 0 1 off on ""; do
    run env MEMBUF_MUTATOR="$v" "${go[@]}"
    want_rc 0 || { echo "MEMBUF_MUTATOR='$v': $(want_rc 0)"; return 1; }
  done
}

case_ "membuf-ops --help and -h: usage on stdout, exit 0" c_help
case_ "membuf-ops bad usage: one line, exit 2" c_bad_usage
case_ "membuf-ops missing input: one line, exit 2" c_missing_input
case_ "membuf-ops directory as input refused" c_dir_input
case_ "encode X.ops -o X.ops (and ./X.ops, abs path, hard link, symlink) refused, X.ops unchanged" c_encode_self
case_ "shrink crash -o crash refused, crash unchanged" c_shrink_self
case_ "emit-c IN -o IN refused" c_emit_self
case_ "encode -o Y.ops writes text that prints the same as the binary" c_ops_output_is_text
case_ "text output names its target, read back the same" c_text_output_keeps_target
case_ "encode of bad text leaves no output file" c_encode_failure_no_file
case_ "encode on a full disk (ulimit -f): old output kept, no new or temp file" c_encode_full_disk
case_ "emit-c -o on a full disk: old output kept, no partial file" c_emit_full_disk
case_ "shrink of an input that does not fail leaves no output" c_shrink_not_failing_no_file
case_ "-o naming a directory refused" c_output_dir_refused
case_ "-o in a missing directory refused" c_output_missing_dir
case_ "-o through a symlink replaces its target, keeps the link and the mode" c_output_symlink_and_mode
case_ "emit-c -o NAME.ops refused" c_emit_ops_name_refused
case_ "print, emit-c, run, --help > /dev/full: exit 2, one line" c_stdout_full
case_ "-o a pipe is written in place (and -o /dev/full fails); replay > /dev/full fails" c_device_outputs
case_ "/dev/zero as input refused fast with small RSS" c_dev_zero
case_ "input cap: 1 MiB accepted, 1 MiB + 1 refused" c_cap_boundary
case_ "emit-c: */ and newlines in the path do not inject, no machine paths, test builds" c_emit_name_injection
case_ "replay: symlink loops terminate, each input once" c_replay_symlink_loop
case_ "replay: /dev/zero refused by the cap" c_replay_dev_zero
case_ "replay: oversized file in a directory fails, the rest run" c_replay_oversized_in_dir
case_ "replay: dangling symlink is an error" c_replay_unreadable
case_ "MEMBUF_MUTATOR=banana refused at fuzzer start; 0/1/off/on accepted" c_mutator_env
exit $((failures > 0))
