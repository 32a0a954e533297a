#!/usr/bin/env bash
# Moves the corpus to a new binary format: every input of corpus/<target>/ (regressions
# included) is printed as text by the membuf-ops of the old format, encoded by the new one, and
# printed again by the new one; the two texts must be the same, op for op, so every input means
# what it meant. Inputs with a hand-written source (corpus/src/<target>/<name>.ops) are encoded
# from it, and the source must print the same as the old binary.
#
# usage: tools/reencode-corpus.sh OLD_MEMBUF_OPS NEW_MEMBUF_OPS
#   OLD_MEMBUF_OPS  membuf-ops built from the commit before the format change
#                   (git archive OLD | tar -x -C /tmp/old && cmake --preset dev ... there)
# Writes the new binaries in place and a log of the comparison to build/reencode/; exit status
# non-zero if any text differs (then nothing is written).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
[ $# -eq 2 ] && [ -x "$1" ] && [ -x "$2" ] || { echo "usage: $0 OLD_MEMBUF_OPS NEW_MEMBUF_OPS" >&2; exit 2; }
old=$1 new=$2
out=$ROOT/build/reencode
rm -rf "$out"
mkdir -p "$out"
n=0 bad=0
for dir in corpus/fuzz_*/ corpus/fuzz_*/regressions/; do
  t=$(basename "${dir%/regressions/}")
  t=${t%/}
  for f in "$dir"*; do
    [ -f "$f" ] || continue
    case $(basename "$f") in README* | *.md | .*) continue ;; esac
    key=$(tr / _ <<<"$f")
    "$old" -t "$t" print "$f" >"$out/$key.old.txt"
    src=corpus/src/$t/$(basename "$f").ops
    if [ -f "$src" ] && [ "$dir" = "corpus/$t/" ]; then
      "$new" -t "$t" print "$src" >"$out/$key.src.txt"
      if ! diff -u "$out/$key.old.txt" "$out/$key.src.txt" >"$out/$key.src.diff"; then
        echo "DIFFERS: $src does not print as $f did"
        bad=$((bad + 1))
      fi
      "$new" -t "$t" encode "$src" -o "$out/$key.bin"
    else
      cp "$out/$key.old.txt" "$out/$key.ops"
      "$new" -t "$t" encode "$out/$key.ops" -o "$out/$key.bin"
    fi
    "$new" -t "$t" print "$out/$key.bin" >"$out/$key.new.txt"
    if ! diff -u "$out/$key.old.txt" "$out/$key.new.txt" >"$out/$key.diff"; then
      echo "DIFFERS: $f"
      cat "$out/$key.diff"
      bad=$((bad + 1))
    fi
    n=$((n + 1))
  done
done
if [ "$bad" -gt 0 ]; then
  echo "reencode: $bad of $n inputs would change meaning; nothing written"
  exit 1
fi
for dir in corpus/fuzz_*/ corpus/fuzz_*/regressions/; do
  for f in "$dir"*; do
    [ -f "$f" ] || continue
    key=$(tr / _ <<<"$f")
    [ -f "$out/$key.bin" ] && cp "$out/$key.bin" "$f"
  done
done
echo "reencode: $n inputs re-encoded; old and new text identical for every one (logs: build/reencode/)"
