#!/usr/bin/env bash
# Op-level shrinking (membuf-ops shrink) against libFuzzer's -minimize_crash=1, on the crashes of
# mutants (tests/mutants/*.patch): for each mutant, a copy of the tree with the patch applied is
# built (fuzz preset: ASan+UBSan libFuzzer targets and membuf-ops), each target fuzzes from its
# checked-in corpus (-seed=1) until the first crash, and that crash is minimised both ways.
# Ops left are counted in the text form (one op per line).
#
# usage: ci/shrink-compare.sh [MUTANT...]   (a number prefix or a name; default: SHRINK_SET)
#   SHRINK_SECONDS   fuzzing budget per target, and libFuzzer's minimisation budget (60)
#   SHRINK_SET       the default selection, space-separated
#   -h, --help       this text
# Prints a Markdown table and writes it to build/shrink/report.md; exit 1 if membuf-ops shrink
# ever leaves more ops than libFuzzer's minimised input where that input still fails the same
# way (-minimize_crash=1 accepts any crash, so it may trade the bug's symptom for another;
# shrink keeps the symptom, as triage needs).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/args.sh" # ci_die, ci_printable, ci_usage, ci_uint, ci_env_uint
ci_operands "$@"
sel=("${CI_OPERANDS[@]}")
ci_env_uint SHRINK_SECONDS 60 1 86400
secs=$SHRINK_SECONDS
default_set="01 05 10 17 19 20 22 25 29 31 32 37"
[ ${#sel[@]} -gt 0 ] || read -r -a sel <<<"${SHRINK_SET:-$default_set}"
[ ${#sel[@]} -gt 0 ] || ci_die "no mutant selected (SHRINK_SET is empty)"
export JOB_NAME=shrink-compare
source "$(dirname "$0")/lib.sh"
mutants=()
for s in "${sel[@]}"; do
  [[ "$s" =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] || ci_die "no mutant '$(ci_printable "$s")' in tests/mutants/"
  m=$(find "$ROOT/tests/mutants" -maxdepth 1 -name "${s%.patch}*.patch" | sort | head -n 1)
  [ -n "$m" ] || ci_die "no mutant '$(ci_printable "$s")' in tests/mutants/"
  mutants+=("$m")
done

out="$ROOT/build/shrink"
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
snap="$tmp/snap"
mkdir -p "$snap"
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf -) | (cd "$snap" && tar -xf -)
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

ops_of() { "$1" -t "$2" print "$3" 2>/dev/null | grep -c . || true; }
rows=() worse=0
for m in "${mutants[@]}"; do
  name=$(basename "$m" .patch)
  tree="$tmp/$name"
  cp -a "$snap" "$tree"
  (cd "$tree" && patch -p1 --quiet <"$m") || { say "$name: patch does not apply"; worse=$((worse + 1)); continue; }
  say "$name: building"
  (cd "$tree" && cmake --preset fuzz >/dev/null && cmake --build --preset fuzz -j "$JOBS" \
    --target fuzz_buf fuzz_alloc fuzz_guard membuf-ops >"$tmp/$name.build.log" 2>&1) \
    || { say "$name: build failed (see the log)"; tail -n 20 "$tmp/$name.build.log"; worse=$((worse + 1)); continue; }
  bin="$tree/build/fuzz/fuzz" ops="$tree/build/fuzz/tools/membuf-ops"
  found=0
  for t in fuzz_buf fuzz_alloc fuzz_guard; do
    w="$tmp/$name-$t"
    mkdir -p "$w/corpus"
    "$bin/$t" -seed=1 -max_total_time="$secs" -max_len=2048 -timeout=10 -artifact_prefix="$w/" \
      "$w/corpus" "$ROOT/corpus/$t" >"$w/fuzz.log" 2>&1 || true
    art=$(find "$w" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' \) | head -n 1)
    [ -n "$art" ] || continue
    found=1
    n0=$(ops_of "$ops" "$t" "$art")
    s0=$SECONDS
    "$bin/$t" -minimize_crash=1 -max_total_time="$secs" -exact_artifact_path="$w/libfuzzer.min" "$art" \
      >"$w/minimize.log" 2>&1 || true
    [ -s "$w/libfuzzer.min" ] || cp "$art" "$w/libfuzzer.min"
    tl=$((SECONDS - s0))
    nl=$(ops_of "$ops" "$t" "$w/libfuzzer.min")
    s0=$SECONDS
    "$ops" -t "$t" shrink "$art" -o "$w/ops.min" >"$w/ops.min.txt" 2>"$w/shrink.log" || cp "$art" "$w/ops.min"
    to=$((SECONDS - s0))
    no=$(ops_of "$ops" "$t" "$w/ops.min")
    sigof() { "$ops" -t "$t" run "$1" 2>/dev/null | sed -nE 's/^FAILED [^:]*: //p' | head -n 1 || true; }
    s0=$(sigof "$art") sl=$(sigof "$w/libfuzzer.min") so=$(sigof "$w/ops.min")
    same=same
    [ "$sl" = "$s0" ] || same="other: ${sl:-passes}"
    [ -n "$s0" ] || same="the crash does not reproduce alone" # e.g. a leak of the whole run
    # Only a libFuzzer result that still fails the same way is a fair comparison: shrink keeps
    # the failure, -minimize_crash=1 keeps any crash.
    if [ "$same" = same ] && [ "$no" -gt "$nl" ]; then worse=$((worse + 1)); fi
    rows+=("| $name | $t | $n0 | $nl ops, ${tl}s ($same) | $no ops, ${to}s |")
    say "$name ($t): $n0 ops -> libFuzzer $nl (${tl}s), membuf-ops $no (${to}s)"
    echo "    failure: ${s0:-?}"
    echo "    libFuzzer's minimised input fails with: ${sl:-(passes)}"
    "$ops" -t "$t" print "$w/libfuzzer.min" 2>/dev/null | sed 's/^/        /'
    echo "    membuf-ops shrink (same failure: ${so:-?}):"
    sed 's/^/        /' "$w/ops.min.txt"
    break
  done
  [ "$found" -eq 1 ] || rows+=("| $name | (no crash in ${secs}s per target) | | | |")
  rm -rf "$tree"
done
{
  echo "| mutant | target | crash ops | libFuzzer -minimize_crash=1 (failure kept?) | membuf-ops shrink |"
  echo "|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
} | tee "$out/report.md"
if [ "$worse" -eq 0 ]; then say "membuf-ops shrink never left more ops than libFuzzer"; verdict 0
else say "$worse case(s) where membuf-ops left more ops (or a mutant did not build)"; verdict 1; fi
