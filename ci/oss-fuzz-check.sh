#!/usr/bin/env bash
# Local stand-in for OSS-Fuzz / ClusterFuzzLite's build and check_build: runs
# .clusterfuzzlite/build.sh the way the base-builder's `compile` does (same CC, CFLAGS,
# LIB_FUZZING_ENGINE, SANITIZER, ... ; the repository copied to $SRC/membuf, build.sh to
# $SRC/build.sh, run from $SRC/membuf with `bash -eux`), all in temporary directories, then checks
# $OUT like check_build / bad_build_check does, for every target:
#   files          the binary, T.options and T_seed_corpus.zip are there
#   instrumented   the library's own functions (mb_*) call the sanitizer's checks and libFuzzer's
#                  comparison hooks (objdump -d), and the binary has coverage counters (__sancov_*)
#   starts         T -runs=4 exits 0 (the .options flags applied, base-runner's *SAN_OPTIONS)
#   seeds          the seed zip, unzipped, replays clean with -runs=0
# The coverage build (what the cron job's coverage mode uses) is not fuzzed: its checks are profile
# instrumentation, a clean seed replay, and (with llvm-profdata/llvm-cov) that the replay's profile
# covers lines of src/*.c. Each check counts once in `record`.
#
# usage: ci/oss-fuzz-check.sh [--help]    sanitizers from OSS_FUZZ_SANITIZERS
#   OSS_FUZZ_SANITIZERS  space-separated subset of address undefined memory coverage
#                        (default: all four; about 10 s in all on two cores)
set -euo pipefail
JOB_NAME=oss-fuzz-check # read by lib.sh's say/record
source "$(dirname "$0")/lib.sh"
ci_no_args "$@"

sanitizers=${OSS_FUZZ_SANITIZERS:-address undefined memory coverage}
for s in $sanitizers; do
  case "$s" in address|undefined|memory|coverage) ;;
    *) ci_die "OSS_FUZZ_SANITIZERS: unknown sanitizer '$(ci_printable "$s")' (address undefined memory coverage)" ;;
  esac
done
[ -n "${sanitizers// /}" ] || ci_die "OSS_FUZZ_SANITIZERS names no sanitizer"

# Tools: one line and a non-zero exit when one is missing.
need() { command -v "$1" >/dev/null 2>&1 || { say "missing tool: $1 ($2)" >&2; record 0 1; exit 2; }; }
need clang "apt-get install clang libclang-rt-14-dev"
need objdump "apt-get install binutils"
need nm "apt-get install binutils"
if command -v unzip >/dev/null 2>&1; then
  unzip_to() { unzip -q -o "$1" -d "$2"; }
elif command -v python3 >/dev/null 2>&1; then
  unzip_to() { python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$1" "$2"; }
else
  say "missing tool: unzip (apt-get install unzip; or python3 for its zipfile module)" >&2
  record 0 1
  exit 2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/membuf-oss-fuzz.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# The repository as Docker's `COPY . $SRC/membuf` sees it in CI: tracked and untracked files,
# not what .gitignore ignores (build/, out/).
src="$tmp/src"
mkdir -p "$src/membuf"
if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git -C "$ROOT" ls-files -z -co --exclude-standard \
    | while IFS= read -r -d '' f; do if [ -e "$ROOT/$f" ]; then printf '%s\0' "$f"; fi; done \
    | tar -C "$ROOT" --null -T - -cf - | tar -C "$src/membuf" -xf -
else
  tar -C "$ROOT" --exclude=./build --exclude=./out -cf - . | tar -C "$src/membuf" -xf -
fi
cp "$ROOT/.clusterfuzzlite/build.sh" "$src/build.sh"

# base-runner's environment (infra/base-images/base-runner/Dockerfile).
export ASAN_OPTIONS="alloc_dealloc_mismatch=0:allocator_may_return_null=1:allocator_release_to_os_interval_ms=500:check_malloc_usable_size=0:detect_container_overflow=1:detect_odr_violation=0:detect_leaks=1:detect_stack_use_after_return=1:fast_unwind_on_fatal=0:handle_abort=1:handle_segv=1:handle_sigill=1:max_uar_stack_size_log=16:print_scariness=1:quarantine_size_mb=10:strict_memcmp=1:symbolize=1:use_sigaltstack=1:dedup_token_length=3"
export MSAN_OPTIONS="print_stats=1:symbolize=1:dedup_token_length=3"
export UBSAN_OPTIONS="print_stacktrace=1:print_summary=1:silence_unsigned_overflow=1:symbolize=1:dedup_token_length=3"

# base-clang / base-builder flags (infra/base-images/base-builder/Dockerfile and `compile`:
# CFLAGS="$CFLAGS $SANITIZER_FLAGS_<san> $COVERAGE_FLAGS[_<san>]").
base_cflags="-O1 -fno-omit-frame-pointer -gline-tables-only -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION"
ubsan_checks="array-bounds,bool,builtin,enum,float-divide-by-zero,function,integer-divide-by-zero,null,object-size,return,returns-nonnull-attribute,shift,signed-integer-overflow,unreachable,vla-bound,vptr"
san_flags() {
  case "$1" in
    address) echo "-fsanitize=address -fsanitize-address-use-after-scope" ;;
    undefined) echo "-fsanitize=$ubsan_checks,unsigned-integer-overflow -fno-sanitize-recover=$ubsan_checks" ;;
    memory) echo "-fsanitize=memory -fsanitize-memory-track-origins" ;;
    coverage) echo "" ;;
  esac
}
cov_flags() {
  if [ "$1" = coverage ]; then
    echo "-fprofile-instr-generate -fcoverage-mapping -pthread -Wl,--no-as-needed -Wl,-ldl -Wl,-lm -Wno-unused-command-line-argument"
  else
    echo "-fsanitize=fuzzer-no-link"
  fi
}

