"""membuf from Python and Cython: allocator instances, a Buffer of doubles, violation records.

    import membuf
    with membuf.pool() as a:                 # also system(), guard(inner), pymem()
        b = membuf.Buffer(a, 1000)
        b.fill_normal(42)
        b.free()
    with membuf.recording() as rec:          # violations become records instead of an abort
        ...

Cython: `from membuf cimport cmembuf` (include/membuf.h) and `from membuf._core cimport
Allocator` (alloc.ptr is the mb_alloc *). A downstream extension builds with
Extension(name, [src], include_dirs=[membuf.get_include()], **membuf.get_extension_args()).
Importing membuf imports nothing outside the standard library; membuf.testing needs pytest
(and Hypothesis for its state machine).
"""
import os as _os

from membuf._core import (Allocator, Buffer, Record, Recording, Stats, __version__, guard,
                          internal_fail_after, internal_fail_never, pool, pymem, recording,
                          system, violation_name)

__all__ = ["Allocator", "Buffer", "Record", "Recording", "Stats", "get_extension_args",
           "get_include", "guard", "internal_fail_after", "internal_fail_never", "pool", "pymem",
           "recording", "system", "violation_name"]

_HERE = _os.path.dirname(_os.path.abspath(__file__))

#: The shared library every membuf extension links, found beside this file.
LIBRARY = "libmembuf.so.0"


def get_include():
    """The folder holding membuf.h and membuf/{__init__,cmembuf,_core}.pxd: the one include
    directory a downstream extension needs, for the C compiler and for Cython."""
    return _os.path.join(_HERE, "include")


def get_extension_args():
    """The setuptools Extension arguments, besides include_dirs, that link a downstream module
    to the same libmembuf.so.0 as this package (one copy of the library per process: instances,
    the violation handler and statistics are shared):

        Extension(name, [src], include_dirs=[membuf.get_include()],
                  **membuf.get_extension_args())
    """
    return {
        "libraries": [":" + LIBRARY],
        "library_dirs": [_HERE],
        "runtime_library_dirs": [_HERE],
    }


def library_path():
    """The path of the libmembuf.so.0 this package loads."""
    return _os.path.join(_HERE, LIBRARY)
