#!/usr/bin/env bash
# Hostile cases for the local fuzzing loop: ci/fuzz.sh, ci/triage.sh and the other fuzzing
# scripts' arguments and values, work directories that are not theirs, triage run twice, and two
# fuzzing runs at once. Run from the repository root by tests/hostile.sh (see there) as
# `bash tests/hostile/fuzz.sh`, with ROOT, HOSTILE_TMP, MEMBUF_OPS (a current dev membuf-ops) and
# REPLAY_DIR exported; prints one "ok - NAME" or "not ok - NAME: WHY" line per case and exits 0
# iff every case passed. Writes only under HOSTILE_TMP, except that the two-runs case builds
# build/fuzz's fuzz_buf when it is missing (cmake --preset fuzz; about a minute on 2 cores).
set -uo pipefail
ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cd "$ROOT" || exit 2
: "${HOSTILE_TMP:?HOSTILE_TMP must name an empty scratch directory}"
T=$HOSTILE_TMP/fuzz
mkdir -p "$T" || exit 2
export TMPDIR=$T # mktemp of every script run here
failures=0
ok() { echo "ok - $1"; }
notok() { echo "not ok - $1: $2"; failures=$((failures + 1)); }
oneline() { tr '\n' ' ' <"$1" | cut -c1-200; }

# fails2 NAME CMD...: CMD must exit 2 with exactly one line on stderr (and none on stdout).
fails2() {
  local name=$1 rc=0
  shift
  "$@" >"$T/out" 2>"$T/err" </dev/null || rc=$?
  local n
  n=$(wc -l <"$T/err")
  if [ "$rc" -ne 2 ]; then notok "$name" "exit $rc, want 2 ($(oneline "$T/err"))"
  elif [ "$n" -ne 1 ]; then notok "$name" "$n lines on stderr, want 1: $(oneline "$T/err")"
  elif [ -s "$T/out" ]; then notok "$name" "wrote to stdout: $(oneline "$T/out")"
  else ok "$name"; fi
}
# helps NAME CMD...: CMD --help: exit 0, a usage text on stdout, nothing on stderr.
helps() {
  local name=$1 rc=0
  shift
  "$@" >"$T/out" 2>"$T/err" </dev/null || rc=$?
  if [ "$rc" -ne 0 ]; then notok "$name" "exit $rc ($(oneline "$T/err"))"
  elif [ -s "$T/err" ]; then notok "$name" "stderr: $(oneline "$T/err")"
  elif ! grep -q 'usage: ci/' "$T/out"; then notok "$name" "no usage line on stdout"
  else ok "$name"; fi
}
tree_hash() { # the checked-in corpus and regression tests, as content hashes
  find corpus tests/regress -type f -print0 | sort -z | xargs -0 sha1sum | sha1sum
}
before=$(tree_hash)

# ---- ci/fuzz.sh: targets, options, values ---------------------------------------------------
fails2 "fuzz.sh ''" ci/fuzz.sh --no-build ''
fails2 "fuzz.sh ../x" ci/fuzz.sh --no-build ../x
fails2 "fuzz.sh corpus" ci/fuzz.sh --no-build corpus
fails2 "fuzz.sh fuzz_buf/../fuzz_buf" ci/fuzz.sh --no-build fuzz_buf/../fuzz_buf
fails2 "fuzz.sh exec_buf (a fuzz/ source that is no target)" ci/fuzz.sh --no-build exec_buf
fails2 "fuzz.sh --bogus" ci/fuzz.sh --bogus
fails2 "fuzz.sh -x fuzz_buf" ci/fuzz.sh -x fuzz_buf
helps "fuzz.sh --help" ci/fuzz.sh --help
for v in 0 -1 1.5 18446744073709551617 9999999999 0x10 010 5x ' 5' 604801; do
  fails2 "FUZZ_SECONDS='$v'" env FUZZ_SECONDS="$v" ci/fuzz.sh --no-build fuzz_buf
done
fails2 "FUZZ_JOBS=0" env FUZZ_JOBS=0 ci/fuzz.sh --no-build fuzz_buf
fails2 "FUZZ_JOBS=100000" env FUZZ_JOBS=100000 ci/fuzz.sh --no-build fuzz_buf
fails2 "FUZZ_HEARTBEAT=0" env FUZZ_HEARTBEAT=0 ci/fuzz.sh --no-build fuzz_buf
fails2 "FUZZ_KEEP_RUNS=-3" env FUZZ_KEEP_RUNS=-3 ci/fuzz.sh --no-build fuzz_buf
fails2 "FUZZ_MINIMIZE=yes" env FUZZ_MINIMIZE=yes ci/fuzz.sh --no-build fuzz_buf
fails2 "MEMBUF_MUTATOR=banana" env MEMBUF_MUTATOR=banana ci/fuzz.sh --no-build fuzz_buf

