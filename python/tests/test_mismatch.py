"""A block freed through another membuf instance than its own is reported as mismatched-free,
naming both instances, inside recording(); the block is left alone and the process carries on.
A double free through guard(pymem) or pool is reported as double-free (pymalloc alone is silent).

Each pair runs in a forked child: if a family passes a foreign block on to its underlying
allocator instead of recognising it (libc free() of a PyMem block aborts), that pair's test
fails with the child's stderr and the rest of the run goes on.
"""
import itertools
import re

import pytest

import membuf
from _helpers import close_all, in_child, make

FAMILIES = ["pymem", "system", "pool", "guard(pymem)", "guard(pool)"]
PAIRS = [(a, b) for a, b in itertools.product(FAMILIES, FAMILIES) if a != b]
PATTERN = bytes(range(1, 65))


def free_through_the_wrong_instance(src_family, dst_family):
    import raw_calls
    with membuf.recording() as rec:
        src, dst = make(src_family), make(dst_family)
        own = raw_calls.malloc(dst, 48)  # dst holds a live block of its own
        p = raw_calls.malloc(src, 64)
        for i, byte in enumerate(PATTERN):
            raw_calls.write(p, i, byte)
        before = (src.stats(), dst.stats())
        raw_calls.free(dst, p)  # the mismatch
        reported = [tuple(r) for r in rec]
        after = (src.stats(), dst.stats())
        intact = bytes(raw_calls.read(p, i) for i in range(64)) == PATTERN
        # The process carries on: the block is still src's, both instances keep working.
        raw_calls.free(src, p)
        raw_calls.free(dst, own)
        q = raw_calls.malloc(dst, 32)
        raw_calls.free(dst, q)
        end = (src.stats().live_blocks, dst.stats().live_blocks)
        close_all(src)
        close_all(dst)
        later = [tuple(r) for r in rec][len(reported):]
    return {"reported": reported, "before": [tuple(s) for s in before],
            "after": [tuple(s) for s in after], "intact": intact, "end": end, "later": later}


@pytest.mark.parametrize("src,dst", PAIRS, ids=[f"{a}-via-{b}" for a, b in PAIRS])
def test_mismatched_free_names_both_instances(src, dst):
    r = in_child(free_through_the_wrong_instance, src, dst)
    assert [k for k, _ in r["reported"]] == ["mismatched-free"], r["reported"]
    message = r["reported"][0][1]
    assert re.match(rf"mismatched-free: block 0x[0-9a-f]+ \(64 bytes\) allocated by "
                    rf"{re.escape(src)}#\d+, freed by {re.escape(dst)}#\d+", message), message
    (src_before, dst_before), (src_after, dst_after) = r["before"], r["after"]
    assert src_after == src_before, "the owner's statistics changed"
    live, nbytes, frees = 0, 1, 5
    assert (dst_after[live], dst_after[nbytes], dst_after[frees]) == \
        (dst_before[live], dst_before[nbytes], dst_before[frees]), "the receiver counted it"
    assert r["intact"], "the block was touched"
    assert r["end"] == (0, 0) and r["later"] == [], r


@pytest.mark.smoke
@pytest.mark.parametrize("family", ["guard(pymem)", "pool"])
def test_double_free_is_reported_and_the_process_carries_on(raw_calls, family):
    a = make(family)
    p = raw_calls.malloc(a, 64)
    raw_calls.free(a, p)
    with membuf.recording() as rec:
        raw_calls.free(a, p)
    assert rec.kinds == ["double-free"]
    assert re.match(rf"double-free: block 0x[0-9a-f]+ \(64 bytes\) allocated by "
                    rf"{re.escape(family)}#\d+ was already freed", rec[0].message), rec[0].message
    q = raw_calls.malloc(a, 64)
    raw_calls.free(a, q)
    s = a.stats()
    assert (s.live_blocks, s.frees) == (0, 2)
    close_all(a)
