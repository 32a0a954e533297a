"""The seed's code on membuf (python/examples/), built as downstream Cython modules: random_noise
as published leaks exactly its block, its fixed twin nothing; SomeMemory survives every injected
failure; the planted `self.data = realloc(self.data, n)` variant is caught by the same loop."""
import os
import re
import subprocess
import sys
import textwrap

import pytest

import membuf
import random_noise
import random_noise_fixed
import raw_calls
import some_memory
import some_memory_realloc_bug
from _helpers import close_all, make
from membuf.testing import FaultLoopError, fail_after, fault_loop

EXAMPLES = [random_noise, random_noise_fixed, raw_calls, some_memory, some_memory_realloc_bug]


@pytest.mark.smoke
def test_one_copy_of_the_library_per_process():
    with open("/proc/self/maps") as f:
        paths = {line.split()[-1] for line in f if "libmembuf" in line}
    assert paths == {os.path.realpath(membuf.library_path())}


def test_examples_link_the_package_library():
    for mod in EXAMPLES:
        out = subprocess.run(["readelf", "-d", mod.__file__], capture_output=True, text=True,
                             check=True).stdout
        assert "Shared library: [libmembuf.so.0]" in out, mod.__name__
        runpath = re.search(r"(?:RUNPATH|RPATH).*\[(.*)\]", out).group(1)
        assert os.path.dirname(membuf.library_path()) in runpath.split(":"), mod.__name__


@pytest.mark.smoke
def test_downstream_module_shares_instances_and_statistics():
    with membuf.pool() as a:
        p = raw_calls.malloc(a, 100)
        s = a.stats()
        assert (s.live_blocks, s.live_bytes, s.mallocs) == (1, 100, 1)
        b = membuf.Buffer(a, 10)  # the package and the module count into one instance
        p = raw_calls.realloc(a, p, 200)
        assert p
        s = a.stats()
        assert (s.live_blocks, s.live_bytes, s.mallocs, s.reallocs) == (2, 280, 2, 1)
        a.fail_after(0)  # fault injection set from Python applies to the module's calls
        assert raw_calls.malloc(a, 8) == 0
        raw_calls.free(a, p)
        b.free()
        with membuf.recording() as rec:  # and so does the handler
            raw_calls.free(a, p)
        assert rec.kinds == ["double-free"]
        assert a.stats().failures == 1


@pytest.mark.smoke
@pytest.mark.parametrize("family", ["system", "pool", "pymem", "guard(pool)"])
def test_random_noise_as_published_leaks_exactly_its_block(family):
    number = 1000
    a = make(family)
    values = random_noise.random_noise(a, number)
    assert len(values) == number and len(set(values)) == number
    s = a.stats()
    assert (s.live_blocks, s.live_bytes) == (1, number * 8)
    with membuf.recording() as rec:
        close_all(a)
    assert len(rec) == 1 and rec[0].kind == "leak", list(rec)
    assert re.fullmatch(rf"leak: 1 block \({number * 8} bytes\) still live in "
                        rf"{re.escape(family)}#\d+ at delete", rec[0].message), rec[0].message


@pytest.mark.parametrize("family", ["system", "pool", "pymem", "guard(pool)"])
def test_random_noise_fixed_leaks_nothing(family):
    a = make(family)
    values = random_noise_fixed.random_noise(a, 1000)
    assert len(values) == 1000
    s = a.stats()
    assert (s.live_blocks, s.mallocs, s.frees) == (0, 1, 1)
    with membuf.recording() as rec:
        close_all(a)
    assert len(rec) == 0, list(rec)


def test_random_noise_fixed_under_every_failure():
    with membuf.pymem() as a:
        failed_runs = fault_loop(a, lambda: random_noise_fixed.random_noise(a, 100))
        assert failed_runs == 1  # one request: k = 0 fails, k = 1 succeeds
        assert a.stats().live_blocks == 0


def make_filled(module, alloc, n):
    s = module.SomeMemory(n, alloc)
    for i in range(n):
        s[i] = i + 0.5
    return s


def resize_loop(module, alloc, n, new_n, always):
    """fault_loop around SomeMemory.resize: each run starts from a fresh filled object."""
    return fault_loop(alloc, lambda s: s.resize(new_n), setup=lambda: make_filled(module, alloc, n),
                      state=lambda s: (len(s), s.tolist()), always=always)


@pytest.mark.parametrize("family", ["pymem", "guard(pymem)", "pool"])
@pytest.mark.parametrize("always", [False, True], ids=["once", "always"])
@pytest.mark.parametrize("n,new_n", [(10, 1000), (1000, 10), (3, 0), (0, 5)])
def test_some_memory_resize_survives_every_failure(family, always, n, new_n):
    a = make(family)
    assert resize_loop(some_memory, a, n, new_n, always) == 1
    s = a.stats()
    assert s.live_blocks == 0 and s.failures >= 1
    close_all(a)


