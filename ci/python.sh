#!/usr/bin/env bash
# The Python and Cython face (python/): builds the package and the examples, then runs
# python/tests in four legs, and checks an install:
#   plain     the package in place (python/membuf: libmembuf.so.0 + membuf._core), the examples
#             in place (python/examples) -- after this, PYTHONPATH=python python3 -c 'import membuf'
#   debug     the same tests under PYTHONMALLOC=debug
#   asan      library (MEMBUF_ASAN=ON, clang) + extension + examples built with ASan in
#             build/python/asan; the ASan runtime preloaded, PYTHONMALLOC=malloc,
#             detect_leaks=0, reports to files: zero required (Hypothesis examples scaled by
#             1/4; the test that compiles a fresh module left out: plain and debug run it)
#   valgrind  library with MEMBUF_VALGRIND=ON in build/python/valgrind; the tests marked smoke
#             under memcheck (PYTHONMALLOC=malloc, Debian's python3.supp): zero errors required
#   install   pip install --no-build-isolation --target <tmp> ./python; the installed package
#             imports from elsewhere and a downstream module builds against it and shares stats
# The builds run first, one after the other; then the legs run in two streams side by side
# (plain, debug, valgrind | asan, install), the second stream's output printed when it ends.
#
# usage: ci/python.sh [--help]
#   PYTHON       the interpreter (default /usr/bin/python3: Debian's, which has cython3, numpy,
#                hypothesis and pytest)
#   PYTHON_LEGS  the legs to run (default "plain debug asan valgrind install")
# Build outputs: python/membuf and python/examples (in place, git-ignored), build/python/.
set -euo pipefail
JOB_NAME=python
source "$(dirname "$0")/lib.sh"
ci_no_args "$@"
PY=${PYTHON:-/usr/bin/python3}
[ -x "$PY" ] || command -v "$PY" >/dev/null 2>&1 || ci_die "PYTHON: no interpreter '$(ci_printable "$PY")'"
legs=" ${PYTHON_LEGS:-plain debug asan valgrind install} "
for leg in $legs; do
  case "$leg" in plain | debug | asan | valgrind | install) ;;
    *) ci_die "PYTHON_LEGS: unknown leg '$(ci_printable "$leg")' (plain debug asan valgrind install)" ;;
  esac