# ---- ci/fuzz.sh: work directories that are not its own --------------------------------------
fails2 "FUZZ_WORKDIR=corpus" env FUZZ_WORKDIR=corpus ci/fuzz.sh --no-build fuzz_guard
fails2 "FUZZ_WORKDIR=corpus/fuzz_guard, checked before building" env FUZZ_WORKDIR=corpus/fuzz_guard ci/fuzz.sh fuzz_guard
fails2 "FUZZ_WORKDIR=/" env FUZZ_WORKDIR=/ ci/fuzz.sh --no-build fuzz_buf
fails2 "FUZZ_WORKDIR=the checkout" env FUZZ_WORKDIR="$ROOT" ci/fuzz.sh --no-build fuzz_buf
fails2 "FUZZ_WORKDIR=.. (contains the checkout)" env FUZZ_WORKDIR=.. ci/fuzz.sh --no-build fuzz_buf
fails2 "FUZZ_WORKDIR=src/new (inside the sources)" env FUZZ_WORKDIR=src/new ci/fuzz.sh --no-build fuzz_buf
fails2 "FUZZ_WORKDIR=\$HOME" env FUZZ_WORKDIR="${HOME:-/root}" ci/fuzz.sh --no-build fuzz_buf
mkdir -p "$T/users-dir" && echo precious >"$T/users-dir/notes.txt"
fails2 "FUZZ_WORKDIR=a non-empty directory of the user's" env FUZZ_WORKDIR="$T/users-dir" ci/fuzz.sh --no-build fuzz_buf
if [ "$(cat "$T/users-dir/notes.txt" 2>/dev/null)" = precious ] && [ "$(find "$T/users-dir" -mindepth 1 | wc -l)" -eq 1 ]; then
  ok "the user's directory is left as it was"
else
  notok "the user's directory is left as it was" "its contents changed"
fi
echo data >"$T/a-file"
fails2 "FUZZ_WORKDIR=a file" env FUZZ_WORKDIR="$T/a-file" ci/fuzz.sh --no-build fuzz_buf
fails2 "FUZZ_WORKDIR=below a file" env FUZZ_WORKDIR="$T/a-file/sub" ci/fuzz.sh --no-build fuzz_buf

# ---- the other scripts: --help, unknown arguments, values --------------------------------------
for s in triage fuzz-planted fuzz-smoke fuzz-throughput shrink-compare; do
  helps "$s.sh --help" "ci/$s.sh" --help
  fails2 "$s.sh --bogus" "ci/$s.sh" --bogus
done
fails2 "fuzz-planted.sh: a missing patch" ci/fuzz-planted.sh "$T/no.patch"
fails2 "PLANTED_REPS=18446744073709551617" env PLANTED_REPS=18446744073709551617 ci/fuzz-planted.sh
fails2 "PLANTED_TARGETS=../x" env PLANTED_TARGETS=../x ci/fuzz-planted.sh
fails2 "fuzz-smoke.sh: an argument" ci/fuzz-smoke.sh fuzz_buf
fails2 "FUZZ_SMOKE_SECONDS=0" env FUZZ_SMOKE_SECONDS=0 ci/fuzz-smoke.sh
fails2 "fuzz-throughput.sh: no such commit" ci/fuzz-throughput.sh no-such-commit-anywhere
fails2 "shrink-compare.sh ../x" ci/shrink-compare.sh ../x
fails2 "SHRINK_SECONDS=1e3" env SHRINK_SECONDS=1e3 ci/shrink-compare.sh

# ---- ci/triage.sh ---------------------------------------------------------------------------------
# A stand-in membuf-ops: an input holding "FAIL<n>" fails with the harness's message, numbers and
# address from n (so two findings differ only in numbers); shrink keeps the FAIL<n> token.
fake=$T/fake-ops
cat >"$fake" <<'EOF'
#!/usr/bin/env bash
[ "$1" = -t ] && shift 2
cmd=$1 f=$2
n=$(grep -o 'FAIL[0-9]*' "$f" | head -n 1 | tr -dc 0-9)
case $cmd in
  run) if [ -n "$n" ]; then
         echo "membuf-fuzz: fuzz_buf: op 3 (init 0 guard(pool) 1$n): mb_buf_resize from $n to 1$n: out of memory, data 0x${n}f0" >&2
         echo "FAILED $f (fuzz_buf): mb_buf_resize from "; exit 1
       fi
       echo "ok     $f (fuzz_buf, 1 ops)" ;;
  shrink) [ -n "$n" ] || exit 2; echo "FAIL$n" >"$4"; echo "init 0 guard(pool) 17"; echo "membuf-ops: shrunk 4 ops to 1" >&2 ;;
  print) echo "init 0 guard(pool) 17" ;;
  emit-c) printf '/* Regression test emitted by membuf-ops from %s (fuzz_buf). */\nint main(void) { return 1; }\n' "$f" ;;
  *) exit 2 ;;
