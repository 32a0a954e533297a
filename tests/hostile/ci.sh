#!/usr/bin/env bash
# Hostile cases for the ci/ scripts (run by tests/hostile.sh; helpers in tests/hostile/lib.sh):
# --help, unknown arguments and malformed values; the job list that ci/test.sh and the workflow
# share; ctest labels and test presets; every variable the scripts read documented in README.md.
# Scripts run from a copy of ci/ under $HOSTILE_TMP wherever they can: a check that failed to
# stop a script early would then build in the copy (and be caught), not in the checkout.
set -euo pipefail
# shellcheck source=tests/hostile/lib.sh
source "$(dirname "$0")/lib.sh"
export TMPDIR=$HOSTILE_TMP

# The scripts of the ci job: name and the usage line its --help must show.
scripts=(dev asan msan tsan valgrind install static coverage detectors oss-fuzz-check mutants
  python bench afl verify-allocators deps test)

copy=$HOSTILE_TMP/copy
mkdir -p "$copy/tests/hostile"
cp -a ci CMakePresets.json CMakeLists.txt "$copy/"
cp -a tests/hostile.sh "$copy/tests/"
cp -a tests/hostile/lib.sh "$copy/tests/hostile/"
listing() { (cd "$copy" && find . -printf '%y %p\n' | LC_ALL=C sort); }
listing >"$HOSTILE_TMP/copy.before"

# ---- --help: usage on stdout, nothing on stderr, exit 0, nothing built --------------------------
expect_help() {
  local name=$1
  shift
  hostile_run "$@"
  if [ "$HOSTILE_RC" -ne 0 ]; then not_ok "$name" "exit status $HOSTILE_RC, want 0"
  elif [ -s "$HOSTILE_ERR" ]; then not_ok "$name" "stderr: $(head -n 1 "$HOSTILE_ERR")"
  elif ! grep -q "usage: " "$HOSTILE_OUT"; then not_ok "$name" "no 'usage: ' line on stdout"
  else ok "$name"; fi
}
for s in "${scripts[@]}"; do
  expect_help "ci/$s.sh --help" "$copy/ci/$s.sh" --help
done
expect_help "ci/dev.sh -h" "$copy/ci/dev.sh" -h
expect_help "./dev.sh --help from ci/" bash -c 'cd "$1" && ./dev.sh --help' _ "$copy/ci"
expect_help "tests/hostile.sh --help" "$copy/tests/hostile.sh" --help
if [ -e "$copy/build" ]; then
  not_ok "ci/dev.sh --help creates no build/" "$(cd "$copy" && find build | head -n 3 | tr '\n' ' ')"
else
  ok "ci/dev.sh --help creates no build/"
fi

# ---- unknown arguments ----------------------------------------------------------------------
for s in "${scripts[@]}"; do
  expect_fail2 "ci/$s.sh --no-such-option" "$copy/ci/$s.sh" --no-such-option
done
for s in dev static coverage python; do
  expect_fail2 "ci/$s.sh takes no operand" "$copy/ci/$s.sh" extra
done
expect_fail2 "ci/dev.sh --help extra" "$copy/ci/dev.sh" --help extra
expect_fail2 "an argument with a newline gives one line" "$copy/ci/dev.sh" $'bad\nargument'
expect_fail2 "tests/hostile.sh --no-such-option" "$copy/tests/hostile.sh" --no-such-option
expect_fail2 "tests/hostile.sh ../x" "$copy/tests/hostile.sh" ../x
expect_fail2 "tests/hostile.sh missing case file" "$copy/tests/hostile.sh" no-such-file
expect_fail2 "tests/hostile.sh lib" "$copy/tests/hostile.sh" lib
expect_fail2 "ci/deps.sh 'a;b'" "$copy/ci/deps.sh" 'a;b'
expect_fail2 "ci/afl.sh ../x" "$copy/ci/afl.sh" ../x
expect_fail2 "ci/afl.sh fuzz_nope" "$copy/ci/afl.sh" fuzz_nope
expect_fail2 "ci/bench.sh --reps without a value" "$copy/ci/bench.sh" --reps
expect_fail2 "ci/test.sh no-such-job" "$copy/ci/test.sh" no-such-job
expect_fail2 "ci/test.sh --list extra" "$copy/ci/test.sh" --list extra
expect_fail2 "ci/test.sh --matrix --list" "$copy/ci/test.sh" --matrix --list
expect_fail2 "ci/mutants.sh 99-no-such-mutant" ci/mutants.sh --list 99-no-such-mutant

