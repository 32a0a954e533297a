#!/usr/bin/env bash
# Turns a fuzzer finding into a regression, once: shrinks it at the op level (membuf-ops shrink:
# same failure), prints its text form, files the input as corpus/<target>/regressions/<name> and
# a C test as tests/regress/<name>.c that ctest picks up (regress_<name>).
#
# usage: ci/triage.sh [--into DIR] [--signature] [TARGET] ARTIFACT
#   TARGET        fuzz_buf, fuzz_alloc or fuzz_guard (a fuzz/fuzz_*.c); taken from the
#                 artifact's path when left out
#   --into DIR    file under DIR/corpus/... and DIR/tests/regress/ (default: this checkout)
#   --signature   only print the finding's normalised signature
#   -h, --help    this text
# Environment:
#   MEMBUF_OPS              a membuf-ops binary to use; refused when older than a source under
#                           src/ fuzz/ tools/ include/. Default: build/fuzz/tools/membuf-ops
#                           (ASan, as the fuzzers), configured and rebuilt first, every time
#   TRIAGE_RUN_SECONDS      limit for one replay (default 60; longer counts as a hang)
#   TRIAGE_SHRINK_SECONDS   limit for shrinking (default 600)
#   TRIAGE_HEARTBEAT        seconds between progress lines while shrinking (default 10)
# Signature: the harness's complaint (membuf-fuzz: ...), else the sanitizer's error type and first
# frame in src/, else the UBSan message, else the library's own (membuf: ...) line; addresses
# become ADDR, every other number N, paths lose their machine prefix. The name is the target,
# the signature as a file name (cut at a word) and 8 hex digits of the signature's SHA-1, so a
# finding with a signature already filed (any input, raw or shrunk) is a duplicate: reported,
# not filed again. Emitted files carry no machine paths.
# Exit: 0 filed or duplicate; 1 the artifact does not fail (nothing filed); 2 bad usage or
# input; 3 a step failed (build, replay hang, shrink, write).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/args.sh" # ci_die, ci_printable, ci_usage, ci_uint, ci_env_uint
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
caller=$PWD