def test_some_memory_resize_keeps_contents_when_it_fails_for_each_k():
    # The same check written out by hand, k by k, over a sequence of three resizes.
    with membuf.pymem() as a:
        model = [i + 0.5 for i in range(8)]
        k = 0
        while True:
            s = make_filled(some_memory, a, 8)
            sizes = [16, 4, 64]
            done = 0
            with fail_after(a, k):
                try:
                    for n in sizes:
                        s.resize(n)
                        done += 1
                except MemoryError:
                    pass
            length = ([8] + sizes)[done]
            known = min([8] + sizes[:done])  # elements kept through every resize so far
            expect = model[:known] + [None] * (length - known)
            got = s.tolist()
            assert len(got) == len(expect)
            assert [g for g, e in zip(got, expect) if e is not None] == \
                [e for e in expect if e is not None]
            del s
            assert a.stats().live_blocks == 0, f"leak after k={k}"
            if done == len(sizes):
                break
            k += 1
        assert k == 3


def test_some_memory_constructor_failure_leaves_no_live_block():
    with membuf.pymem() as a:
        with fail_after(a, 0):
            with pytest.raises(MemoryError):
                some_memory.SomeMemory(100, a)
        s = a.stats()
        assert (s.live_blocks, s.failures) == (0, 1)

        class Failing(some_memory.SomeMemory):
            def __init__(self, number, alloc):
                raise ValueError("__init__ fails after __cinit__ allocated")
        with pytest.raises(ValueError):
            Failing(100, a)
        s = a.stats()
        assert (s.live_blocks, s.mallocs, s.frees) == (0, 2, 1)


def test_some_memory_default_allocator_is_pymem():
    s = some_memory.SomeMemory(4)
    assert s.alloc is some_memory.default_allocator and s.alloc.name == "pymem"
    assert s.alloc.stats().live_blocks >= 1
    with pytest.raises(RuntimeError, match="extension object"):
        s.alloc.close()  # SomeMemory retained it
    del s


@pytest.mark.parametrize("always", [False, True], ids=["once", "always"])
def test_planted_realloc_bug_is_caught_by_the_same_loop(always):
    a = membuf.pymem()
    with pytest.raises(FaultLoopError) as e:
        resize_loop(some_memory_realloc_bug, a, 10, 1000, always)
    assert "k=0" in str(e.value) and "changed the state" in str(e.value)
    # and without the state check, the leak check catches it
    with pytest.raises(FaultLoopError, match=r"leak: 1 block\(s\) \(80 bytes\)"):
        fault_loop(a, lambda s: s.resize(1000),
                   setup=lambda: make_filled(some_memory_realloc_bug, a, 10))
    with membuf.recording() as rec:
        a.close()
    assert rec.kinds == ["leak"]  # the blocks the planted bug lost


DOWNSTREAM = '''
# cython: language_level=3
from membuf cimport cmembuf
from membuf._core cimport Allocator

def grab(Allocator alloc, size_t n):
    cdef void *p = cmembuf.mb_malloc(alloc.ptr, n)
    cmembuf.mb_free(alloc.ptr, p)
    return cmembuf.mb_alloc_name(alloc.ptr).decode()
'''
SETUP = '''
import membuf
from setuptools import setup, Extension
from Cython.Build import cythonize
ext = Extension("downstream", ["downstream.pyx"], include_dirs=[membuf.get_include()],
                **membuf.get_extension_args())
setup(name="downstream", ext_modules=cythonize([ext]))
'''


@pytest.mark.downstream_build
def test_a_fresh_downstream_module_builds_with_the_contract_and_shares(tmp_path):
    (tmp_path / "downstream.pyx").write_text(DOWNSTREAM)
    (tmp_path / "setup.py").write_text(SETUP)
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(membuf.__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = package_parent
    build = subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace"],
                           cwd=tmp_path, env=env, capture_output=True, text=True)
    assert build.returncode == 0, build.stdout + build.stderr
    check = textwrap.dedent("""
        import membuf, downstream
        a = membuf.pool()
        assert downstream.grab(a, 24) == "pool"
        s = a.stats()
        assert (s.mallocs, s.frees, s.live_blocks) == (1, 1, 0), s
        a.close()
        print("shared")
    """)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), package_parent])
    run = subprocess.run([sys.executable, "-c", check], env=env, capture_output=True, text=True)
    assert run.stdout == "shared\n", run.stdout + run.stderr