# ---- malformed values ---------------------------------------------------------------------------
big=18446744073709551617
for v in "$big" 0 1025 -1 007 '1 2' $'3\n4'; do
  expect_fail2 "JOBS='$(hostile_line "$v")'" env JOBS="$v" "$copy/ci/dev.sh"
done
expect_fail2 "JOBS=$big ci/test.sh --list" env JOBS="$big" "$copy/ci/test.sh" --list
for v in "$big" 0 101 95.5; do
  expect_fail2 "COVERAGE_MIN=$v" env COVERAGE_MIN="$v" "$copy/ci/coverage.sh"
done
expect_fail2 "MUTANT_FUZZ_SECONDS=$big" env MUTANT_FUZZ_SECONDS="$big" "$copy/ci/mutants.sh" --list
expect_fail2 "MUTANT_FUZZ_SECONDS=0" env MUTANT_FUZZ_SECONDS=0 "$copy/ci/mutants.sh" --list
expect_fail2 "MUTANT_FUZZ_SEED=4294967296" env MUTANT_FUZZ_SEED=4294967296 "$copy/ci/mutants.sh" --list
expect_fail2 "MUTANT_KEEP=yes" env MUTANT_KEEP=yes "$copy/ci/mutants.sh" --list
expect_fail2 "MUTANT_SOURCE=banana" env MUTANT_SOURCE=banana "$copy/ci/mutants.sh" --list
expect_fail2 "AFL_SECONDS=-5" env AFL_SECONDS=-5 "$copy/ci/afl.sh"
expect_fail2 "AFL_TIMEOUT_MS=$big" env AFL_TIMEOUT_MS="$big" "$copy/ci/afl.sh"
expect_fail2 "VERIFY_FUZZ_RUNS=$big" env VERIFY_FUZZ_RUNS="$big" "$copy/ci/verify-allocators.sh"
expect_fail2 "VERIFY_GEN_INPUTS=0" env VERIFY_GEN_INPUTS=0 "$copy/ci/verify-allocators.sh"
expect_fail2 "VERIFY_CHURN_OPS=x" env VERIFY_CHURN_OPS=x "$copy/ci/verify-allocators.sh"
expect_fail2 "DET_REPEAT=0" env DET_REPEAT=0 "$copy/ci/verify-allocators.sh"
expect_fail2 "RUN_TIMEOUT=0 (verify-allocators)" env RUN_TIMEOUT=0 "$copy/ci/verify-allocators.sh"
expect_fail2 "RUN_TIMEOUT=$big (detectors)" env RUN_TIMEOUT="$big" ci/detectors.sh
expect_fail2 "MEMBUF_DETECTORS_EXPECTED missing" \
  env MEMBUF_DETECTORS_EXPECTED="$HOSTILE_TMP/none.tsv" ci/detectors.sh
expect_fail2 "ci/bench.sh --reps $big" "$copy/ci/bench.sh" --reps "$big"
expect_fail2 "ci/bench.sh --reps 32" "$copy/ci/bench.sh" --reps 32
expect_fail2 "ci/bench.sh --fuzz-runs=0" "$copy/ci/bench.sh" --fuzz-runs=0
expect_fail2 "OSS_FUZZ_SANITIZERS=thread" env OSS_FUZZ_SANITIZERS=thread "$copy/ci/oss-fuzz-check.sh"
expect_fail2 "PYTHON_LEGS=banana" env PYTHON_LEGS=banana "$copy/ci/python.sh"
expect_fail2 "PYTHON missing" env PYTHON="$HOSTILE_TMP/no-python" "$copy/ci/python.sh"
expect_fail2 "HOSTILE_TIMEOUT=0" env HOSTILE_TIMEOUT=0 "$copy/tests/hostile.sh"