esac
EOF
chmod +x "$fake"
into=$T/into
mkdir -p "$into" "$T/art"
printf 'xx FAIL12 yy' >"$T/art/crash-one"
printf 'zz FAIL3456 zz' >"$T/art/crash-two"
filed_count() { find "$into" -type f \( -path '*/tests/regress/*.c' -o -path '*/corpus/fuzz_buf/regressions/*' \) | wc -l; }
trg() { MEMBUF_OPS=$fake ci/triage.sh --into "$into" "$@"; }
rc=0; trg fuzz_buf "$T/art/crash-one" >"$T/t1" 2>&1 || rc=$?
if [ "$rc" -eq 0 ] && grep -q '^filed: ' "$T/t1" && [ "$(filed_count)" -eq 2 ]; then
  ok "triage files a finding: one C test and one corpus input"
else
  notok "triage files a finding: one C test and one corpus input" "exit $rc, $(filed_count) files: $(oneline "$T/t1")"
fi
if grep -rqF -e "$T" -e "$ROOT" "$into"; then
  notok "the filed files carry no machine path" "$(grep -rlF -e "$T" -e "$ROOT" "$into" | head -n 1)"
else
  ok "the filed files carry no machine path"
fi
for f in crash-one crash-two; do
  rc=0; trg fuzz_buf "$T/art/$f" >"$T/t2" 2>&1 || rc=$?
  if [ "$rc" -eq 0 ] && grep -q '^duplicate: ' "$T/t2" && [ "$(filed_count)" -eq 2 ]; then
    ok "triage again ($f, same signature but for numbers): a duplicate, filed once"
  else
    notok "triage again ($f, same signature but for numbers): a duplicate, filed once" "exit $rc, $(filed_count) files: $(oneline "$T/t2")"
  fi
done
rc=0; trg fuzz_buf "$(find "$into/corpus" -type f | head -n 1)" >"$T/t3" 2>&1 || rc=$?
if [ "$rc" -eq 0 ] && grep -q '^duplicate: ' "$T/t3" && [ "$(filed_count)" -eq 2 ]; then
  ok "triage of the filed input itself: a duplicate"
else
  notok "triage of the filed input itself: a duplicate" "exit $rc: $(oneline "$T/t3")"
fi
rc=0; sig=$(MEMBUF_OPS=$fake ci/triage.sh --signature fuzz_buf "$T/art/crash-two" 2>&1) || rc=$?
if [ "$rc" -eq 0 ] && [ "$sig" = "mb_buf_resize from N to N: out of memory, data ADDR" ]; then
  ok "the signature is whole, numbers and addresses masked"
else
  notok "the signature is whole, numbers and addresses masked" "exit $rc: '$sig'"
fi
cp corpus/fuzz_buf/overflow "$T/art/passes"
mkdir -p "$T/into2"
rc=0; ci/triage.sh --into "$T/into2" fuzz_buf "$T/art/passes" >"$T/t4" 2>&1 || rc=$?
if [ "$rc" -eq 1 ] && [ -z "$(find "$T/into2" -mindepth 1 -print -quit)" ]; then
  ok "triage of an input that does not fail: exit 1, nothing filed"
else
  notok "triage of an input that does not fail: exit 1, nothing filed" "exit $rc: $(oneline "$T/t4")"
fi
if cmp -s corpus/fuzz_buf/overflow "$T/art/passes" && [ "$(cat "$T/art/crash-one")" = 'xx FAIL12 yy' ]; then
  ok "triage leaves its inputs as they were"
else
  notok "triage leaves its inputs as they were" "an input changed"
fi
cp "$fake" "$T/stale-ops" && touch -d '2000-01-01' "$T/stale-ops"
fails2 "triage refuses a membuf-ops older than the sources" env MEMBUF_OPS="$T/stale-ops" ci/triage.sh --into "$T/into2" fuzz_buf "$T/art/crash-one"
fails2 "triage ../x ARTIFACT" env MEMBUF_OPS="$fake" ci/triage.sh --into "$T/into2" ../x "$T/art/crash-one"
fails2 "triage of a missing artifact" env MEMBUF_OPS="$fake" ci/triage.sh --into "$T/into2" fuzz_buf "$T/art/none"
fails2 "triage --into a missing directory" env MEMBUF_OPS="$fake" ci/triage.sh --into "$T/none" fuzz_buf "$T/art/crash-one"
fails2 "TRIAGE_RUN_SECONDS=18446744073709551617" env TRIAGE_RUN_SECONDS=18446744073709551617 MEMBUF_OPS="$fake" ci/triage.sh --into "$T/into2" fuzz_buf "$T/art/crash-one"

