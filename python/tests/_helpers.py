"""Helpers shared by the tests."""
import faulthandler
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import traceback

import membuf

# ci/python.sh's slow legs (ASan) scale the Hypothesis example counts by this factor.
SCALE = float(os.environ.get("MEMBUF_TEST_SCALE", "1"))


def examples(n):
    """n Hypothesis examples, scaled by MEMBUF_TEST_SCALE (at least 10)."""
    return max(10, int(n * SCALE))


FAMILIES = {
    "system": membuf.system,
    "pool": membuf.pool,
    "pymem": membuf.pymem,
}


def make(family):
    """An allocator of a family named as mb_alloc_name names it: 'pool', 'guard(pymem)', ..."""
    if family.startswith("guard(") and family.endswith(")"):
        inner = make(family[len("guard("):-1])
        return membuf.guard(inner)
    return FAMILIES[family]()


def close_all(alloc):
    """Closes alloc and, for a guard, the allocators inside it."""
    while alloc is not None:
        inner = alloc.inner
        alloc.close()
        alloc = inner


def in_child(fn, *args):
    """Runs fn(*args) in a forked child process and returns its (picklable) result. A crash of
    the child (a signal, or an exit without a result) or an exception in it raises
    AssertionError here with the child's stderr, so one test fails and the run goes on."""
    r, w = os.pipe()
    with tempfile.TemporaryFile() as err:
        pid = os.fork()
        if pid == 0:  # the child
            code = 0
            try:
                os.close(r)
                os.dup2(err.fileno(), 2)
                os.environ["LIBC_FATAL_STDERR_"] = "1"  # glibc's abort messages: to stderr
                faulthandler.enable(file=err)  # a Python traceback on SIGSEGV/SIGABRT
                try:
                    result = ("ok", fn(*args))
                except BaseException:
                    result = ("exception", traceback.format_exc())
                data = pickle.dumps(result)
                view = memoryview(data)
                while view:
                    view = view[os.write(w, view):]
            except BaseException:
                code = 3
            finally:
                os._exit(code)
        os.close(w)
        chunks = []
        with os.fdopen(r, "rb") as f:
            chunks.append(f.read())
        _, status = os.waitpid(pid, 0)
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    data = b"".join(chunks)
    if os.WIFSIGNALED(status):
        sig = signal.Signals(os.WTERMSIG(status)).name
        raise AssertionError(f"the child process was killed by {sig}; its stderr:\n{stderr}")
    if not data:
        raise AssertionError(f"the child process exited with status {os.WEXITSTATUS(status)} "
                             f"and no result; its stderr:\n{stderr}")
    kind, value = pickle.loads(data)
    if kind == "exception":
        raise AssertionError(f"exception in the child process:\n{value}\nstderr:\n{stderr}")
    return value


def run_python(code, env=None, timeout=120):
    """Runs `sys.executable -c code` with the same PYTHONPATH; returns the CompletedProcess."""
    full = dict(os.environ)
    full.update(env or {})
    return subprocess.run([sys.executable, "-c", code], env=full, capture_output=True,
                          text=True, timeout=timeout)
