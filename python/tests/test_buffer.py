"""membuf.Buffer: SomeMemory on membuf. Length, resize keeping contents (and everything on
failure), fill, fill_normal, free, the buffer protocol, bad input."""
import array
import math
import statistics

import numpy as np
import pytest

import membuf
from _helpers import close_all, make

FAMILIES = ["system", "pool", "pymem", "guard(pool)", "guard(pymem)"]


@pytest.fixture(params=FAMILIES)
def alloc(request):
    a = make(request.param)
    yield a
    close_all(a)


@pytest.mark.smoke
def test_resize_keeps_the_prefix(alloc):
    b = membuf.Buffer(alloc, 10)
    assert len(b) == 10
    for i in range(10):
        b[i] = i * 1.5
    b.resize(1000)
    assert len(b) == 1000 and b.tolist()[:10] == [i * 1.5 for i in range(10)]
    b.resize(3)
    assert b.tolist() == [0.0, 1.5, 3.0]
    b.resize(0)
    assert len(b) == 0 and alloc.stats().live_blocks == 0
    b.resize(2)
    assert len(b) == 2 and alloc.stats().live_blocks == 1
    b.free()


@pytest.mark.parametrize("always", [False, True])
def test_failed_resize_changes_nothing(alloc, always):
    b = membuf.Buffer(alloc, 16)
    b.fill_normal(7)
    before, stats = b.tolist(), alloc.stats()
    alloc.fail_after(0, always=always)
    with pytest.raises(MemoryError, match="out of memory"):
        b.resize(4096)
    alloc.fail_never()
    after = alloc.stats()
    assert b.tolist() == before and len(b) == 16
    assert (after.live_blocks, after.live_bytes) == (stats.live_blocks, stats.live_bytes)
    assert after.failures == stats.failures + 1
    b.resize(4096)
    assert b.tolist()[:16] == before
    b.free()


def test_failure_in_the_constructor_leaves_no_live_block(alloc):
    alloc.fail_after(0)
    with pytest.raises(MemoryError):
        membuf.Buffer(alloc, 100)
    s = alloc.stats()
    assert (s.live_blocks, s.failures) == (0, 1)


def test_fill_and_fill_normal(alloc):
    b = membuf.Buffer(alloc, 50000)
    b.fill(2.5)
    assert set(b.tolist()) == {2.5}
    b.fill(0.0)
    assert set(b.tolist()) == {0.0}
    b.fill_normal(42)
    first = b.tolist()
    b.fill_normal(42)
    assert b.tolist() == first  # deterministic for a seed
    assert abs(statistics.fmean(first)) < 0.02 and abs(statistics.pstdev(first) - 1) < 0.02
    b.fill_normal(42, mean=10.0, sd=2.0)
    assert b.tolist() == pytest.approx([10.0 + 2.0 * x for x in first], rel=1e-12, abs=1e-12)
    b.fill_normal(43)
    assert b.tolist() != first
    b.fill_normal(1, sd=0.0)
    assert set(b.tolist()) == {0.0}
    b.free()


def test_fill_normal_matches_the_c_api(raw_calls):
    with membuf.system() as a:
        b = membuf.Buffer(a, 1000)
        b.fill_normal(2 ** 64 - 1)
        assert b.tolist() == raw_calls.fill_normal_raw(a, 1000, 2 ** 64 - 1)
        b.free()


def test_free_is_idempotent_and_dealloc_frees(alloc):
    b = membuf.Buffer(alloc, 8)
    b.free()
    b.free()
    assert b.freed and len(b) == 0 and alloc.stats().live_blocks == 0
    assert alloc.stats().frees == 1
    c = membuf.Buffer(alloc, 8)
    assert alloc.stats().live_blocks == 1
    del c
    assert alloc.stats().live_blocks == 0 and alloc.stats().frees == 2


def test_a_freed_buffer_refuses_use(alloc):
    b = membuf.Buffer(alloc, 4)
    b.free()
    for call in (lambda: b.resize(3), lambda: b.fill(1.0), lambda: b.fill_normal(1),
                 lambda: memoryview(b), lambda: b.assign(array.array("d", [1.0] * 4))):
        with pytest.raises(ValueError, match="freed"):
            call()


@pytest.mark.smoke
def test_numpy_shares_the_memory():
    with membuf.pool() as a:
        b = membuf.Buffer(a, 1000)
        b.fill(1.0)
        arr = np.asarray(b)
        assert arr.dtype == np.float64 and arr.shape == (1000,)
        arr[3] = 7.0
        assert b[3] == 7.0
        b.fill(2.0)
        assert arr.sum() == 2000.0
        m = memoryview(b)
        assert (m.format, m.itemsize, m.ndim, m.shape, m.readonly) == ("d", 8, 1, (1000,), False)
        m.release()
        del arr
        b.free()


