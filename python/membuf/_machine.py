"""membuf.testing.BufferMachine: a Hypothesis state machine over an allocator and objects that own
doubles through it, checked against a model after every step (imported on first use: needs
Hypothesis).

Out of the box it drives membuf.Buffer on a pool. To point it at an extension type of your own,
subclass it and override the adapter methods (create, resize, contents, store, release, and
blocks_for if your type keeps a block while empty), set exact_counts = False unless your type
makes exactly the requests a Buffer makes, and collect the subclass's TestCase:

    class SomeMemoryMachine(membuf.testing.BufferMachine):
        exact_counts = False
        has_fill_normal = False
        def make_allocator(self):       return membuf.pymem()
        def create(self, alloc, n):      return SomeMemory(n, alloc)
        def resize(self, obj, n):        obj.resize(n)
        def contents(self, obj):         return obj.tolist()
        def store(self, obj, i, value):  obj[i] = value
        def fill(self, obj, value):      [obj.__setitem__(i, value) for i in range(len(obj))]
        def release(self, obj):          pass          # dropping the reference frees it
        def blocks_for(self, n):         return 1      # mb_malloc(0) is a live block too

    TestSomeMemory = SomeMemoryMachine.TestCase
"""
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import membuf
from membuf._cleanup import close_or_defer as _close

#: Settings for running the machine in CI: no example database written, no per-example deadline
#: and no too-slow health check (sanitizer runs and loaded machines are slow), reproducible
#: examples.
machine_settings = settings(database=None, deadline=None, derandomize=True,
                            suppress_health_check=[HealthCheck.too_slow])

SLOTS = 4
UNKNOWN = None  # a model element whose value is unspecified (fresh or grown memory)

sizes = st.integers(min_value=0, max_value=40)
values = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
# None: no failure injected; k: the first k requests succeed, the next one fails.
fail_points = st.none() | st.integers(min_value=0, max_value=2)


