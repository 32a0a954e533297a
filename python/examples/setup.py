"""Builds the examples, Cython modules outside the package that cimport membuf, exactly as a
downstream project would:

    Extension(name, [src], include_dirs=[membuf.get_include()], **membuf.get_extension_args())

Run with the membuf package importable (after `python3 setup.py build_ext --inplace` in python/):

    cd python/examples && PYTHONPATH=.. python3 setup.py build_ext --inplace
"""
import os

from Cython.Build import cythonize
from setuptools import Extension, setup

import membuf

os.chdir(os.path.dirname(os.path.abspath(__file__)))
NAMES = ["random_noise", "random_noise_fixed", "some_memory", "some_memory_realloc_bug",
         "raw_calls"]
extra = {}
if os.environ.get("MEMBUF_VARIANT") == "asan":  # ci/python.sh's ASan leg
    flags = ["-fsanitize=address", "-fno-omit-frame-pointer"]
    extra = {"extra_compile_args": flags, "extra_link_args": flags}
    os.environ.setdefault("CC", "clang")
    os.environ.setdefault("LDSHARED", "clang -shared")
    # This process needed the ASan runtime preloaded to import the ASan build of membuf; the
    # compilers it starts do not (under it they run several times slower).
    os.environ.pop("LD_PRELOAD", None)

extensions = [
    Extension(name, [name + ".pyx"], include_dirs=[membuf.get_include()],
              **membuf.get_extension_args(), **extra)
    for name in NAMES
]
setup(
    name="membuf-examples",
    ext_modules=cythonize(extensions, compiler_directives={"language_level": 3}),
    zip_safe=False,
)