passed=0 failed=0
check() { # check NAME COMMAND...: one counted check, its output kept in $tmp/last.log
  local name=$1; shift
  if "$@" >"$tmp/last.log" 2>&1; then
    passed=$((passed + 1))
    local detail
    detail=$(tail -n 1 "$tmp/last.log" | cut -c 1-100)
    case "$detail" in ""|+*) say "  ok    $name" ;; *) say "  ok    $name: $detail" ;; esac
  else
    failed=$((failed + 1))
    say "  FAIL  $name"
    # Compiler errors first (the build log is a bash -x trace), then how it ended.
    { grep -E '(error|fatal error|undefined reference).*' "$tmp/last.log" | head -n 10 || true
      tail -n 12 "$tmp/last.log"; } | sed 's/^/        /'
  fi
}

# libFuzzer flags from T.options ([libfuzzer] key = value lines), as ClusterFuzz passes them.
options_of() {
  local line
  opts=()
  [ -f "$1" ] || return 0
  while IFS= read -r line; do
    [[ "$line" =~ ^[[:space:]]*([a-z_]+)[[:space:]]*=[[:space:]]*([^[:space:]]+) ]] \
      && opts+=("-${BASH_REMATCH[1]}=${BASH_REMATCH[2]}")
  done <"$1"
}

