"""membuf.system/pool/guard/pymem: names, statistics, fault injection, close, lifetimes, bad input."""
import gc
import tracemalloc

import pytest

import membuf
from _helpers import close_all, make

ALL = ["system", "pool", "pymem", "guard(system)", "guard(pool)", "guard(pymem)",
       "guard(guard(pool))"]


@pytest.mark.smoke
@pytest.mark.parametrize("family", ALL)
def test_name_stats_and_close(family):
    a = make(family)
    assert a.name == family
    assert isinstance(a, membuf.Allocator) and not a.closed
    assert a.stats() == membuf.Stats(0, 0, 0, 0, 0, 0, 0)
    b = membuf.Buffer(a, 100)
    b.resize(150)
    s = a.stats()
    assert (s.live_blocks, s.live_bytes, s.peak_bytes) == (1, 1200, 1200)
    assert (s.mallocs, s.reallocs, s.frees, s.failures) == (1, 1, 0, 0)
    b.free()
    s = a.stats()
    assert (s.live_blocks, s.live_bytes, s.peak_bytes, s.frees) == (0, 0, 1200, 1)
    a.check()
    close_all(a)
    assert a.closed
    a.close()  # idempotent
    assert a.name == family and repr(a) == f"<membuf.Allocator {family!r} (closed)>"


def test_stats_is_a_named_tuple_with_the_contract_fields():
    with membuf.pool() as a:
        s = a.stats()
    assert s._fields == ("live_blocks", "live_bytes", "peak_bytes", "mallocs", "reallocs",
                         "frees", "failures")


@pytest.mark.parametrize("family", ["system", "pool", "pymem", "guard(pool)"])
def test_fail_after_once_and_always(family):
    a = make(family)
    a.fail_after(2)
    kept = [membuf.Buffer(a, 4), membuf.Buffer(a, 4)]
    with pytest.raises(MemoryError):
        membuf.Buffer(a, 4)
    kept.append(membuf.Buffer(a, 4))  # once: served again
    a.fail_after(1, always=True)
    kept.append(membuf.Buffer(a, 4))
    for _ in range(3):
        with pytest.raises(MemoryError):
            membuf.Buffer(a, 4)
    a.fail_never()
    kept.append(membuf.Buffer(a, 4))
    s = a.stats()
    assert (s.live_blocks, s.failures, s.mallocs) == (5, 4, 9)
    for b in kept:
        b.free()
    close_all(a)


def test_context_manager_closes():
    with membuf.pool() as a:
        assert not a.closed
    assert a.closed
    with pytest.raises(ValueError, match="closed"):
        with a:
            pass


def test_guard_keeps_its_inner_allocator_alive_and_open():
    inner = membuf.pymem()
    g = membuf.guard(inner)
    assert g.inner is inner
    with pytest.raises(RuntimeError, match="guard"):
        inner.close()
    assert not inner.closed
    b = membuf.Buffer(g, 8)
    b.fill(1.5)
    del inner
    gc.collect()
    assert g.inner.stats().live_blocks == 1  # the guard's block lives in the inner instance
    b.free()
    g.close()
    g.inner.close()
    assert g.inner.closed


def test_closing_an_allocator_a_buffer_uses_raises_and_keeps_it():
    a = membuf.system()
    b = membuf.Buffer(a, 10)
    b.fill(2.0)
    with pytest.raises(RuntimeError, match="Buffer"):
        a.close()
    assert not a.closed and b.tolist() == [2.0] * 10
    b.free()
    a.close()
    assert a.closed


def test_a_buffer_keeps_its_allocator_alive():
    b = membuf.Buffer(membuf.pool(), 5)
    gc.collect()
    assert b.alloc.stats().live_blocks == 1
    a = b.alloc
    del b
    assert a.stats().live_blocks == 0  # freed on deallocation
    a.close()


def test_a_closed_allocator_refuses_everything_but_close_and_name():
    a = membuf.pool()
    a.close()
    for call in (a.stats, a.check, a.fail_never, lambda: a.fail_after(1),
                 lambda: membuf.Buffer(a, 1), lambda: membuf.guard(a)):
        with pytest.raises(ValueError, match="closed membuf allocator"):
            call()


