#!/bin/bash -eu
# OSS-Fuzz / ClusterFuzzLite build script (run by the base-builder's `compile` as
# `bash -eux $SRC/build.sh`, with CC, CFLAGS, LIB_FUZZING_ENGINE, SANITIZER, OUT, WORK set).
#
# A plain compile, no CMake: every source (library, harness, target) is compiled with $CC $CFLAGS,
# so under MSan nothing uninstrumented is linked but libc/libm, and the coverage build instruments
# everything. Sanitizer-specific code in src/track.h is selected by the compiler's own macros
# (__SANITIZE_ADDRESS__ / __has_feature), so no -D flag is needed here.
#
# Output, per target T in fuzz/fuzz_*.c:
#   $OUT/T                  the libFuzzer binary (with the structure-aware mutator, fuzz/mutator.c)
#   $OUT/T_seed_corpus.zip  corpus/T/ and corpus/T/regressions/, flattened (READMEs left out)
#   $OUT/T.options          copied from fuzz/T.options
#
# Runs outside OSS-Fuzz too (ci/oss-fuzz-check.sh): the repository is found next to this script,
# else in the current directory, else in $SRC/membuf; MEMBUF_SRC overrides all three.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=${MEMBUF_SRC:-}
if [ -z "$root" ]; then
  for d in "$here/.." "$PWD" "${SRC:-/src}/membuf"; do
    if [ -f "$d/include/membuf.h" ] && [ -d "$d/fuzz" ]; then root=$(cd "$d" && pwd); break; fi
  done
fi
if [ -z "$root" ] || [ ! -f "$root/include/membuf.h" ]; then
  echo "build.sh: cannot find the membuf sources (set MEMBUF_SRC)" >&2
  exit 1
fi
: "${CC:=clang}"
: "${CFLAGS:=}"
: "${LDFLAGS:=}"
: "${LIB_FUZZING_ENGINE:=-fsanitize=fuzzer}"
: "${OUT:?build.sh: OUT must be set}"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
work=${WORK:-$(mktemp -d)}/membuf-obj
rm -rf "$work"
mkdir -p "$work"

# CMakeLists.txt builds as C11 without extensions; the sources define the feature macros they need.
read -r -a cflags <<<"$CFLAGS"
std=(-std=c11)
incs=(-I"$root/include" -I"$root/src" -I"$root/fuzz")

# Compile in parallel (objects are independent); wait collects every status.
pids=()
compile() { # compile SRC OBJ [extra flags...]
  local src=$1 obj=$2; shift 2
  "$CC" "${cflags[@]}" "${std[@]}" "${incs[@]}" "$@" -c "$src" -o "$obj" &
  pids+=($!)
}
wait_all() {
  local rc=0 p
  for p in "${pids[@]}"; do wait "$p" || rc=1; done
  pids=()
  [ "$rc" -eq 0 ] || { echo "build.sh: compilation failed" >&2; exit 1; }
}

# The harness core, as fuzz/CMakeLists.txt takes it: every fuzz/*.c but the targets, the
# mutator, the replay main and the tests.
harness=()
for src in "$root"/fuzz/*.c; do
  case "$(basename "$src")" in fuzz_*.c | mutator.c | replay_main.c | test_*.c) ;; *) harness+=("$src") ;; esac
done
common=()
for src in "$root"/src/*.c "${harness[@]}"; do
  obj="$work/$(basename "$(dirname "$src")")_$(basename "$src" .c).o"
  compile "$src" "$obj"
  common+=("$obj")
done

targets=()
for src in "$root"/fuzz/fuzz_*.c; do
  t=$(basename "$src" .c)
  # The mutator's op dialect, as fuzz/CMakeLists.txt maps it: fuzz_buf -> MBF_D_BUF, ...
  d=MBF_D_$(tr '[:lower:]' '[:upper:]' <<<"${t#fuzz_}")
  targets+=("$t")
  compile "$src" "$work/$t.o"
  compile "$root/fuzz/mutator.c" "$work/$t.mutator.o" -DMBF_DIALECT="$d"
done
wait_all

# Seed corpora: zip if present, else python3's zipfile (same flat layout).
make_zip() { # make_zip ZIP DIR: every regular file of DIR, stored under its base name
  local zip=$1 dir=$2
  rm -f "$zip"
  if command -v zip >/dev/null 2>&1; then
    (cd "$dir" && zip -q -X -r "$zip" .)
  else
    python3 - "$zip" "$dir" <<'PY'
import os, sys, zipfile
zpath, d = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as z:
    for name in sorted(os.listdir(d)):
        z.write(os.path.join(d, name), name)
PY
  fi
}

for t in "${targets[@]}"; do
  # Link: $CC $CFLAGS objects $LIB_FUZZING_ENGINE (libFuzzer supplies main).
  # shellcheck disable=SC2086 # LDFLAGS and LIB_FUZZING_ENGINE are split into words on purpose
  "$CC" "${cflags[@]}" $LDFLAGS "$work/$t.o" "$work/$t.mutator.o" "${common[@]}" \
    $LIB_FUZZING_ENGINE -lm -o "$OUT/$t"

  if [ -f "$root/fuzz/$t.options" ]; then
    cp "$root/fuzz/$t.options" "$OUT/$t.options"
  fi

  seeds="$root/corpus/$t"
  if [ -d "$seeds" ]; then
    stage="$work/seeds/$t"
    mkdir -p "$stage"
    for dir in "$seeds" "$seeds/regressions"; do
      [ -d "$dir" ] || continue
      for f in "$dir"/*; do
        [ -f "$f" ] || continue
        name=$(basename "$f")
        case "$name" in README*|*.md|.*) continue ;; esac
        # Flattened: a regression with the name of a seed keeps both.
        [ -e "$stage/$name" ] && name="regressions-$name"
        cp "$f" "$stage/$name"
      done
    done
    if [ -n "$(ls -A "$stage")" ]; then
      make_zip "$OUT/${t}_seed_corpus.zip" "$stage"
    fi
  fi
  echo "build.sh: $OUT/$t"
done