# ---- two fuzzing runs at once ---------------------------------------------------------------------
name2="two ci/fuzz.sh runs at once (FUZZ_SECONDS=2, fuzz_buf): different work directories"
name3="two ci/fuzz.sh runs at once in one work directory (FUZZ_KEEP_RUNS=1)"
have_fuzz=1
if [ ! -x build/fuzz/fuzz/fuzz_buf ]; then
  if ! { cmake --preset fuzz && cmake --build --preset fuzz -j "${JOBS:-2}" --target fuzz_buf; } >"$T/fuzz-build.log" 2>&1; then
    have_fuzz=0
    notok "$name2" "no build/fuzz/fuzz/fuzz_buf and building it failed: $(tail -n 1 "$T/fuzz-build.log")"
    notok "$name3" "no fuzzer binary"
  fi
fi
# check_run LOG WORKDIR: the run passed and its run directory holds a whole libFuzzer log.
check_run() {
  local log=$1 wd=$2 run
  grep -q '^fuzz: PASS' "$log" || { echo "no PASS: $(grep -v heartbeat "$log" | tail -n 2 | tr '\n' ' ')"; return 1; }
  run=$(sed -n 's/^run directory: //p' "$log" | tail -n 1)
  case "$run" in "$wd"/run-*) ;; *) echo "run directory '$run' is not in $wd"; return 1 ;; esac
  grep -q '^stat::number_of_executed_units' "$run/fuzz_buf/fuzz.log" 2>/dev/null \
    || { echo "$run/fuzz_buf/fuzz.log is gone or cut short"; return 1; }
}
if [ "$have_fuzz" -eq 1 ]; then
  export FUZZ_SECONDS=2 FUZZ_JOBS=1
  FUZZ_WORKDIR=$T/wa ci/fuzz.sh --no-build fuzz_buf >"$T/ra" 2>&1 & pa=$!
  FUZZ_WORKDIR=$T/wb ci/fuzz.sh --no-build fuzz_buf >"$T/rb" 2>&1 & pb=$!
  ra=0 rb=0; wait "$pa" || ra=$?; wait "$pb" || rb=$?
  if [ "$ra" -ne 0 ] || [ "$rb" -ne 0 ]; then notok "$name2" "exit $ra and $rb"
  elif ! why=$(check_run "$T/ra" "$T/wa") || ! why=$(check_run "$T/rb" "$T/wb"); then notok "$name2" "$why"
  else ok "$name2"; fi

  # One work directory: an old finished run of its own (pruned), a run with findings and a
  # directory of the user's (both kept), and the two live runs (neither touches the other).
  s=$T/same
  mkdir -p "$s/run-00000000-000000-old" "$s/run-00000000-000001-find" "$s/run-00000000-000002-user"
  echo x >"$s/.membuf-fuzz-workdir"
  touch "$s/run-00000000-000000-old/.membuf-fuzz-run" "$s/run-00000000-000000-old/.lock"
  touch "$s/run-00000000-000001-find/.membuf-fuzz-run" "$s/run-00000000-000001-find/.lock" "$s/run-00000000-000001-find/FINDINGS"
  echo mine >"$s/run-00000000-000002-user/keep.txt"
  FUZZ_KEEP_RUNS=1 FUZZ_WORKDIR=$s ci/fuzz.sh --no-build fuzz_buf >"$T/rc1" 2>&1 & pa=$!
  FUZZ_KEEP_RUNS=1 FUZZ_WORKDIR=$s ci/fuzz.sh --no-build fuzz_buf >"$T/rc2" 2>&1 & pb=$!
  ra=0 rb=0; wait "$pa" || ra=$?; wait "$pb" || rb=$?
  if [ "$ra" -ne 0 ] || [ "$rb" -ne 0 ]; then notok "$name3" "exit $ra and $rb"
  elif ! why=$(check_run "$T/rc1" "$s") || ! why=$(check_run "$T/rc2" "$s"); then notok "$name3" "$why"
  elif [ -e "$s/run-00000000-000000-old" ]; then notok "$name3" "the old finished run was not pruned"
  elif [ ! -e "$s/run-00000000-000001-find/FINDINGS" ] || [ "$(cat "$s/run-00000000-000002-user/keep.txt" 2>/dev/null)" != mine ]; then
    notok "$name3" "a run with findings or the user's directory was deleted"
  else ok "$name3"; fi
  unset FUZZ_SECONDS FUZZ_JOBS
fi

if [ "$(tree_hash)" = "$before" ]; then
  ok "corpus/ and tests/regress/ unchanged"
else
  notok "corpus/ and tests/regress/ unchanged" "they changed"
fi
[ "$failures" -eq 0 ]