fail() { printf 'triage.sh: %s\n' "$*" >&2; exit 3; }
abspath() { case "$1" in /*) printf '%s' "$1" ;; *) printf '%s/%s' "$caller" "$1" ;; esac; }

into=$ROOT sig_only=0 pos=()
while [ $# -gt 0 ]; do
  case "$1" in
    -h | --help) ci_usage; exit 0 ;;
    --signature) sig_only=1 ;;
    --into)
      [ $# -ge 2 ] || ci_die "--into needs a directory"
      into=$2; shift ;;
    --into=*) into=${1#--into=} ;;
    --) shift; pos+=("$@"); break ;;
    -*) ci_die "unknown option '$(ci_printable "$1")' (see --help)" ;;
    *) pos+=("$1") ;;
  esac
  shift
done
case ${#pos[@]} in
  1) target='' art=${pos[0]} ;;
  2) target=${pos[0]} art=${pos[1]} ;;
  *) ci_die "usage: ci/triage.sh [--into DIR] [--signature] [TARGET] ARTIFACT (see --help)" ;;
esac
run_secs=${TRIAGE_RUN_SECONDS:-60} shrink_secs=${TRIAGE_SHRINK_SECONDS:-600} hb=${TRIAGE_HEARTBEAT:-10}
ci_uint TRIAGE_RUN_SECONDS "$run_secs" 1 86400
ci_uint TRIAGE_SHRINK_SECONDS "$shrink_secs" 1 86400
ci_uint TRIAGE_HEARTBEAT "$hb" 1 3600

[ -n "$art" ] || ci_die "empty artifact path"
art=$(abspath "$art")
if [ ! -f "$art" ] || [ ! -r "$art" ]; then
  ci_die "cannot read artifact '$(ci_printable "$art")' (not a readable file)"
fi
if [ -z "$target" ]; then
  target=$(grep -oE 'fuzz_[a-z0-9]+' <<<"$art" | tail -n 1 || true)
  [ -n "$target" ] || ci_die "cannot tell the target from the artifact's path: pass it first"
fi
if ! [[ "$target" =~ ^fuzz_[a-z0-9_]+$ ]] || [ ! -f "$ROOT/fuzz/$target.c" ]; then
  known=$(find "$ROOT/fuzz" -maxdepth 1 -name 'fuzz_*.c' -printf '%f\n' | sed 's/\.c$//' | sort | tr '\n' ' ')
  ci_die "unknown target '$(ci_printable "$target")' (one of: ${known% })"
fi
if [ "$sig_only" -eq 0 ]; then
  [ -n "$into" ] || ci_die "--into: empty directory name"
  into=$(abspath "$into")
  [ -d "$into" ] || ci_die "--into: '$(ci_printable "$into")' is not a directory"
  into=$(cd "$into" && pwd -P)
fi

jobs=${JOBS:-$(nproc)}
ci_uint JOBS "$jobs" 1 1024

tmp=$(mktemp -d "${TMPDIR:-/tmp}/membuf-triage.XXXXXX")
bgpid='' partial=''
cleanup() {
  [ -z "$bgpid" ] || kill "$bgpid" 2>/dev/null || true
  rm -rf -- "$tmp"
  [ -z "${partial:-}" ] || rm -f -- "$partial"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the membuf-ops binary: rebuilt now, or the user's if it is not older than the sources ---
if [ -n "${MEMBUF_OPS:-}" ]; then
  ops=$(abspath "$MEMBUF_OPS")
  if [ ! -f "$ops" ] || [ ! -x "$ops" ]; then
    ci_die "MEMBUF_OPS '$(ci_printable "$MEMBUF_OPS")' is not an executable file"
  fi
  newer=$(cd "$ROOT" && find src fuzz tools include -type f \( -name '*.c' -o -name '*.h' \) \
    -newer "$ops" -print -quit 2>/dev/null) || newer=''
  [ -z "$newer" ] || ci_die "MEMBUF_OPS is older than $newer: rebuild it (or unset MEMBUF_OPS to let triage build build/fuzz)"
else
  bdir=$ROOT/build/fuzz ops=$ROOT/build/fuzz/tools/membuf-ops
  (
    cd "$ROOT"
    if [ ! -f "$bdir/CMakeCache.txt" ]; then cmake --preset fuzz >"$tmp/build.log" 2>&1 || exit 1; fi
    mkdir -p "$bdir"
    # One build at a time in this tree (two fuzzing runs may triage at once).
    flock "$bdir/.membuf-build.lock" cmake --build "$bdir" --target membuf-ops -j "$jobs" \
      >>"$tmp/build.log" 2>&1
  ) || { tail -n 20 "$tmp/build.log" >&2; fail "building membuf-ops failed (log above)"; }
  [ -x "$ops" ] || fail "no $ops after building it"
fi

# ---- the signature ----------------------------------------------------------------------------
# normalise: stdin one line -> masked addresses and numbers, no machine paths, one space apart.
normalise() {
  sed -E -e 's/0[xX][0-9a-fA-F]+/ADDR/g; s/\(nil\)/ADDR/g' \
    -e 's#(^|[[:space:](])/[^[:space:]]*/(src|include|fuzz|tools|tests)/#\1\2/#g' \
    -e 's#(^|[[:space:](])/[^[:space:]]*/([^/[:space:]]+)#\1\2#g' \
    -e 's/(^|[^A-Za-z0-9_])[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?/\1N/g' \
    -e 's/(^|[^A-Za-z0-9_])[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?/\1N/g' \
    -e 's/[^[:print:]]/?/g; s/[[:space:]]+/ /g; s/^ //; s/ $//'
}
# signature_of OUTPUT: the failing replay's stderr -> its raw signature (before normalise).
signature_of() {
  awk '
    function after_op(s,   i, c, depth) {   # "membuf-fuzz: T: op K (OP TEXT): MSG" -> MSG
      sub(/^membuf-fuzz: [^:]*: /, "", s)
      if (s !~ /^op [0-9]+ \(/) return s
      i = index(s, "(") + 1; depth = 1
      for (; i <= length(s) && depth > 0; i++) {
        c = substr(s, i, 1)
        if (c == "(") depth++
        else if (c == ")") depth--
      }
      s = substr(s, i); sub(/^: /, "", s); return s
    }
    /^membuf-fuzz: / && fz == "" { fz = after_op($0) }
    /^membuf: / && lib == "" { lib = $0 }
    /ERROR: [A-Za-z]+Sanitizer: / && san == "" {
      san = $0; sub(/.*ERROR: /, "", san); split(san, w, " "); san = w[1] " " w[2]; want = 1; next
    }
    want && / in / && /\/(src|include)\// { f = $0; sub(/.* in /, "", f); sub(/ .*/, "", f); frame = f; want = 0 }
    /runtime error: / && ub == "" {
      ub = $0; file = $0; sub(/.*runtime error: /, "", ub); sub(/: runtime error: .*/, "", file)
      sub(/:[0-9]+(:[0-9]+)?$/, "", file); ub = "runtime error: " ub " (" file ")"
    }
    END {
      if (fz != "") print fz
      else if (san != "") print san " in " (frame == "" ? "?" : frame)
      else if (ub != "") print ub
      else if (lib != "") print lib
    }' "$1"
}
# replay FILE: runs it; sets rc (0 passes, 1 fails, other: the tool refused it) and sig.
replay() {
  rc=0
  timeout -k 5 "$run_secs" "$ops" -t "$target" run "$1" >"$tmp/run.out" 2>"$tmp/run.err" || rc=$?
  sig=
  case $rc in
    0) return 0 ;;
    1) ;;
    124 | 137) fail "$(basename "$1") does not finish in ${run_secs}s under membuf-ops (a hang?): not filed; see TRIAGE_RUN_SECONDS" ;;
    *) ci_die "membuf-ops refused $(basename "$1"): $(grep -m 1 . "$tmp/run.err" || echo "exit $rc")" ;;
  esac
  sig=$(signature_of "$tmp/run.err")
  # No message the oracles know: membuf-ops' own summary ("FAILED FILE (target): SIG").
  [ -n "$sig" ] || sig=$(sed -nE 's/^FAILED .* \([a-z_]+\): //p' "$tmp/run.out" | head -n 1)
  [ -n "$sig" ] || sig="failure without a message"
  sig=$(head -n 1 <<<"$sig" | normalise | cut -c1-400)
}

