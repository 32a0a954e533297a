#!/usr/bin/env bash
# Turns a fuzzer finding into a regression: shrinks it at the op level (membuf-ops shrink: same
# failure signature), prints its text form, files the input as corpus/<target>/regressions/<name>
# and emits a C test tests/regress/<name>.c that ctest picks up (regress_<name>).
#
# usage: ci/triage.sh [TARGET] ARTIFACT      (TARGET: fuzz_buf, fuzz_alloc or fuzz_guard; taken
#                                            from the artifact's path when left out)
#   MEMBUF_OPS   the membuf-ops binary (default: build/fuzz/tools/membuf-ops, the ASan build the
#                finding came from, else build/dev/tools/membuf-ops)
# The name is the failure signature made into a file name plus 8 hex digits of the input's
# SHA-1, so the same finding filed twice lands on the same files. Exit 0 when filed; 1 if the
# artifact does not fail (nothing to file); 2 on bad usage.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
die() { echo "triage.sh: $*" >&2; exit 2; }

case $# in
  1) art=$1; target= ;;
  2) target=$1; art=$2 ;;
  *) die "usage: ci/triage.sh [TARGET] ARTIFACT" ;;
esac
[ -f "$art" ] && [ -r "$art" ] || die "cannot read artifact '$art'"
if [ -z "$target" ]; then
  target=$(grep -oE 'fuzz_(buf|alloc|guard)' <<<"$art" | tail -n 1 || true)
  [ -n "$target" ] || die "cannot tell the target from '$art': pass it first"
fi
case "$target" in fuzz_buf|fuzz_alloc|fuzz_guard) ;; *) die "unknown target '$target'" ;; esac
ops=${MEMBUF_OPS:-}
if [ -z "$ops" ]; then
  for c in "$ROOT/build/fuzz/tools/membuf-ops" "$ROOT/build/dev/tools/membuf-ops"; do
    [ -x "$c" ] && { ops=$c; break; }
  done
fi
[ -n "$ops" ] && [ -x "$ops" ] || die "no membuf-ops binary (build the fuzz or dev preset, or set MEMBUF_OPS)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# ASan findings: keep going to the report, no leak check noise from the shrinking children.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
sig=$("$ops" -t "$target" run "$art" 2>/dev/null | sed -nE 's/^FAILED [^:]*: //p' | head -n 1 || true)
if [ -z "$sig" ]; then
  echo "triage.sh: $art does not fail with $ops; nothing to file" >&2
  exit 1
fi
echo "finding ($target): $sig"
start=$SECONDS
"$ops" -t "$target" shrink "$art" -o "$tmp/shrunk" >"$tmp/shrunk.ops" 2>"$tmp/shrink.log" \
  || { cat "$tmp/shrink.log" >&2; die "shrinking failed"; }
tail -n 1 "$tmp/shrink.log"
echo "shrunk in $((SECONDS - start))s; text form:"
sed 's/^/    /' "$tmp/shrunk.ops"

slug=$(sed -E 's/ \(.*//' <<<"$sig" | tr 'A-Z' 'a-z' | sed -E 's/[^a-z0-9]+/_/g; s/^_+//; s/_+$//' | cut -c1-48 | sed -E 's/_+$//')
hash=$(sha1sum "$tmp/shrunk" | cut -c1-8)
name="${target#fuzz_}_${slug:-failure}_$hash"
mkdir -p "$ROOT/corpus/$target/regressions" "$ROOT/tests/regress"
cp "$tmp/shrunk" "$ROOT/corpus/$target/regressions/$name"
"$ops" -t "$target" emit-c "$ROOT/corpus/$target/regressions/$name" >"$ROOT/tests/regress/$name.c"
echo "filed: corpus/$target/regressions/$name"
echo "       tests/regress/$name.c (ctest: regress_$name)"
echo "reproduce: $ops -t $target run corpus/$target/regressions/$name"