# ci_uint itself: the edges.
uint() { bash -c 'source ci/lib.sh && ci_uint N "$1" 1 100' _ "$1"; }
for v in 1 100 42; do expect_ok "ci_uint accepts $v (1..100)" uint "$v"; done
for v in 0 101 999999999999999999 9223372036854775808 "$big" 01 +5 -5 ' 5' '5 ' '' $'5\n'; do
  expect_fail2 "ci_uint refuses '$(hostile_line "$v")' (1..100)" uint "$v"
done

listing >"$HOSTILE_TMP/copy.after"
if diff -q "$HOSTILE_TMP/copy.before" "$HOSTILE_TMP/copy.after" >/dev/null; then
  ok "no refused or --help run wrote a file"
else
  not_ok "no refused or --help run wrote a file" \
    "$(diff "$HOSTILE_TMP/copy.before" "$HOSTILE_TMP/copy.after" | grep '^>' | head -n 3 | tr '\n' ' ')"
fi

# ---- one job list: ci/test.sh and the workflow ------------------------------------------------
wf=.github/workflows/ci.yml
# The jobs as ci/test.sh's JOB_LIST writes them, read without running it: "where job command".
sed -n '/^JOB_LIST=(/,/^)/{s/^ *"\(.*\)"$/\1/p}' ci/test.sh >"$HOSTILE_TMP/jobs.expected"
if ci/test.sh --matrix >"$HOSTILE_TMP/matrix.json" 2>"$HOSTILE_ERR" &&
  python3 -c 'import json, sys
for e in json.load(open(sys.argv[1]))["include"]:
    print(e["where"], e["job"], e["command"])' "$HOSTILE_TMP/matrix.json" >"$HOSTILE_TMP/jobs.matrix" &&
  diff -q "$HOSTILE_TMP/jobs.expected" "$HOSTILE_TMP/jobs.matrix" >/dev/null; then
  ok "ci/test.sh --matrix is its JOB_LIST, every job"
else
  not_ok "ci/test.sh --matrix is its JOB_LIST, every job" "$(head -n 1 "$HOSTILE_ERR")"
fi
awk '$1 == "test" { j = $2; $1 = ""; $2 = ""; sub(/^ +/, ""); print j, $0 }' \
  "$HOSTILE_TMP/jobs.expected" >"$HOSTILE_TMP/list.expected"
if ci/test.sh --list | awk '{ j = $1; $1 = ""; sub(/^ +/, ""); print j, $0 }' >"$HOSTILE_TMP/list.got" &&
  [ -s "$HOSTILE_TMP/list.got" ] && diff -q "$HOSTILE_TMP/list.expected" "$HOSTILE_TMP/list.got" >/dev/null; then
  ok "ci/test.sh runs the test jobs of its JOB_LIST"
else
  not_ok "ci/test.sh runs the test jobs of its JOB_LIST" "ci/test.sh --list differs"
fi
# shellcheck disable=SC2016 # literal $ on purpose
if grep -q 'ci/test.sh --matrix' "$wf" && grep -Eq 'matrix: \$\{\{ *fromJSON\(needs\.[a-z]+\.outputs\.matrix\) *\}\}' "$wf" &&
  ! grep -Eq '^[[:space:]]+(job|include):[[:space:]]*\[' "$wf" && grep -q 'run: .*\$JOB_COMMAND' "$wf"; then
  ok "the workflow's matrix comes from ci/test.sh --matrix"
else
  not_ok "the workflow's matrix comes from ci/test.sh --matrix" "$wf: no fromJSON matrix from ci/test.sh --matrix, or a literal job list"
fi
if [ "$(grep -cE '^ *- uses: actions/|^ *uses: actions/' "$wf")" -gt 0 ] &&
  ! grep -E 'uses: actions/(checkout|upload-artifact)@v[0-6]$' "$wf" >/dev/null; then
  ok "actions at current majors (checkout, upload-artifact v7)"