replay "$art"
if [ "$rc" -eq 0 ]; then
  echo "triage.sh: $(basename "$art") does not fail under $(basename "$ops") ($target): nothing to file" >&2
  exit 1
fi
if [ "$sig_only" -eq 1 ]; then
  printf '%s\n' "$sig"
  exit 0
fi
echo "finding ($target): $sig"

# ---- the name, and whether it is filed already -------------------------------------------------
slug=$(tr '[:upper:]' '[:lower:]' <<<"$sig" | sed -E 's/[^a-z0-9]+/_/g; s/^_+//; s/_+$//')
if [ ${#slug} -gt 56 ]; then # cut at a word, never mid-word
  slug=${slug:0:57}
  slug=${slug%_*}
fi
hash=$(printf '%s: %s' "$target" "$sig" | sha1sum | cut -c1-8)
name="${target#fuzz_}_${slug:-failure}_$hash"
cfile="tests/regress/$name.c" input="corpus/$target/regressions/$name"
marker="/* membuf-triage signature: $target: ${sig//\*\//* /} */"
filed=
if [ -f "$into/$cfile" ]; then
  filed=$cfile
elif [ -d "$into/tests/regress" ]; then
  filed=$(cd "$into/tests/regress" && grep -lxF -- "$marker" ./*.c 2>/dev/null | head -n 1) || filed=''
  [ -z "$filed" ] || filed="tests/regress/${filed#./}"
fi
if [ -n "$filed" ]; then
  echo "duplicate: this signature is already filed as $filed: not filed again"
  exit 0
fi

# ---- shrink (with a heartbeat) -------------------------------------------------------------------
start=$SECONDS
timeout -k 5 "$shrink_secs" "$ops" -t "$target" shrink "$art" -o "$tmp/shrunk" >"$tmp/shrunk.txt" 2>"$tmp/shrink.log" &
bgpid=$!
next=$((SECONDS + hb))
while kill -0 "$bgpid" 2>/dev/null; do
  sleep 0.1
  if [ "$SECONDS" -ge "$next" ]; then
    echo "[triage] $target: shrinking, $((SECONDS - start))s of at most ${shrink_secs}s"
    next=$((next + hb))
  fi
done
src=$tmp/shrunk
if ! wait "$bgpid"; then
  bgpid=
  sed -n '1,5p' "$tmp/shrink.log" >&2
  fail "shrinking failed or ran past ${shrink_secs}s (TRIAGE_SHRINK_SECONDS)"
fi
bgpid=
grep -m 1 'shrunk' "$tmp/shrink.log" || true
rsig=$sig
replay "$tmp/shrunk"
if [ "$rc" -eq 0 ] || [ "$sig" != "$rsig" ]; then
  echo "the shrunk input fails otherwise (${sig:-it passes}): filing the artifact as it is"
  src=$art sig=$rsig
  "$ops" -t "$target" print "$art" >"$tmp/shrunk.txt" 2>/dev/null || : >"$tmp/shrunk.txt"
fi
echo "shrunk in $((SECONDS - start))s to $(grep -c . "$tmp/shrunk.txt" || true) op(s); text form:"
sed 's/^/    /' "$tmp/shrunk.txt"

# ---- file: corpus input, then the C test (each written whole, then renamed) -------------------
mkdir -p "$into/corpus/$target/regressions" "$into/tests/regress" || fail "cannot create the regression directories under $into"
if [ ! -e "$into/$input" ]; then
  partial="$into/corpus/$target/regressions/.$name.tmp.$$"
  cp -- "$src" "$partial" || fail "cannot write $into/$input"
  mv -f -- "$partial" "$into/$input" || fail "cannot write $into/$input"
  partial=
fi
partial="$into/tests/regress/.$name.c.tmp.$$"
{
  printf '%s\n' "$marker" &&
  # emit-c names its input in the header: a path relative to the tree, never a machine path.
  (cd "$into" && "$ops" -t "$target" emit-c "$input")
} >"$partial" 2>"$tmp/emit.log" || { sed -n '1,3p' "$tmp/emit.log" >&2; fail "emit-c failed"; }
for p in "$into" "$ROOT" "$caller" "$tmp" "${HOME:-/nonexistent-home}"; do
  if [ "$p" != / ] && grep -qF -- "$p" "$partial"; then fail "the emitted test names a machine path ($p): not filed"; fi
done
mv -f -- "$partial" "$into/$cfile" || fail "cannot write $into/$cfile"
partial=
echo "filed: $input"
echo "       $cfile (ctest: regress_$name)"
echo "reproduce: ${ops#"$ROOT"/} -t $target run $input"
