"""membuf.recording(): violations as records, the process carrying on; the C default outside."""
import pytest

import membuf
from _helpers import run_python


@pytest.mark.smoke
def test_double_free_through_pool_is_recorded(raw_calls):
    with membuf.pool() as a:
        p = raw_calls.malloc(a, 64)
        raw_calls.free(a, p)
        with membuf.recording() as rec:
            raw_calls.free(a, p)
        assert rec.kinds == ["double-free"]
        assert rec[0].kind == "double-free"
        assert "(64 bytes) allocated by pool#" in rec[0].message
        assert rec[0].message.startswith("double-free: block 0x")
        s = a.stats()
        assert (s.live_blocks, s.frees) == (0, 1)  # refused: nothing counted twice
        q = raw_calls.malloc(a, 64)  # and the process carries on
        raw_calls.free(a, q)


@pytest.mark.parametrize("family", ["guard(pymem)", "pool", "guard(pool)", "guard(system)"])
def test_double_free_is_reported(raw_calls, family):
    from _helpers import close_all, make
    a = make(family)
    keep = raw_calls.malloc(a, 16)  # another live block: the report must not rest on "none live"
    p = raw_calls.malloc(a, 64)
    raw_calls.free(a, p)
    with membuf.recording() as rec:
        raw_calls.free(a, p)
    assert [r.kind for r in rec] == ["double-free"], list(rec)
    assert f"allocated by {family}#" in rec[0].message
    raw_calls.free(a, keep)
    assert a.stats().live_blocks == 0
    close_all(a)


def test_the_leak_report_at_close(raw_calls):
    a = membuf.pool()
    raw_calls.malloc(a, 24)
    raw_calls.malloc(a, 40)
    with membuf.recording() as rec:
        a.close()
    assert rec.kinds == ["leak"]
    assert "2 blocks (64 bytes) still live in pool#" in rec[0].message


def test_guard_reports_an_overflow_on_check(raw_calls):
    with membuf.pool() as inner:
        g = membuf.guard(inner)
        p = raw_calls.malloc(g, 32)
        raw_calls.write(p, 32, 0x41)  # one byte past the end: the rear canary
        with membuf.recording() as rec:
            g.check()
        assert rec.kinds == ["overflow"], list(rec)
        assert "32 bytes" in rec[0].message
        with membuf.recording() as rec:
            raw_calls.free(g, p)  # damage is reported once per block; the free goes ahead
        assert rec.kinds == []
        assert g.stats().live_blocks == 0
        g.close()


def test_nested_recordings_record_into_the_innermost(raw_calls):
    with membuf.pool() as a:
        p = raw_calls.malloc(a, 8)
        raw_calls.free(a, p)
        with membuf.recording() as outer:
            with membuf.recording() as inner:
                raw_calls.free(a, p)
            assert len(inner) == 1 and len(outer) == 0
            raw_calls.free(a, p)
            assert len(outer) == 1
            assert not inner.active and outer.active
        assert not outer.active


def test_a_recording_puts_back_the_handler_it_replaced(raw_calls):
    # A downstream module's C handler with its user pointer: restored exactly after the block.
    with membuf.pool() as a:
        p = raw_calls.malloc(a, 8)
        raw_calls.free(a, p)
        raw_calls.install_counter()
        try:
            before = raw_calls.counted()
            with membuf.recording() as rec:
                raw_calls.free(a, p)
            assert rec.kinds == ["double-free"] and raw_calls.counted() == before
            raw_calls.free(a, p)  # after the block: the module's handler, with its user pointer
            assert raw_calls.counted() == before + 1
        finally:
            raw_calls.uninstall_counter()


def test_a_recording_cannot_be_entered_twice():
    rec = membuf.recording()
    with rec:
        with pytest.raises(RuntimeError, match="already active"):
            rec.__enter__()


def test_records_clear_and_iterate(raw_calls):
    with membuf.pool() as a:
        p = raw_calls.malloc(a, 8)
        raw_calls.free(a, p)
        with membuf.recording() as rec:
            raw_calls.free(a, p)
            raw_calls.free(a, p)
            assert [r.kind for r in rec] == ["double-free"] * 2 and bool(rec)
            rec.clear()
            assert len(rec) == 0 and not rec


def test_violation_names():
    assert [membuf.violation_name(i) for i in range(8)] == [
        "double-free", "mismatched-free", "foreign-free", "overflow", "underflow",
        "use-after-free", "leak", "misaligned"]


@pytest.mark.smoke
def test_outside_recording_the_c_default_aborts():
    code = """if 1:
        import membuf, raw_calls
        a = membuf.pool()
        p = raw_calls.malloc(a, 64)
        raw_calls.free(a, p)
        with membuf.recording() as rec:
            raw_calls.free(a, p)
        assert rec.kinds == ["double-free"]
        print("recorded", flush=True)
        raw_calls.free(a, p)  # the default handler again: one line, then abort()
        print("not reached", flush=True)
    """
    r = run_python(code)
    assert r.returncode == -6, (r.returncode, r.stdout, r.stderr)
    assert r.stdout == "recorded\n"
    assert "membuf: double-free: block 0x" in r.stderr


def test_leak_report_outside_recording_aborts_too():
    r = run_python("import membuf, raw_calls\n"
                   "a = membuf.system()\nraw_calls.malloc(a, 8)\na.close()\nprint('not reached')")
    assert r.returncode == -6 and "membuf: leak: 1 block (8 bytes)" in r.stderr
    assert "not reached" not in r.stdout