# The checks (each prints what it found on failure). grep reads its whole input: grep -q would
# stop early and fail the pipeline with SIGPIPE under pipefail.
has_file() { [ -s "$1" ] || { echo "missing or empty: $1"; return 1; }; }
is_fuzzer() {
  [ -x "$1" ] || { echo "not an executable: $1"; return 1; }
  nm "$1" | grep ' T LLVMFuzzerTestOneInput$' >/dev/null || { echo "no LLVMFuzzerTestOneInput in $1"; return 1; }
}
lib_calls() { # lib_calls BIN PATTERN: some library function (public mb_*) calls PATTERN*
  objdump -d --no-show-raw-insn "$1" | awk -v pat="$2" '
    /^[0-9a-f]+ <[^>]+>:$/ { fn = $2; gsub(/[<>:]/, "", fn); if (fn ~ /^mb_/) total++; next }
    fn ~ /^mb_/ && $0 ~ ("call[a-z]* +[0-9a-f]+ <" pat) { hit[fn] = 1 }
    END { n = 0; for (f in hit) n++
          printf "%d of %d mb_* functions call %s\n", n, total, pat; exit !(n > 0) }'
}
no_calls_to() {
  local n
  n=$(objdump -d --no-show-raw-insn "$1" | grep -cE "call[a-z]* +[0-9a-f]+ <$2" || true)
  echo "$n call sites of $2 in $(basename "$1") (expected none)"
  [ "$n" -eq 0 ]
}
has_section() { objdump -h "$1" | grep -w "$2" >/dev/null || { echo "no section $2 in $1"; return 1; }; }
starts() { # starts BIN: -runs=4 from an empty corpus, in a scratch directory
  local bin=$1 dir="$tmp/run"
  rm -rf "$dir"; mkdir -p "$dir"
  options_of "$bin.options"
  (cd "$dir" && timeout 60 "$bin" "${opts[@]}" -seed=1337 -runs=4 -timeout=25) 2>&1 | tail -n 5
  return "${PIPESTATUS[0]}"
}
replays() { # replays BIN ZIP: the unzipped seed corpus with -runs=0
  local bin=$1 zip=$2 dir="$tmp/seeds" n
  rm -rf "$dir"; mkdir -p "$dir/corpus"
  unzip_to "$zip" "$dir/corpus" || { echo "cannot unzip $zip"; return 1; }
  n=$(find "$dir/corpus" -type f | wc -l)
  [ "$n" -gt 0 ] || { echo "$zip is empty"; return 1; }
  options_of "$bin.options"
  (cd "$dir" && LLVM_PROFILE_FILE="$dir/%p.profraw" timeout 60 "$bin" "${opts[@]}" -runs=0 -timeout=25 \
    "$dir/corpus") 2>&1 | tail -n 5
  local rc=${PIPESTATUS[0]}
  echo "$n seed(s) replayed"
  [ "$rc" -eq 0 ]
}
# llvm-profdata / llvm-cov, unversioned or as Debian's -14 names; empty when absent.
llvm_tool() { command -v "$1" 2>/dev/null || command -v "$1-14" 2>/dev/null || true; }
profdata=$(llvm_tool llvm-profdata) llvmcov=$(llvm_tool llvm-cov)
covers_library() { # covers_library BIN: the replay's profile covers the library sources
  local bin=$1 p="$tmp/seeds/merged.profdata"
  ls "$tmp/seeds"/*.profraw >/dev/null 2>&1 || { echo "no .profraw written"; return 1; }
  "$profdata" merge -sparse "$tmp/seeds"/*.profraw -o "$p" || return 1
  # lcov summary: SF:<source> ... LH:<lines hit> per file; count src/*.c files with lines hit.
  "$llvmcov" export -format=lcov -summary-only "$bin" -instr-profile="$p" | awk -v dir="$src/membuf/src/" '
    /^SF:/ { f = substr($0, 4); lib = (index(f, dir) == 1 && f ~ /\.c$/); if (lib) files++ }
    /^LH:/ && lib { lines += substr($0, 4); if (substr($0, 4) + 0 > 0) hit++ }
    END { printf "library: %d of %d src/*.c files with lines hit (%d lines)\n", hit, files, lines
          exit !(hit > 0) }'
}

for san in $sanitizers; do
  out="$tmp/out-$san" work="$tmp/work-$san"
  rm -rf "$out" "$work"
  mkdir -p "$out" "$work"
  cflags="$base_cflags $(san_flags "$san") $(cov_flags "$san")"
  say "== $san: CFLAGS=$cflags"
  start=$SECONDS build_failed_before=$failed
  # shellcheck disable=SC2016 # $SRC is expanded by the inner shell
  check "build.sh ($san)" env -i PATH="$PATH" HOME="${HOME:-/root}" TMPDIR="${TMPDIR:-/tmp}" \
    CC=clang CXX=clang++ CFLAGS="$cflags" CXXFLAGS="$cflags" \
    LIB_FUZZING_ENGINE=-fsanitize=fuzzer SANITIZER="$san" FUZZING_ENGINE=libfuzzer \
    FUZZING_LANGUAGE=c ARCHITECTURE=x86_64 SRC="$src" OUT="$out" WORK="$work" \
    bash -c 'cd "$SRC/membuf" && bash -eux "$SRC/build.sh"'
  say "  build took $((SECONDS - start))s"
  if [ "$failed" -gt "$build_failed_before" ]; then
    say "  skipping the checks of the $san build: it failed"
    continue
  fi

  targets=()
  for f in "$src"/membuf/fuzz/fuzz_*.c; do targets+=("$(basename "$f" .c)"); done
  for t in "${targets[@]}"; do
    bin="$out/$t"
    say "-- $t"
    check "$t: binary" is_fuzzer "$bin"
    check "$t: $t.options" has_file "$out/$t.options"
    check "$t: ${t}_seed_corpus.zip" has_file "$out/${t}_seed_corpus.zip"
    [ -x "$bin" ] || continue
    case "$san" in
      address) check "$t: ASan instrumentation (library)" lib_calls "$bin" __asan_report ;;
      undefined)
        check "$t: UBSan instrumentation (library)" lib_calls "$bin" __ubsan_handle
        check "$t: no ASan instrumentation" no_calls_to "$bin" __asan_report ;;
      memory) check "$t: MSan instrumentation (library)" lib_calls "$bin" __msan_warning ;;
      coverage)
        check "$t: profile instrumentation" has_section "$bin" __llvm_prf_cnts
        check "$t: no ASan instrumentation" no_calls_to "$bin" __asan_report ;;
    esac
    if [ "$san" = coverage ]; then
      # Coverage binaries only replay corpora (no fuzzing feedback to run on).
      check "$t: seed corpus replays (-runs=0)" replays "$bin" "$out/${t}_seed_corpus.zip"
      if [ -n "$profdata" ] && [ -n "$llvmcov" ]; then
        check "$t: seed replay covers the library (llvm-cov)" covers_library "$bin"
      else
        say "  skip  $t: library coverage (no llvm-profdata/llvm-cov)"
      fi
    else
      check "$t: libFuzzer coverage counters" has_section "$bin" __sancov_cntrs
      check "$t: libFuzzer instrumentation (library)" lib_calls "$bin" __sanitizer_cov_trace
      check "$t: starts (-runs=4)" starts "$bin"
      check "$t: seed corpus replays (-runs=0)" replays "$bin" "$out/${t}_seed_corpus.zip"
    fi
  done
done

say "$passed check(s) passed, $failed failed (sanitizers: $sanitizers)"
record "$passed" "$failed"
rc=0
[ "$failed" -eq 0 ] || rc=1
verdict $rc