done
[ -n "${legs// /}" ] || ci_die "PYTHON_LEGS names no leg"
out=$ROOT/build/python
mkdir -p "$out"
results=$out/results.tsv # one line per leg, build or check: NAME PASSED FAILED SECONDS
: >"$results"
has_leg() { [[ "$legs" == *" $1 "* ]]; }
drop_leg() { legs=${legs// $1 / }; }
note() { printf '%s\t%s\t%s\t%s\n' "$@" >>"$results"; }
start_all=$SECONDS

# check NAME COMMAND...: a check that is one pass or one failure.
check() {
  local name=$1 start=$SECONDS; shift
  if "$@"; then note "$name" 1 0 $((SECONDS - start)); else
    say "failed: $name"; note "$name" 0 1 $((SECONDS - start)); fi
}

# pytest_leg NAME [ENV=VALUE...] -- [COMMAND PREFIX...] -- [PYTEST ARGS...]: runs python/tests,
# counts its tests from a JUnit XML file (a skipped test counts as failed).
pytest_leg() {
  local name=$1; shift
  local envs=() prefix=()
  while [ "$1" != -- ]; do envs+=("$1"); shift; done; shift
  while [ "$1" != -- ]; do prefix+=("$1"); shift; done; shift
  local xml=$out/$name.xml start=$SECONDS rc=0 counts p f k
  rm -f "$xml"
  say "+ ${envs[*]} ${prefix[*]} $PY -m pytest python/tests $*"
  env "${envs[@]}" "${prefix[@]}" "$PY" -m pytest python/tests -p no:cacheprovider -q \
    --junitxml="$xml" "$@" || rc=$?
  counts=$("$PY" - "$xml" <<'EOF' || echo "0 1 0"
import sys, xml.etree.ElementTree as ET
s = ET.parse(sys.argv[1]).getroot()
s = s if s.tag == "testsuite" else s.find("testsuite")
n, f, e, k = (int(s.get(a, 0)) for a in ("tests", "failures", "errors", "skipped"))
print(n - f - e - k, f + e + k, k)
EOF
)
  read -r p f k <<<"$counts"
  [ "$rc" -eq 0 ] || [ "$f" -gt 0 ] || f=1 # pytest (or valgrind) failed without a failing test
  say "$name: $p passed, $f failed ($k skipped, counted as failed) in $((SECONDS - start)) s"
  note "$name" "$p" "$f" $((SECONDS - start))
}

build_plain() {
  (cd python && run "$PY" setup.py -q build_ext --inplace -j "$JOBS") &&
    (cd python/examples && PYTHONPATH=.. run "$PY" setup.py -q build_ext --inplace -j "$JOBS")
}

# build_variant NAME [ENV=VALUE...]: package and examples built into build/python/NAME/{lib,
# examples}; the examples' setup.py imports the package, so it runs with the ENV given.
build_variant() {
  local v=$1 dir=$out/$1; shift
  (cd python && MEMBUF_VARIANT=$v run "$PY" setup.py -q build --build-lib "$dir/lib" \
      --build-temp "$dir/temp" build_ext -j "$JOBS") &&
    (cd python/examples && run env MEMBUF_VARIANT="$v" PYTHONPATH="$dir/lib" "$@" "$PY" setup.py \
      -q build_ext --build-lib "$dir/examples" --build-temp "$dir/examples-temp" -j "$JOBS")
}

# build NAME COMMAND...: a build step; on failure the legs that need it are dropped.
build() {
  local name=$1 start=$SECONDS; shift
  if "$@"; then
    say "$name build: $((SECONDS - start)) s"; note "build-$name" 1 0 $((SECONDS - start))
  else
    say "$name build FAILED"; note "build-$name" 0 1 $((SECONDS - start)); return 1
  fi
}

asan_rt=$(clang -print-file-name=libclang_rt.asan-x86_64.so)
if has_leg plain || has_leg debug || has_leg install; then
  if build plain build_plain; then
    check "import membuf with PATH's python3" env PYTHONPATH=python python3 -c 'import membuf'
  else
    drop_leg plain; drop_leg debug
  fi
fi
if has_leg asan; then
  build asan build_variant asan CC=clang LDSHARED="clang -shared" LD_PRELOAD="$asan_rt" \
    ASAN_OPTIONS=detect_leaks=0 || drop_leg asan
fi
if has_leg valgrind; then
  build valgrind build_variant valgrind || drop_leg valgrind
fi

leg_plain() {
  pytest_leg plain PYTHONPATH="$ROOT/python:$ROOT/python/examples" -- --
}

leg_debug() {
  pytest_leg debug PYTHONPATH="$ROOT/python:$ROOT/python/examples" PYTHONMALLOC=debug -- --
}

leg_asan() {
  local logs=$out/asan/reports reports f
  rm -rf "$logs"; mkdir -p "$logs"
  pytest_leg asan PYTHONPATH="$out/asan/lib:$out/asan/examples" LD_PRELOAD="$asan_rt" \
    PYTHONMALLOC=malloc MEMBUF_TEST_SCALE=0.25 \
    ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1:log_path=$logs/asan" \
    UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$logs/ubsan" -- -- \
    -m "not downstream_build"
  reports=$(find "$logs" -type f | wc -l)
  for f in $(find "$logs" -type f | head -n 5); do
    say "asan: $f:"; grep -m 3 -E "ERROR|runtime error|SUMMARY" "$f" | sed 's/^/    /' || true
  done
  check "asan: zero ASan/UBSan reports (found $reports in $logs)" [ "$reports" -eq 0 ]
}

leg_valgrind() {
  local vlogs=$out/valgrind supp=/usr/lib/valgrind/python3.supp reports f
  [ -r "$supp" ] || supp=$(dpkg -L valgrind | grep 'python3.supp$' | head -n 1)
  rm -f "$vlogs"/memcheck.*
  pytest_leg valgrind PYTHONPATH="$out/valgrind/lib:$out/valgrind/examples" PYTHONMALLOC=malloc \
    -- valgrind --quiet --suppressions="$supp" --suppressions=python/tests/valgrind.supp \
    --error-exitcode=99 --leak-check=no --log-file="$vlogs/memcheck.%p" -- -m smoke
  # --quiet: a log holds errors only. Forked children write their own (%p).
  reports=$(find "$vlogs" -name 'memcheck.*' -size +0 | wc -l)
  for f in $(find "$vlogs" -name 'memcheck.*' -size +0 | head -n 3); do
    say "valgrind: $f:"; head -n 20 "$f"
  done
  check "valgrind: zero memcheck errors (found $reports non-empty logs)" [ "$reports" -eq 0 ]
}

install_check() {
  local tmp rc=0
  tmp=$(mktemp -d)
  run "$PY" -m pip install -q --no-build-isolation --no-deps --no-index --target "$tmp/site" \
    ./python || rc=$?
  if [ "$rc" -eq 0 ]; then
    mkdir -p "$tmp/downstream"
    cp python/examples/raw_calls.pyx "$tmp/downstream/"
    cat >"$tmp/downstream/setup.py" <<'EOF'
import membuf
from Cython.Build import cythonize
from setuptools import Extension, setup
ext = Extension("raw_calls", ["raw_calls.pyx"], include_dirs=[membuf.get_include()],
                **membuf.get_extension_args())
setup(name="downstream", ext_modules=cythonize([ext], language_level=3))
EOF
    (cd "$tmp/downstream" && PYTHONPATH="$tmp/site" run "$PY" setup.py -q build_ext --inplace) \
      || rc=$?
  fi
  if [ "$rc" -eq 0 ]; then
    (cd "$tmp" && PYTHONPATH="$tmp/site:$tmp/downstream" run "$PY" -c "
import os, membuf, raw_calls
assert membuf.__file__.startswith('$tmp/site/membuf/'), membuf.__file__
assert os.path.isfile(os.path.join(membuf.get_include(), 'membuf.h'))
assert os.path.isfile(os.path.join(membuf.get_include(), 'membuf', 'cmembuf.pxd'))
a = membuf.pool()
p = raw_calls.malloc(a, 40)
assert a.stats().live_blocks == 1
raw_calls.free(a, p)
with membuf.recording() as rec:
    raw_calls.free(a, p)
assert rec.kinds == ['double-free'], list(rec)
libs = {l.split()[-1] for l in open('/proc/self/maps') if 'libmembuf' in l}
assert libs == {os.path.realpath(membuf.library_path())}, libs
a.close()
print('install: membuf', membuf.__version__, 'from', os.path.dirname(membuf.__file__))
") || rc=$?
  fi
  rm -rf "$tmp"
  return "$rc"
}

leg_install() {
  check "install: pip install, import, downstream build" install_check
}

stream() { for leg in "$@"; do if has_leg "$leg"; then "leg_$leg"; fi; done; }
second_log=$out/stream2.log
say "legs: plain, debug, valgrind here; asan, install alongside (output in $second_log)"
stream asan install >"$second_log" 2>&1 &
second=$!
stream plain debug valgrind
wait "$second" || true
say "---- the asan and install legs' output ($second_log):"
cat "$second_log"

say "---- summary ($((SECONDS - start_all)) s)"
awk -F'\t' '{ printf "    %-60s %4d passed %3d failed %4d s\n", $1, $2, $3, $4 }' "$results"
passed=$(awk -F'\t' '{p += $2} END {print p + 0}' "$results")
failed=$(awk -F'\t' '{f += $3} END {print f + 0}' "$results")
say "$passed passed, $failed failed"
record "$passed" "$failed"
verdict $((failed > 0))
