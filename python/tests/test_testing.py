"""membuf.testing: the pytest fixture (run through pytester), fail_after and fault_loop."""
import pytest

import membuf
from membuf.testing import FaultLoopError, fail_after, fault_loop

INNER_TESTS = '''
import membuf, raw_calls

def test_clean(membuf_recorder):
    a = membuf_recorder.pool()
    b = membuf.Buffer(a, 10)
    b.fill_normal(1)
    b.free()

def test_leaks(membuf_recorder):
    a = membuf_recorder.system()
    raw_calls.malloc(a, 24)

def test_double_free(membuf_recorder):
    a = membuf_recorder.pool()
    p = raw_calls.malloc(a, 32)
    raw_calls.free(a, p)
    raw_calls.free(a, p)

def test_expected_violation(membuf_recorder):
    a = membuf_recorder.guard(membuf_recorder.pymem())
    p = raw_calls.malloc(a, 32)
    raw_calls.free(a, p)
    with membuf_recorder.expect("double-free"):
        raw_calls.free(a, p)

def test_fails_by_itself(membuf_recorder):
    a = membuf_recorder.pool()
    raw_calls.malloc(a, 8)
    assert 1 == 2, "the test's own failure"

def test_allocator_still_in_use(membuf_recorder):
    a = membuf_recorder.pool()
    KEEP.append(membuf.Buffer(a, 4))

def test_release_the_buffer():
    KEEP.pop().free()

KEEP = []
'''


def test_the_fixture_fails_tests_that_leak_or_misuse(pytester):
    pytester.makeconftest('pytest_plugins = ["membuf.testing"]')
    pytester.makepyfile(test_inner=INNER_TESTS)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=3, failed=4, errors=0)
    out = result.stdout.str()
    for name, outcome in [("test_clean", "PASSED"), ("test_leaks", "FAILED"),
                          ("test_double_free", "FAILED"), ("test_expected_violation", "PASSED"),
                          ("test_fails_by_itself", "FAILED"),
                          ("test_allocator_still_in_use", "FAILED"),
                          ("test_release_the_buffer", "PASSED")]:
        assert f"test_inner.py::{name} {outcome}" in out, name
    assert "membuf reported 1 violation(s) or leak(s)" in out
    assert "leak: leak: 1 block (24 bytes) still live in system#" in out
    assert "double-free: double-free: block 0x" in out
    assert "the test's own failure" in out
    assert "still in use at the end of the test: cannot close the pool allocator" in out


def test_expect_rejects_the_wrong_report(pytester):
    pytester.makeconftest('pytest_plugins = ["membuf.testing"]')
    pytester.makepyfile(test_inner='''
import raw_calls
def test_wrong_kind(membuf_recorder):
    a = membuf_recorder.pool()
    p = raw_calls.malloc(a, 32)
    raw_calls.free(a, p)
    with membuf_recorder.expect("leak"):
        raw_calls.free(a, p)
''')
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    assert "expected 1 leak report(s), got: double-free" in result.stdout.str()


def test_fail_after_context_manager():
    with membuf.pool() as a:
        with fail_after(a, 1):
            b = membuf.Buffer(a, 4)
            with pytest.raises(MemoryError):
                membuf.Buffer(a, 4)
            c = membuf.Buffer(a, 4)
        with fail_after(a, 0, always=True):
            for _ in range(3):
                with pytest.raises(MemoryError):
                    membuf.Buffer(a, 4)
        d = membuf.Buffer(a, 4)  # served again after the block
        assert a.stats().failures == 4
        for x in (b, c, d):
            x.free()


def test_fault_loop_counts_the_requests_of_an_operation():
    with membuf.system() as a:
        def three_requests():
            b = membuf.Buffer(a, 1)
            b.resize(2)
            b.resize(3)
        assert fault_loop(a, three_requests) == 3
        assert fault_loop(a, three_requests, always=True) == 3
        assert a.stats().live_blocks == 0


def test_fault_loop_rejects_a_memoryerror_without_a_failure():
    with membuf.system() as a:
        def spurious():
            raise MemoryError("not from membuf")
        with pytest.raises(FaultLoopError, match="but no request to system failed"):
            fault_loop(a, spurious)


def test_fault_loop_catches_a_leak_on_the_error_path():
    with membuf.pool() as a:
        held = []

        def leaky():
            held.append(membuf.Buffer(a, 2))  # kept on failure of the second request
            membuf.Buffer(a, 2).free()
            held.pop().free()
        with pytest.raises(FaultLoopError, match=r"k=1 \(once\): after the MemoryError pool has "
                                                 r"1 live blocks"):
            fault_loop(a, leaky)
        held.pop().free()


def test_fault_loop_catches_a_changed_state():
    with membuf.system() as a:
        b = membuf.Buffer(a, 4)
        b.fill(1.0)

        def clobbers():
            b.fill(0.0)  # changes the state before the request that fails
            b.resize(8)
        with pytest.raises(FaultLoopError, match="changed the state"):
            fault_loop(a, clobbers, state=b.tolist)
        b.free()


def test_fault_loop_carries_on_past_a_swallowed_failure():
    with membuf.system() as a:
        def retries():
            try:
                membuf.Buffer(a, 2).free()
            except MemoryError:
                membuf.Buffer(a, 2).free()  # a retry that succeeds
        assert fault_loop(a, retries) == 1  # k=0 failed and was absorbed; k=1 ran clean
        assert a.stats().failures == 1


def test_importing_the_state_machine_is_lazy():
    import membuf.testing as t
    assert t.BufferMachine.__name__ == "BufferMachine"
    with pytest.raises(AttributeError):
        t.no_such_name
