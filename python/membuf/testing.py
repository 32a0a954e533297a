"""membuf.testing: checks for Cython extension authors' own test suites (pytest).

- The `membuf_recorder` fixture: the test runs inside membuf.recording(); the allocators it hands
  out (recorder.pool(), .system(), .pymem(), .guard(inner), or any passed to recorder.track())
  are closed when the test body returns, and the test fails, listing the records, if any
  violation or leak was reported that the test did not declare with recorder.expect(kind).
  Enable it in conftest.py:  pytest_plugins = ["membuf.testing"]
- fail_after(alloc, n, always=False): a context manager arming fault injection on one instance.
- fault_loop(alloc, operation, setup=..., state=...): the SQLite-style loop: fail the k-th
  request for k = 0, 1, 2, ... until the operation succeeds, asserting after each failure that
  it raised MemoryError, changed nothing and leaked nothing.
- BufferMachine (needs Hypothesis; imported on first use): a RuleBasedStateMachine over an
  allocator and objects holding doubles, with a model of contents and statistics and injected
  failures that must change nothing. Subclass it to point it at an extension type of your own.
"""
import contextlib
import gc
import itertools

import pytest

import membuf
from membuf._cleanup import close_or_defer, close_pending

__all__ = ["BufferMachine", "FaultLoopError", "Recorder", "close_or_defer", "close_pending",
           "fail_after", "fault_loop", "machine_settings", "membuf_recorder"]


@contextlib.contextmanager
def fail_after(alloc, n, always=False):
    """Inside the block, alloc's next n requests succeed and then the next one fails
    (always=False) or every later one (always=True); normal service again on leaving."""
    alloc.fail_after(n, always=always)
    try:
        yield alloc
    finally:
        if not alloc.closed:
            alloc.fail_never()


class FaultLoopError(AssertionError):
    """A fault_loop check failed: which run (k), and what was wrong."""


def _live(stats):
    return stats.live_blocks, stats.live_bytes


def _settle(alloc, base):
    """alloc's live blocks and bytes, after a garbage collection if they differ from base."""
    now = _live(alloc.stats())
    if now != base:
        gc.collect()
        now = _live(alloc.stats())
    return now


def fault_loop(alloc, operation, *, setup=None, state=None, teardown=None, always=False,
               limit=10000):
    """The SQLite-style fault-injection loop on one allocator instance.

    For k = 0, 1, 2, ...: the first k requests to alloc succeed and the next fails (with
    always=True, every later one fails too), while operation runs. Every run where a request
    failed must raise MemoryError, leave state (if given) equal to what it was before, and
    leave alloc's live blocks and bytes as they were. The loop ends at the first run in which no
    request failed (the operation then succeeded with every request served) and returns k, the
    number of runs that failed.

    Without setup, operation() and state() take no argument and run on whatever they close
    over. With setup, each run starts from a fresh object: obj = setup() (requests made by setup
    are served), then operation(obj), state(obj); teardown(obj) (default: drop the reference)
    ends each run, after which alloc's live blocks and bytes must be back where they were before
    setup: nothing leaked. Raises FaultLoopError (an AssertionError) naming k on any breach.
    """
    for k in itertools.count():
        if k > limit:
            raise FaultLoopError(f"fault_loop: the operation still failed after {limit} runs")
        base = _live(alloc.stats())
        obj = setup() if setup is not None else None
        args = (obj,) if setup is not None else ()
        before = state(*args) if state is not None else None
        s0 = alloc.stats()
        failed = None
        with fail_after(alloc, k, always):
            try:
                operation(*args)
            except MemoryError as e:
                failed = repr(e)  # not e: its traceback would keep obj alive
        s1 = alloc.stats()
        injected = s1.failures > s0.failures
        where = f"run k={k} ({'always' if always else 'once'})"
        problem = None
        if failed is not None and not injected:
            problem = f"{where}: {failed} but no request to {alloc.name} failed"
        elif failed is not None and _live(s1) != _live(s0):
            problem = (f"{where}: after the MemoryError {alloc.name} has {s1.live_blocks} live "
                       f"blocks ({s1.live_bytes} bytes), before the operation "
                       f"{s0.live_blocks} ({s0.live_bytes} bytes)")
        elif failed is not None and state is not None:
            after = state(*args)
            if after != before:
                problem = (f"{where}: the failed operation changed the state: before "
                           f"{before!r}, after {after!r}")
        if setup is not None:
            # Torn down before any error is raised, so the error does not keep obj alive.
            if teardown is not None:
                teardown(obj)
            obj = args = None
            now = _settle(alloc, base)
            if problem is None and now != base:
                problem = (f"{where}: leak: {now[0] - base[0]} block(s) ({now[1] - base[1]} "
                           f"bytes) of {alloc.name} still live after teardown")
        if problem is not None:
            raise FaultLoopError(problem)
        if failed is None and not injected:
            return k
    raise AssertionError("not reached")


