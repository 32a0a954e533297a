#!/usr/bin/env bash
# Hostile cases: runs every case file tests/hostile/*.sh (lib.sh excepted) and checks that none
# of them changed the checkout. Each case file prints "ok - NAME" or "not ok - NAME: WHY" per case
# and exits 0 iff all passed (tests/hostile/lib.sh has the helpers).
#
# Before the case files: builds the dev preset's membuf-ops and replay drivers. Each case file
# runs from the repository root as `bash tests/hostile/NAME.sh`, stdin from /dev/null, with
#   ROOT         the repository root
#   MEMBUF_OPS   build/dev/tools/membuf-ops (absolute path)
#   REPLAY_DIR   build/dev/fuzz, where the replay drivers fuzz_buf, fuzz_alloc, fuzz_guard are
#   HOSTILE_TMP  a fresh empty scratch directory (mktemp), removed after the file
# exported. Every path of the checkout outside build/ (tracked, untracked and ignored files,
# directories, links; type, mode and, for files, sha256) is listed before and after each case
# file: any difference is a failure of that file. So is a file that runs no case, prints a
# failing case, exits non-zero, or runs longer than HOSTILE_TIMEOUT seconds.
#
# usage: tests/hostile.sh [--help] [NAME...]   NAME: a case file (ci, tests/hostile/ci.sh); default all
#   HOSTILE_TIMEOUT  seconds per case file, 1 to 3600 (default 300)
#   JOBS             parallel build jobs (default: the number of cores)
# Ends with "N passed, M failed" (cases, plus one check per case file that the tree is unchanged)
# and records them as job `hostile` in ci/test.sh's tally.
set -euo pipefail
JOB_NAME=hostile
# shellcheck source=ci/lib.sh
source "$(dirname "$0")/../ci/lib.sh"
ci_env_uint HOSTILE_TIMEOUT 300 1 3600

files=()
for arg in "$@"; do
  case "$arg" in
    -h | --help) ci_usage; exit 0 ;;
    -*) ci_die "unknown option '$(ci_printable "$arg")' (see --help)" ;;
    *) f=${arg#tests/hostile/}; f=tests/hostile/${f%.sh}.sh
       [[ "$arg" =~ ^[A-Za-z0-9_-]+(\.sh)?$ || "$arg" =~ ^tests/hostile/[A-Za-z0-9_-]+\.sh$ ]] ||
         ci_die "not a case file name: '$(ci_printable "$arg")'"
       [ "$f" != tests/hostile/lib.sh ] || ci_die "lib.sh is not a case file"
       [ -f "$f" ] || ci_die "no case file $f"
       files+=("$f") ;;
  esac
done
if [ ${#files[@]} -eq 0 ]; then
  for f in tests/hostile/*.sh; do
    [ "$f" = tests/hostile/lib.sh ] || files+=("$f")
  done
fi
[ ${#files[@]} -gt 0 ] || { say "no case file in tests/hostile/"; record 0 1; verdict 1 || exit 1; }

out=$ROOT/build/hostile
mkdir -p "$out"
say "building the library, membuf-ops and the replay drivers (dev preset; log: ${out#"$ROOT"/}/build.log)"
if ! { cmake --preset dev && cmake --build --preset dev -j "$JOBS" \
         --target membuf membuf-ops fuzz_buf fuzz_alloc fuzz_guard; } >"$out/build.log" 2>&1; then
  tail -n 30 "$out/build.log"
  say "build failed: see $out/build.log"
  record 0 1
  verdict 1 || exit 1
fi
export MEMBUF_OPS=$ROOT/build/dev/tools/membuf-ops REPLAY_DIR=$ROOT/build/dev/fuzz ROOT

# snapshot FILE: every path outside build/ and .git, with its type and mode, then the sha256 of
# every regular file (sorted, NUL-safe in the hashing; a newline in a name only makes it noisier).
snapshot() {
  (
    cd "$ROOT" || exit 1
    find . \( -path ./build -o -path ./.git \) -prune -o -printf '%y %m %p -> %l\n' | LC_ALL=C sort
    find . \( -path ./build -o -path ./.git \) -prune -o -type f -print0 | LC_ALL=C sort -z |
      xargs -0 -r sha256sum
  ) >"$1"
}

passed=0 failed=0
snapshot "$out/tree.before"
for f in "${files[@]}"; do
  echo "--- $f"
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/membuf-hostile.XXXXXX")
  start=$SECONDS
  rc=0
  env -u MEMBUF_RESULTS HOSTILE_TMP="$tmp" timeout "$HOSTILE_TIMEOUT" bash "$f" </dev/null \
    >"$out/case.log" 2>&1 || rc=$?
  # A case may leave unreadable directories behind: make them removable first.
  chmod -R u+rwx "$tmp" 2>/dev/null || true
  rmfail=0
  rm -rf "$tmp" || rmfail=1
  cat "$out/case.log"
  p=$(grep -c '^ok - ' "$out/case.log" || true)
  n=$(grep -c '^not ok - ' "$out/case.log" || true)
  if [ "$rc" -eq 124 ]; then
    echo "not ok - $f: still running after ${HOSTILE_TIMEOUT}s (HOSTILE_TIMEOUT)"; n=$((n + 1))
  elif [ "$rc" -ne 0 ] && [ "$n" -eq 0 ]; then
    echo "not ok - $f: exit status $rc with no failing case"; n=$((n + 1))
  elif [ "$rc" -eq 0 ] && [ "$n" -gt 0 ]; then
    echo "not ok - $f: exit status 0 with $n failing cases"; n=$((n + 1))
  elif [ $((p + n)) -eq 0 ]; then
    echo "not ok - $f: no case ran"; n=$((n + 1))
  fi
  if [ "$rmfail" -eq 1 ]; then
    echo "not ok - $f: its scratch directory $tmp could not be removed"; n=$((n + 1))
  fi
  snapshot "$out/tree.after"
  if diff "$out/tree.before" "$out/tree.after" >"$out/tree.diff"; then
    echo "ok - $f leaves the checkout unchanged"; p=$((p + 1))
  else
    echo "not ok - $f changed the checkout outside build/ (< before, > after):"; n=$((n + 1))
    grep '^[<>]' "$out/tree.diff" | head -n 20
    cp "$out/tree.after" "$out/tree.before" # report each change once
  fi
  say "$f: $p passed, $n failed ($((SECONDS - start)) s)"
  passed=$((passed + p)) failed=$((failed + n))
done
echo "$passed passed, $failed failed"
record "$passed" "$failed"
verdict $((failed > 0))