else
  not_ok "actions at current majors (checkout, upload-artifact v7)" "$(grep -E 'uses: actions/' "$wf" | head -n 2 | tr -s ' ')"
fi
# shellcheck disable=SC2016 # literal $ on purpose
if [ "$(grep -vE '^[[:space:]]*(#|$)|^set -euo pipefail$' .ci/run)" = 'exec bash "$(dirname "$0")/../ci/test.sh"' ]; then
  ok ".ci/run runs ci/test.sh and nothing else"
else
  not_ok ".ci/run runs ci/test.sh and nothing else" "$(grep -v '^#' .ci/run | tr '\n' ' ')"
fi
# Every job's script exists and is executable, and no job is listed twice.
bad_jobs=$(awk '{ if (seen[$2]++) print "twice: " $2; if (system("test -x " $3) != 0) print "no script: " $3 }' \
  "$HOSTILE_TMP/jobs.expected")
if [ -s "$HOSTILE_TMP/jobs.expected" ] && [ -z "$bad_jobs" ]; then ok "JOB_LIST: every script executable, no job twice"
else not_ok "JOB_LIST: every script executable, no job twice" "$(head -n 1 <<<"${bad_jobs:-empty list}")"; fi

# ---- ctest labels and test presets (build/dev is configured by the driver) ----------------------
presets=$(ctest --list-presets 2>&1 | tr -d '" ' | sort | tr '\n' ' ')
miss=""
for p in dev asan msan tsan valgrind; do [[ " $presets " == *" $p "* ]] || miss+=" $p"; done
if [ -z "$miss" ]; then ok "test presets dev asan msan tsan valgrind"; else not_ok "test presets dev asan msan tsan valgrind" "missing:$miss"; fi
ntests() { ctest --test-dir build/dev -N "$@" 2>/dev/null | sed -n 's/^Total Tests: //p'; }
targets=(fuzz/fuzz_*.c) units=(tests/test_*.c)
ncorpus=${#targets[@]}
if [ "$(ntests -L '^corpus$')" = "$ncorpus" ]; then ok "label corpus: one test per fuzz target"
else not_ok "label corpus: one test per fuzz target" "$(ntests -L '^corpus$') tests, want $ncorpus"; fi
if [ "$(ntests -L '^unit$')" -ge "${#units[@]}" ]; then ok "label unit: every tests/test_*.c"
else not_ok "label unit: every tests/test_*.c" "$(ntests -L '^unit$') tests"; fi
if [ "$(ntests -LE '^(unit|planted|corpus|regress)$')" = 0 ] && [ "$(ntests)" -gt 0 ]; then ok "every ctest entry has a label"
else not_ok "every ctest entry has a label" "$(ntests -LE '^(unit|planted|corpus|regress)$') without"; fi
if grep -q '"outputOnFailure": true' CMakePresets.json; then ok "test presets print output on failure"
else not_ok "test presets print output on failure" "no outputOnFailure in CMakePresets.json"; fi

# ---- README: every variable the scripts read ---------------------------------------------------
vars=$(grep -ohE '\$\{[A-Z][A-Z0-9_]*:[-=]|ci_env_uint [A-Z][A-Z0-9_]+' ci/*.sh tests/hostile.sh |
  sed -E 's/^\$\{//; s/:[-=]$//; s/^ci_env_uint //' | sort -u |
  grep -vxE 'JOB_NAME|HOME|PATH|VAR' || true)
undocumented=""
for v in $vars; do grep -q "\`$v\`" README.md || undocumented+=" $v"; done
if [ -n "$vars" ] && [ -z "$undocumented" ]; then ok "README.md documents every variable the ci scripts read"
else not_ok "README.md documents every variable the ci scripts read" "missing:$undocumented"; fi

missing=""
while read -r _ job _; do
  grep -q "^| \`$job\` " README.md || missing+=" $job"
done <"$HOSTILE_TMP/jobs.expected"
if [ -z "$missing" ]; then ok "README.md's job table has every job of ci/test.sh"
else not_ok "README.md's job table has every job of ci/test.sh" "missing:$missing"; fi

hostile_end
