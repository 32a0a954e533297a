"""The package as a downstream build and an importer see it."""
import os
import re

import pytest

import membuf
from _helpers import run_python

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.mark.smoke
def test_import_membuf_imports_nothing_outside_the_standard_library():
    r = run_python("import sys, membuf\n"
                   "heavy = {'numpy', 'pytest', 'hypothesis', 'Cython'} & set(sys.modules)\n"
                   "print(sorted(heavy))")
    assert r.returncode == 0 and r.stdout == "[]\n", r.stdout + r.stderr


def test_get_include_holds_the_header_and_the_pxds():
    inc = membuf.get_include()
    assert os.path.isfile(os.path.join(inc, "membuf.h"))
    pkg = os.path.dirname(membuf.__file__)
    for name in ("__init__.pxd", "cmembuf.pxd", "_core.pxd"):
        with open(os.path.join(inc, "membuf", name)) as a, open(os.path.join(pkg, name)) as b:
            assert a.read() == b.read(), name


def test_get_extension_args_names_the_package_library():
    args = membuf.get_extension_args()
    pkg = os.path.dirname(os.path.abspath(membuf.__file__))
    assert args == {"libraries": [":libmembuf.so.0"], "library_dirs": [pkg],
                    "runtime_library_dirs": [pkg]}
    assert os.path.isfile(membuf.library_path())
    assert membuf.library_path() == os.path.join(pkg, "libmembuf.so.0")


def test_version_is_the_headers():
    with open(os.path.join(membuf.get_include(), "membuf.h")) as f:
        h = f.read()
    parts = [re.search(rf"#define MEMBUF_VERSION_{p} (\d+)", h).group(1)
             for p in ("MAJOR", "MINOR", "PATCH")]
    assert membuf.__version__ == ".".join(parts)


def test_an_open_allocator_collected_is_closed_and_its_leak_recorded(raw_calls):
    with membuf.recording() as rec:
        a = membuf.pool()
        raw_calls.malloc(a, 16)
        del a
    assert rec.kinds == ["leak"] and "1 block (16 bytes)" in rec[0].message
