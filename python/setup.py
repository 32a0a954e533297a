"""Builds the membuf package: the C library as libmembuf.so.0 (CMake's `membuf` target from the
repository's src/, shared), placed inside the package, and the extension membuf._core linked to
it with rpath $ORIGIN. Cython 0.29 (Debian's cython3) or later, setuptools.

    python3 setup.py build_ext --inplace            # in the clone: PYTHONPATH=python works
    python3 -m pip install --no-build-isolation .   # an install (wheel built in-tree)

Environment:
  MEMBUF_SOURCE_DIR  the repository root (default: this file's parent folder's parent)
  MEMBUF_VARIANT     plain (default), asan (clang, library with MEMBUF_ASAN=ON, extension with
                     -fsanitize=address; run with the ASan runtime preloaded) or valgrind
                     (library with MEMBUF_VALGRIND=ON: pool blocks described to Memcheck)
  MEMBUF_CMAKE_DIR   where CMake builds the library (default: <root>/build/python/cmake-<variant>)
"""
import os
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
os.chdir(HERE)  # setuptools wants paths relative to this folder
ROOT = os.path.abspath(os.environ.get("MEMBUF_SOURCE_DIR") or os.path.dirname(HERE))
VARIANT = os.environ.get("MEMBUF_VARIANT", "plain")
VARIANTS = {
    "plain": [],
    "asan": ["-DCMAKE_C_COMPILER=clang", "-DMEMBUF_ASAN=ON"],
    "valgrind": ["-DMEMBUF_VALGRIND=ON"],
}
if VARIANT not in VARIANTS:
    sys.exit(f"setup.py: MEMBUF_VARIANT={VARIANT!r}: expected one of {', '.join(VARIANTS)}")
CMAKE_DIR = os.environ.get("MEMBUF_CMAKE_DIR") or os.path.join(
    ROOT, "build", "python", "cmake-" + VARIANT)
LIBRARY = "libmembuf.so.0"
PXDS = ["__init__.pxd", "cmembuf.pxd", "_core.pxd"]
ASAN_FLAGS = ["-fsanitize=address", "-fno-omit-frame-pointer"]


def run(cmd):
    print("+ " + " ".join(cmd), flush=True)
    subprocess.check_call(cmd)


def build_library():
    """Configures and builds CMake's `membuf` target as a shared library; returns its path."""
    if not os.path.isfile(os.path.join(ROOT, "include", "membuf.h")):
        sys.exit(f"setup.py: no include/membuf.h under {ROOT}: set MEMBUF_SOURCE_DIR to the "
                 "membuf repository")
    run(["cmake", "-S", ROOT, "-B", CMAKE_DIR, "-DBUILD_SHARED_LIBS=ON", "-DMEMBUF_TESTS=OFF",
         "-DCMAKE_BUILD_TYPE=RelWithDebInfo", "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O2 -g -DNDEBUG",
         *VARIANTS[VARIANT]])
    run(["cmake", "--build", CMAKE_DIR, "--target", "membuf", "-j", str(os.cpu_count() or 1)])
    path = os.path.join(CMAKE_DIR, LIBRARY)
    if not os.path.exists(path):
        sys.exit(f"setup.py: the build made no {path}")
    return os.path.realpath(path)


class BuildExt(build_ext):
    """Builds the library first and places it, membuf.h and the .pxd files in the package."""

    def run(self):
        lib = build_library()
        pkg = os.path.dirname(self.get_ext_fullpath("membuf._core"))
        os.makedirs(os.path.join(pkg, "include", "membuf"), exist_ok=True)
        shutil.copyfile(lib, os.path.join(pkg, LIBRARY))
        shutil.copyfile(os.path.join(ROOT, "include", "membuf.h"),
                        os.path.join(pkg, "include", "membuf.h"))
        for name in PXDS:
            src = os.path.join(HERE, "membuf", name)
            shutil.copyfile(src, os.path.join(pkg, "include", "membuf", name))
            if not self.inplace:
                shutil.copyfile(src, os.path.join(pkg, name))
        for ext in self.extensions:
            ext.library_dirs.append(pkg)
            if VARIANT == "asan":
                ext.extra_compile_args += ASAN_FLAGS
                ext.extra_link_args += ASAN_FLAGS
        if VARIANT == "asan":
            os.environ.setdefault("CC", "clang")
            os.environ.setdefault("LDSHARED", "clang -shared")
        super().run()


def extensions():
    from Cython.Build import cythonize
    ext = Extension(
        "membuf._core", ["membuf/_core.pyx"],
        include_dirs=[os.path.join(ROOT, "include")],
        libraries=[":" + LIBRARY],
        extra_link_args=["-Wl,-rpath,$ORIGIN"],
    )
    return cythonize([ext], include_path=[HERE], compiler_directives={"language_level": 3})


setup(
    name="membuf",
    version="0.1.0",
    description="membuf allocator families and Buffer, from Python and Cython",
    packages=["membuf"],
    package_data={"membuf": PXDS},
    ext_modules=extensions(),
    cmdclass={"build_ext": BuildExt},
    zip_safe=False,
    python_requires=">=3.8",
)