class Recorder:
    """What the membuf_recorder fixture yields: records (the membuf.Recording of the test),
    allocator factories that register what they make, expect(kind) for violations the test
    means to cause, and finish() (called for you) that closes everything and checks."""

    def __init__(self, records):
        self.records = records
        self._allocs = []
        self._expected = set()
        self.finished = False

    def track(self, alloc):
        """Registers an allocator made elsewhere: it is closed (and leak-checked) at the end."""
        self._allocs.append(alloc)
        return alloc

    def system(self):
        return self.track(membuf.system())

    def pool(self):
        return self.track(membuf.pool())

    def pymem(self):
        return self.track(membuf.pymem())

    def guard(self, inner):
        return self.track(membuf.guard(inner))

    @contextlib.contextmanager
    def expect(self, kind, count=1):
        """The block must report exactly count violations, all of this kind; they do not fail
        the test."""
        start = len(self.records)
        yield
        new = list(self.records)[start:]
        if len(new) != count or any(r.kind != kind for r in new):
            raise AssertionError(f"expected {count} {kind} report(s), got: " +
                                 (_format(new) or "none"))
        self._expected.update(range(start, start + count))

    def unexpected(self):
        """The records not declared with expect()."""
        return [r for i, r in enumerate(self.records) if i not in self._expected]

    def finish(self, strict=True):
        """Closes the registered allocators (newest first, so guards before their inner ones)
        and, if strict, raises AssertionError listing every unexpected record (violations and
        leaks) and every allocator that could not be closed because something still uses it."""
        if self.finished:
            return
        self.finished = True
        problems = []
        for alloc in reversed(self._allocs):
            try:
                alloc.close()
            except RuntimeError as e:
                if not close_or_defer(alloc):  # retried after a garbage collection
                    problems.append(str(e))
        self._allocs.clear()
        bad = self.unexpected()
        if strict and (bad or problems):
            lines = [f"membuf reported {len(bad)} violation(s) or leak(s):"] if bad else []
            lines += ["  " + _format([r]) for r in bad]
            lines += ["still in use at the end of the test: " + p for p in problems]
            raise AssertionError("\n".join(lines))


def _format(records):
    return "; ".join(f"{r.kind}: {r.message}" for r in records)


@pytest.fixture
def membuf_recorder():
    """Runs the test inside membuf.recording(); fails it on any violation or leak (see Recorder).
    """
    with membuf.recording() as rec:
        recorder = Recorder(rec)
        yield recorder
        # Reached here only if the check did not already run after the test body (plugin not
        # registered, or the test failed): close what was handed out; fail only in the first case.
        recorder.finish(strict=not getattr(recorder, "_test_failed", False))


@pytest.hookimpl(trylast=True)
def pytest_runtest_call(item):
    """After a test body that passed, the recorder's check runs as part of the test itself, so a
    leak or violation fails the test (rather than erroring in teardown)."""
    funcargs = getattr(item, "funcargs", None) or {}
    recorder = funcargs.get("membuf_recorder")
    if isinstance(recorder, Recorder):
        recorder.finish()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    if call.when == "call" and outcome.get_result().failed:
        recorder = (getattr(item, "funcargs", None) or {}).get("membuf_recorder")
        if isinstance(recorder, Recorder):
            recorder._test_failed = True


def __getattr__(name):
    # The state machine needs Hypothesis: imported only when asked for.
    if name in ("BufferMachine", "machine_settings"):
        from membuf import _machine
        return getattr(_machine, name)
    raise AttributeError(f"module 'membuf.testing' has no attribute {name!r}")