def test_resize_or_free_while_a_view_is_exported_raises_buffererror():
    with membuf.pool() as a:
        b = membuf.Buffer(a, 10)
        b.fill(3.0)
        arr = np.asarray(b)
        with pytest.raises(BufferError, match="view"):
            b.resize(20)
        with pytest.raises(BufferError, match="view"):
            b.free()
        assert len(b) == 10 and arr.tolist() == [3.0] * 10
        del arr
        b.resize(20)  # the view is gone
        m = memoryview(b)
        with pytest.raises(BufferError):
            b.resize(5)
        m.release()
        b.free()


def test_an_empty_buffer_has_an_empty_view():
    with membuf.system() as a:
        b = membuf.Buffer(a, 0)
        assert np.asarray(b).shape == (0,) and a.stats().live_blocks == 0
        b.free()


def test_assign_copies_from_the_buffer_protocol():
    with membuf.pool() as a:
        b = membuf.Buffer(a, 4)
        b.assign(array.array("d", [1.0, 2.0, 3.0, 4.0]))
        assert b.tolist() == [1.0, 2.0, 3.0, 4.0]
        b.assign(np.arange(4.0))
        assert b.tolist() == [0.0, 1.0, 2.0, 3.0]
        with pytest.raises(TypeError, match="buffer protocol, not 'list'"):
            b.assign([1.0, 2.0, 3.0, 4.0])
        with pytest.raises(ValueError, match="format 'd'"):
            b.assign(array.array("i", [1, 2, 3, 4]))
        with pytest.raises(ValueError, match="needs 4 doubles"):
            b.assign(np.zeros(5))
        with pytest.raises(ValueError, match="contiguous"):
            b.assign(np.zeros(8)[::2])
        assert b.tolist() == [0.0, 1.0, 2.0, 3.0]
        b.free()


def test_indexing():
    with membuf.system() as a:
        b = membuf.Buffer(a, 3)
        b.fill(1.0)
        b[-1] = 5.0
        assert b[2] == 5.0 and b[-3] == 1.0
        with pytest.raises(IndexError):
            b[3]
        with pytest.raises(IndexError):
            b[-4] = 1.0
        with pytest.raises(TypeError):
            b["x"]
        with pytest.raises(TypeError):
            b[0] = "x"
        b.free()


def test_bad_arguments_raise_and_lose_nothing():
    with membuf.pool() as a:
        with pytest.raises(ValueError, match=">= 0, got -1"):
            membuf.Buffer(a, -1)
        with pytest.raises(TypeError):
            membuf.Buffer(a, 2.5)
        with pytest.raises(TypeError):
            membuf.Buffer(a, "10")
        with pytest.raises(TypeError):
            membuf.Buffer("pool", 10)
        with pytest.raises(TypeError):
            membuf.Buffer(None, 10)
        with pytest.raises(MemoryError, match="size overflow"):
            membuf.Buffer(a, 2 ** 62)
        with pytest.raises(OverflowError):
            membuf.Buffer(a, 2 ** 64)
        assert a.stats() == membuf.Stats(0, 0, 0, 0, 0, 0, 0)
        b = membuf.Buffer(a, 5)
        b.fill(1.0)
        with pytest.raises(ValueError, match=">= 0"):
            b.resize(-5)
        with pytest.raises(TypeError):
            b.resize(None)
        with pytest.raises(MemoryError, match="size overflow"):
            b.resize(2 ** 62)
        with pytest.raises(MemoryError):
            b.resize(2 ** 60)  # more than any allocator serves: refused, not a crash
        with pytest.raises(TypeError):
            b.fill("x")
        with pytest.raises(ValueError, match="sd must be finite and >= 0"):
            b.fill_normal(1, sd=-1.0)
        with pytest.raises(ValueError, match="sd"):
            b.fill_normal(1, sd=math.nan)
        with pytest.raises(ValueError, match="mean must be finite"):
            b.fill_normal(1, mean=math.inf)
        with pytest.raises(ValueError, match="seed"):
            b.fill_normal(-1)
        with pytest.raises(TypeError):
            b.fill_normal(1.5)
        assert b.tolist() == [1.0] * 5 and len(b) == 5
        s = a.stats()
        assert (s.live_blocks, s.live_bytes) == (1, 40)
        b.free()