class BufferMachine(RuleBasedStateMachine):
    """Rules: create, resize, fill, store, fill_normal, release, check, each with an optional
    injected failure where the operation allocates. Invariants after every step: contents equal
    the model (elements the model knows), live blocks and bytes equal the model's, the failure
    counter counts exactly the injected failures that fired, and no violation was reported."""

    #: Check mallocs, reallocs, frees and peak_bytes exactly (true for membuf.Buffer only).
    exact_counts = True
    #: The fill_normal rule applies (the type has fill_normal(seed)).
    has_fill_normal = True
    #: The steps of the most recent run (for tests of shrinking): one entry per rule.
    last_steps = []

    # --- the adapter: override these to test your own type ---
    def make_allocator(self):
        return membuf.pool()

    def create(self, alloc, n):
        return membuf.Buffer(alloc, n)

    def resize(self, obj, n):
        obj.resize(n)

    def contents(self, obj):
        return obj.tolist()

    def store(self, obj, i, value):
        obj[i] = value

    def fill(self, obj, value):
        obj.fill(value)

    def fill_normal(self, obj, seed):
        obj.fill_normal(seed)

    def release(self, obj):
        obj.free()

    def blocks_for(self, n):
        """Live blocks an object of n elements holds."""
        return 1 if n else 0

    # --- the machine ---
    def __init__(self):
        super().__init__()
        self.rec = membuf.recording().__enter__()
        self.alloc = self.make_allocator()
        self.objs = [None] * SLOTS     # the objects under test
        self.model = [None] * SLOTS    # their expected contents (lists; UNKNOWN elements)
        self.failures = 0
        self.counts = {"mallocs": 0, "reallocs": 0, "frees": 0, "peak_bytes": 0}
        type(self).last_steps = self.steps = []

    def _live_model(self):
        live = [m for m in self.model if m is not None]
        return sum(self.blocks_for(len(m)) for m in live), 8 * sum(len(m) for m in live)

    def _bump_peak(self):
        self.counts["peak_bytes"] = max(self.counts["peak_bytes"], self._live_model()[1])

    def _injected(self, fail_at, always, op):
        """Runs op with a failure injected at request fail_at (None: none); returns
        (raised MemoryError, a failure fired), after checking that one implies the other."""
        before = self.alloc.stats().failures
        if fail_at is not None:
            self.alloc.fail_after(fail_at, always=always)
        raised = False
        try:
            op()
        except MemoryError:
            raised = True
        finally:
            self.alloc.fail_never()
        fired = self.alloc.stats().failures - before
        self.failures += fired
        assert raised == (fired > 0), (
            f"MemoryError raised: {raised}, but {fired} injected failure(s) fired")
        return raised, fired > 0

    @rule(slot=st.integers(0, SLOTS - 1), n=sizes, fail_at=fail_points, always=st.booleans())
    def create_object(self, slot, n, fail_at, always):
        self.steps.append(("create", slot, n, fail_at, always))
        if self.objs[slot] is not None:
            return
        made = []
        raised, _ = self._injected(fail_at, always,
                                   lambda: made.append(self.create(self.alloc, n)))
        if raised:
            if self.exact_counts:
                self.counts["mallocs"] += 1
            return
        self.objs[slot] = made[0]
        self.model[slot] = [UNKNOWN] * n
        if self.exact_counts and n:
            self.counts["mallocs"] += 1
        self._bump_peak()

    @rule(slot=st.integers(0, SLOTS - 1), n=sizes, fail_at=fail_points, always=st.booleans())
    def resize_object(self, slot, n, fail_at, always):
        self.steps.append(("resize", slot, n, fail_at, always))
        obj, old = self.objs[slot], self.model[slot]
        if obj is None:
            return
        raised, _ = self._injected(fail_at, always, lambda: self.resize(obj, n))
        if self.exact_counts and n != len(old):
            # A Buffer resized to 0 frees its block; to any other new length it reallocs.
            self.counts["reallocs" if n else "frees"] += 1
        if raised:
            return  # the invariants check that nothing changed
        self.model[slot] = old[:n] + [UNKNOWN] * (n - len(old))
        self._bump_peak()

    @rule(slot=st.integers(0, SLOTS - 1), value=values)
    def fill_object(self, slot, value):
        self.steps.append(("fill", slot, value))
        if self.objs[slot] is None:
            return
        self.fill(self.objs[slot], value)
        self.model[slot] = [value] * len(self.model[slot])

    @rule(slot=st.integers(0, SLOTS - 1), index=st.integers(0, 63), value=values)
    def store_element(self, slot, index, value):
        self.steps.append(("store", slot, index, value))
        m = self.model[slot]
        if m is None or not m:
            return
        i = index % len(m)
        self.store(self.objs[slot], i, value)
        m[i] = value

    def _fill_normal_applies(self):
        return self.has_fill_normal

    @precondition(_fill_normal_applies)
    @rule(slot=st.integers(0, SLOTS - 1), seed=st.integers(0, 2 ** 64 - 1))
    def fill_normal_object(self, slot, seed):
        self.steps.append(("fill_normal", slot, seed))
        if self.objs[slot] is None:
            return
        self.fill_normal(self.objs[slot], seed)
        self.model[slot] = _reference_normal(len(self.model[slot]), seed)

    @rule(slot=st.integers(0, SLOTS - 1))
    def release_object(self, slot):
        self.steps.append(("release", slot))
        obj, m = self.objs[slot], self.model[slot]
        if obj is None:
            return
        self.release(obj)
        self.objs[slot] = self.model[slot] = None
        del obj
        if self.exact_counts and m:
            self.counts["frees"] += 1

    @rule()
    def check_allocator(self):
        self.steps.append(("check",))
        self.alloc.check()

    @invariant()
    def contents_match_the_model(self):
        for obj, m in zip(self.objs, self.model):
            if obj is None:
                continue
            got = self.contents(obj)
            assert len(got) == len(m), f"length {len(got)}, model {len(m)}"
            for i, (g, want) in enumerate(zip(got, m)):
                assert want is UNKNOWN or g == want, f"element {i}: {g!r}, model {want!r}"

    @invariant()
    def statistics_match_the_model(self):
        s = self.alloc.stats()
        blocks, nbytes = self._live_model()
        assert (s.live_blocks, s.live_bytes) == (blocks, nbytes), (
            f"live {s.live_blocks} blocks / {s.live_bytes} bytes, model {blocks} / {nbytes}")
        assert s.failures == self.failures, f"failures {s.failures}, model {self.failures}"
        if self.exact_counts:
            got = {k: getattr(s, k) for k in self.counts}
            assert got == self.counts, f"stats {got}, model {self.counts}"

    @invariant()
    def no_violation_reported(self):
        assert not self.rec, f"violations reported: {list(self.rec)}"

    def teardown(self):
        try:
            for slot, obj in enumerate(self.objs):
                if obj is not None:
                    self.release(obj)
            self.objs = self.model = None
            obj = None
            _close(self.alloc)
        finally:
            self.rec.__exit__(None, None, None)
        assert not self.rec, f"violations reported at teardown: {list(self.rec)}"


_reference_alloc = None


def _reference_normal(n, seed):
    """What fill_normal(seed) must produce for n elements: membuf's generator through a Buffer
    on an allocator of its own (so the machine's statistics are untouched)."""
    global _reference_alloc
    if _reference_alloc is None or _reference_alloc.closed:
        _reference_alloc = membuf.system()
    b = membuf.Buffer(_reference_alloc, n)
    try:
        b.fill_normal(seed)
        return b.tolist()
    finally:
        b.free()