def test_bad_arguments():
    with pytest.raises(TypeError, match="cannot be created directly"):
        membuf.Allocator()
    with pytest.raises(TypeError):
        membuf.guard(42)
    with pytest.raises(TypeError):
        membuf.guard(None)
    with membuf.pool() as a:
        with pytest.raises(ValueError, match=">= 0"):
            a.fail_after(-1)
        with pytest.raises(TypeError):
            a.fail_after(1.5)
        with pytest.raises(TypeError):
            a.fail_after("3")
        with pytest.raises(OverflowError):
            a.fail_after(2 ** 64)
        assert a.stats().failures == 0


def test_allocators_cannot_be_pickled():
    import pickle
    with membuf.pool() as a:
        with pytest.raises(TypeError):
            pickle.dumps(a)


@pytest.mark.smoke
def test_pymem_is_a_real_pymem_family():
    # tracemalloc traces the PyMem domains, not libc malloc: a pymem block shows, a system one
    # does not (PYTHON-NOTES: a 1 MiB malloc adds 64 traced bytes).
    n = 1 << 17  # doubles: 1 MiB
    tracemalloc.start()
    try:
        with membuf.pymem() as pm, membuf.system() as sy:
            base = tracemalloc.get_traced_memory()[0]
            b = membuf.Buffer(pm, n)
            grew_pymem = tracemalloc.get_traced_memory()[0] - base
            b.free()
            base = tracemalloc.get_traced_memory()[0]
            c = membuf.Buffer(sy, n)
            grew_system = tracemalloc.get_traced_memory()[0] - base
            c.free()
    finally:
        tracemalloc.stop()
    assert grew_pymem >= 8 * n
    assert grew_system < 4096


def test_pymem_without_the_gil_fails_safely(raw_calls):
    with membuf.pymem() as pm:
        assert raw_calls.malloc_nogil(pm, 64) == 0  # no GIL: refused, not a crash
        s = pm.stats()
        assert (s.live_blocks, s.failures) == (0, 1)
        p = raw_calls.malloc(pm, 64)
        assert p
        assert raw_calls.realloc_nogil(pm, p, 128) == 0  # refused; the block is intact
        raw_calls.free_nogil(pm, p)  # free takes the GIL itself
        s = pm.stats()
        assert (s.live_blocks, s.frees, s.failures) == (0, 1, 2)
    with membuf.pool() as po:  # the other families need no GIL
        p = raw_calls.malloc_nogil(po, 64)
        assert p
        raw_calls.free_nogil(po, p)
        assert po.stats().live_blocks == 0


@pytest.mark.parametrize("family", ["system", "pool", "pymem", "guard(pool)"])
def test_internal_failures_raise_memoryerror_and_lose_nothing(family):
    # membuf's own allocations failing: creating an instance raises MemoryError; a request whose
    # bookkeeping cannot grow fails like any other, and the instance stays consistent.
    for k in range(64):
        membuf.internal_fail_after(k)
        try:
            try:
                a = make(family)
            except MemoryError:
                continue
        finally:
            membuf.internal_fail_never()
        break
    else:
        raise AssertionError("the instance was never created")
    assert k > 0  # creating an instance needs at least one internal allocation
    kept = []
    membuf.internal_fail_after(0)
    try:
        for _ in range(64):
            try:
                kept.append(membuf.Buffer(a, 64))
            except MemoryError:
                pass
    finally:
        membuf.internal_fail_never()
    s = a.stats()
    assert s.live_blocks == len(kept) and s.live_bytes == 512 * len(kept)
    assert s.mallocs == 64 and s.failures == 64 - len(kept)
    for b in kept:
        b.free()
    assert a.stats().live_blocks == 0
    with membuf.recording() as rec:
        close_all(a)
    assert len(rec) == 0, list(rec)


def test_internal_fail_after_rejects_bad_counts():
    with pytest.raises(ValueError):
        membuf.internal_fail_after(-1)
    with pytest.raises(TypeError):
        membuf.internal_fail_after(1.0)
