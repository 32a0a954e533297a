# cython: language_level=3, embedsignature=True
"""membuf's allocators, Buffer and violation recording (the extension module behind `membuf`)."""

cimport cython
from cpython.buffer cimport PyBUF_FORMAT, PyBUF_ND, PyBUF_STRIDES, PyBUF_C_CONTIGUOUS
from cpython.buffer cimport PyObject_GetBuffer, PyBuffer_Release
from libc.stdint cimport uint64_t
from libc.stdio cimport fprintf, fflush, stderr
from libc.stdlib cimport abort
from libc.string cimport memcpy

from membuf cimport cmembuf

import collections
import operator

cdef extern from "Python.h":
    # Declared here rather than taken from cpython.mem / cpython.pystate: the pymem vtable runs
    # as C code that may be reached without the GIL, so it must be callable as nogil (it checks
    # for the GIL itself before touching the PyMem API).
    void *_PyMem_Malloc "PyMem_Malloc"(size_t n) nogil
    void *_PyMem_Realloc "PyMem_Realloc"(void *p, size_t n) nogil
    void _PyMem_Free "PyMem_Free"(void *p) nogil
    int PyGILState_Check() nogil
    ctypedef int PyGILState_STATE
    PyGILState_STATE PyGILState_Ensure() nogil
    void PyGILState_Release(PyGILState_STATE) nogil
    Py_ssize_t PY_SSIZE_T_MAX

__version__ = "%d.%d.%d" % (cmembuf.MEMBUF_VERSION_MAJOR, cmembuf.MEMBUF_VERSION_MINOR,
                            cmembuf.MEMBUF_VERSION_PATCH)

Stats = collections.namedtuple(
    "Stats", "live_blocks live_bytes peak_bytes mallocs reallocs frees failures")
Stats.__doc__ = "An allocator's counters (mb_alloc_stats), as returned by Allocator.stats()."

Record = collections.namedtuple("Record", "kind message")
Record.__doc__ = ("One violation: kind is mb_violation_name's string ('double-free', "
                  "'mismatched-free', 'leak', ...), message the C library's one-line report.")

cdef object _TOKEN = object()


# --- the pymem family: PyMem_Malloc / PyMem_Realloc / PyMem_Free through a custom vtable ---
#
# The GIL rule: PyMem_* must be called with the GIL held. mb_malloc and mb_realloc on a pymem
# instance called without it fail (NULL, counted in stats().failures; a realloc leaves the block
# intact) instead of corrupting the interpreter's allocator; mb_free without it takes the GIL for
# the call (a free cannot fail, and skipping it would leak).

cdef void *_pymem_malloc(void *ctx, size_t size) noexcept nogil:
    if not PyGILState_Check():
        return NULL
    return _PyMem_Malloc(size)

cdef void *_pymem_realloc(void *ctx, void *p, size_t size) noexcept nogil:
    if not PyGILState_Check():
        return NULL
    return _PyMem_Realloc(p, size)

cdef void _pymem_free(void *ctx, void *p) noexcept nogil:
    cdef PyGILState_STATE st
    if PyGILState_Check():
        _PyMem_Free(p)
        return
    st = PyGILState_Ensure()
    _PyMem_Free(p)
    PyGILState_Release(st)

cdef cmembuf.mb_alloc_vtable _pymem_vtable
_pymem_vtable.malloc = _pymem_malloc
_pymem_vtable.realloc = _pymem_realloc
_pymem_vtable.free = _pymem_free


cdef size_t _count_arg(object n, str what) except? <size_t>-1:
    """n as a count of elements or requests: an int (TypeError otherwise), >= 0 (ValueError)."""
    n = operator.index(n)
    if n < 0:
        raise ValueError(f"{what} must be >= 0, got {n}")
    if n > PY_SSIZE_T_MAX:
        raise OverflowError(f"{what} {n} is too large (more than {PY_SSIZE_T_MAX})")
    return <size_t>n


@cython.no_gc_clear
cdef class Allocator:
    """A membuf allocator instance (mb_alloc). Made by membuf.system(), pool(), guard(inner) or
    pymem(); closed by close() or on leaving a `with` block; closed when garbage collected if it
    is still open. A closed allocator raises ValueError on every call but close() and name."""

    def __cinit__(self, token=None):
        if token is not _TOKEN:
            raise TypeError("membuf.Allocator cannot be created directly: use membuf.system(), "
                            "membuf.pool(), membuf.guard(inner) or membuf.pymem()")
        self.ptr = NULL
        self.name = ""
        self.inner = None

    cdef int _check_open(self) except -1:
        if self.ptr is NULL:
            raise ValueError(f"operation on a closed membuf allocator ({self.name})")
        return 0

    cdef int retain(self) except -1:
        self._check_open()
        self._users += 1
        return 0

    cdef void release(self) noexcept:
        if self._users > 0:
            self._users -= 1

    @property
    def closed(self):
        """True once close() has deleted the instance."""
        return self.ptr is NULL

    def stats(self):
        """The instance's counters as a Stats tuple: live_blocks, live_bytes, peak_bytes, mallocs,
        reallocs, frees, failures."""
        cdef cmembuf.mb_alloc_stats s
        self._check_open()
        cmembuf.mb_alloc_get_stats(self.ptr, &s)
        return Stats(s.live_blocks, s.live_bytes, s.peak_bytes, s.mallocs, s.reallocs, s.frees,
                     s.failures)

    def check(self):
        """Sweeps the live blocks (and a guard's quarantine) now; corruption is reported as a
        violation (recorded inside membuf.recording(), otherwise the C default: abort)."""
        self._check_open()
        cmembuf.mb_alloc_check(self.ptr)

    def fail_after(self, n, always=False):
        """Fault injection: the next n requests (malloc/realloc) succeed, then the next one fails
        (always=False) or every later one until fail_never() (always=True)."""
        cdef uint64_t count
        self._check_open()
        n = operator.index(n)
        if n < 0:
            raise ValueError(f"fail_after: n must be >= 0, got {n}")
        if n >= 2 ** 64:
            raise OverflowError(f"fail_after: n {n} does not fit in 64 bits")
        count = n
        cmembuf.mb_alloc_fail_after(
            self.ptr, count, cmembuf.MB_FAIL_ALWAYS if always else cmembuf.MB_FAIL_ONCE)

    def fail_never(self):
        """Ends fault injection: every later request is served normally."""
        self._check_open()
        cmembuf.mb_alloc_fail_never(self.ptr)

    def close(self):
        """Deletes the instance (mb_alloc_delete); a no-op if already closed. Blocks still live
        are reported as one leak, as the C library does. Raises RuntimeError, leaving the
        allocator open, while a guard, a Buffer or an extension object still uses it."""
        cdef cmembuf.mb_alloc *p = self.ptr
        if p is NULL:
            return
        if self._guards or self._users:
            raise RuntimeError(
                f"cannot close the {self.name} allocator: still used by {self._guards} open "
                f"guard(s) and {self._users} Buffer(s) or extension object(s); free or close "
                f"them first")
        self.ptr = NULL
        cmembuf.mb_alloc_delete(p)
        if self.inner is not None:
            self.inner._guards -= 1

    def __dealloc__(self):
        # Nothing can still use the instance: guards and Buffers hold a reference to it.
        if self.ptr is not NULL:
            cmembuf.mb_alloc_delete(self.ptr)
            self.ptr = NULL
            if self.inner is not None:
                self.inner._guards -= 1

    def __enter__(self):
        self._check_open()
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __repr__(self):
        state = "closed" if self.ptr is NULL else "open"
        return f"<membuf.Allocator {self.name!r} ({state})>"

    def __reduce__(self):
        raise TypeError("a membuf.Allocator cannot be pickled or copied")


cdef Allocator _wrap(cmembuf.mb_alloc *p, Allocator inner=None):
    if p is NULL:
        raise MemoryError("membuf: the allocator instance could not be created")
    cdef Allocator a = Allocator(_TOKEN)
    a.ptr = p
    a.name = cmembuf.mb_alloc_name(p).decode("utf-8", "replace")
    a.inner = inner
    if inner is not None:
        inner._guards += 1
    return a


def system():
    """A new instance of the system family: the C library's malloc/realloc/free."""
    return _wrap(cmembuf.mb_alloc_system_new())


def pool():
    """A new instance of the pool family (pymalloc-style small-block pools)."""
    return _wrap(cmembuf.mb_alloc_pool_new())


def guard(Allocator inner not None):
    """A new guard instance around inner (canaries, quarantine, checked frees). The guard keeps
    inner alive, and inner.close() raises until the guard is closed."""
    inner._check_open()
    return _wrap(cmembuf.mb_alloc_guard_new(inner.ptr), inner)


def pymem():
    """A new instance of the pymem family: PyMem_Malloc/PyMem_Realloc/PyMem_Free through a
    custom vtable. Its malloc and realloc need the GIL (without it they fail); free takes it."""
    return _wrap(cmembuf.mb_alloc_custom_new(&_pymem_vtable, NULL, b"pymem"))


# --- Buffer: SomeMemory on membuf ---

cdef double _empty_data = 0.0
cdef char *_FORMAT_D = "d"
# Below this many elements a fill keeps the GIL: releasing it costs more than the fill.
cdef size_t _NOGIL_FILL = 16384


@cython.no_gc_clear
cdef class Buffer:
    """Buffer(alloc, n): n doubles owned through the allocator alloc (mb_buf), contents
    unspecified. len(), resize(n), fill(v), fill_normal(seed, mean, sd), free(); indexing and
    tolist(); the buffer protocol with format 'd' (numpy.asarray(buf) shares the memory). The
    Buffer keeps alloc alive and open until it is freed or garbage collected."""

    def __cinit__(self, Allocator alloc not None, n):
        cdef size_t count = _count_arg(n, "Buffer size")
        cdef cmembuf.mb_status st
        alloc.retain()
        self._retained = True
        self.alloc = alloc
        st = cmembuf.mb_buf_init(&self.buf, alloc.ptr, count)
        if st != cmembuf.MB_OK:
            _raise_status(st, f"Buffer of {count} doubles")

    def __dealloc__(self):
        if self._retained:
            cmembuf.mb_buf_free(&self.buf)
            self.alloc.release()
            self._retained = False

    cdef int _check_usable(self, str what) except -1:
        if self._freed:
            raise ValueError(f"{what} on a freed membuf.Buffer")
        return 0

    cdef int _check_no_views(self, str what) except -1:
        if self._exports:
            raise BufferError(f"cannot {what} a membuf.Buffer while {self._exports} view(s) of "
                              f"it are exported (memoryview, numpy array) or a fill is running; "
                              f"release them first")
        return 0

    @property
    def freed(self):
        """True once free() was called."""
        return self._freed

    def __len__(self):
        return self.buf.len

    def resize(self, n):
        """Resizes to n doubles keeping min(old, n) of them; new ones are unspecified. On
        failure raises MemoryError and the Buffer keeps its old block, length and contents."""
        self._check_usable("resize()")
        cdef size_t count = _count_arg(n, "Buffer size")
        self._check_no_views("resize")
        cdef cmembuf.mb_status st = cmembuf.mb_buf_resize(&self.buf, count)
        if st != cmembuf.MB_OK:
            _raise_status(st, f"resize to {count} doubles")

    def fill(self, double v):
        """Sets every element to v."""
        self._check_usable("fill()")
        if self.buf.len < _NOGIL_FILL:
            cmembuf.mb_buf_fill(&self.buf, v)
            return
        self._exports += 1
        with nogil:
            cmembuf.mb_buf_fill(&self.buf, v)
        self._exports -= 1

    def fill_normal(self, seed, double mean=0.0, double sd=1.0):
        """Sets every element to mean + sd * a standard normal draw, from membuf's generator
        seeded with seed (an int in [0, 2**64)): the same seed gives the same values."""
        cdef cmembuf.mb_rng rng
        cdef cmembuf.mb_status st
        self._check_usable("fill_normal()")
        seed = operator.index(seed)
        if not 0 <= seed < 2 ** 64:
            raise ValueError(f"fill_normal: seed must be in [0, 2**64), got {seed}")
        if not (sd >= 0 and sd < float("inf")):
            raise ValueError(f"fill_normal: sd must be finite and >= 0, got {sd}")
        if not (-float("inf") < mean < float("inf")):
            raise ValueError(f"fill_normal: mean must be finite, got {mean}")
        cmembuf.mb_rng_seed(&rng, <uint64_t>seed)
        if self.buf.len < _NOGIL_FILL:
            st = cmembuf.mb_buf_fill_normal(&self.buf, &rng, mean, sd)
        else:
            self._exports += 1
            with nogil:
                st = cmembuf.mb_buf_fill_normal(&self.buf, &rng, mean, sd)
            self._exports -= 1
        if st != cmembuf.MB_OK:
            _raise_status(st, "fill_normal")

    def assign(self, src):
        """Copies src, an object with the buffer protocol holding len(self) doubles (format 'd',
        C-contiguous: a numpy float64 array, array.array('d'), another Buffer)."""
        cdef Py_buffer view
        self._check_usable("assign()")
        try:
            PyObject_GetBuffer(src, &view, PyBUF_FORMAT | PyBUF_C_CONTIGUOUS)
        except TypeError:
            raise TypeError(f"assign() needs an object supporting the buffer protocol, not "
                            f"{type(src).__name__!r}") from None
        except BufferError as e:
            raise ValueError(f"assign() needs a C-contiguous buffer of doubles: {e}") from None
        try:
            fmt = (<bytes>view.format).decode("ascii") if view.format is not NULL else "B"
            if fmt not in ("d", "<d", "=d", "@d") or view.itemsize != sizeof(double):
                raise ValueError(f"assign() needs a buffer of doubles (format 'd'), got format "
                                 f"{fmt!r}")
            if <size_t>(view.len // sizeof(double)) != self.buf.len:
                raise ValueError(f"assign() needs {self.buf.len} doubles, got "
                                 f"{view.len // sizeof(double)}")
            if self.buf.len:
                memcpy(self.buf.data, view.buf, self.buf.len * sizeof(double))
        finally:
            PyBuffer_Release(&view)

    def free(self):
        """Frees the block and lets go of the allocator; a no-op if already freed. The Buffer is
        then empty and unusable (ValueError). BufferError while a view is exported."""
        if self._freed:
            return
        self._check_no_views("free")
        cmembuf.mb_buf_free(&self.buf)
        self._freed = True
        if self._retained:
            self._retained = False
            self.alloc.release()

    def tolist(self):
        """The elements as a list of floats."""
        return [self.buf.data[i] for i in range(self.buf.len)]

    cdef Py_ssize_t _index(self, object i) except -1:
        cdef Py_ssize_t k = operator.index(i)
        cdef Py_ssize_t n = self.buf.len
        if k < 0:
            k += n
        if not 0 <= k < n:
            raise IndexError(f"membuf.Buffer index {i} out of range (length {n})")
        return k

    def __getitem__(self, i):
        return self.buf.data[self._index(i)]

    def __setitem__(self, i, double v):
        self.buf.data[self._index(i)] = v

    def __getbuffer__(self, Py_buffer *view, int flags):
        self._check_usable("a buffer view")
        self._shape[0] = self.buf.len
        self._strides[0] = sizeof(double)
        view.buf = <void *>self.buf.data if self.buf.data is not NULL else <void *>&_empty_data
        view.obj = self
        view.len = self.buf.len * sizeof(double)
        view.itemsize = sizeof(double)
        view.readonly = 0
        view.ndim = 1
        view.format = _FORMAT_D if flags & PyBUF_FORMAT else NULL
        view.shape = self._shape if flags & PyBUF_ND else NULL
        view.strides = self._strides if (flags & PyBUF_STRIDES) == PyBUF_STRIDES else NULL
        view.suboffsets = NULL
        view.internal = NULL
        self._exports += 1

    def __releasebuffer__(self, Py_buffer *view):
        self._exports -= 1

    def __repr__(self):
        if self._freed:
            return f"<membuf.Buffer freed, allocator {self.alloc.name!r}>"
        return f"<membuf.Buffer of {self.buf.len} doubles, allocator {self.alloc.name!r}>"

    def __reduce__(self):
        raise TypeError("a membuf.Buffer cannot be pickled")


cdef int _raise_status(cmembuf.mb_status st, str what) except -1:
    reason = cmembuf.mb_strerror(st).decode("ascii", "replace")
    if st == cmembuf.MB_ENOMEM:
        raise MemoryError(f"{what}: {reason}")
    if st == cmembuf.MB_EOVERFLOW:
        raise MemoryError(f"{what}: {reason} (more bytes than a size_t can count)")
    raise ValueError(f"{what}: {reason}")


# --- recording(): violations as records instead of the C default (abort) ---

cdef list _active = []                        # active Recordings, innermost last
cdef cmembuf.mb_violation_fn _saved_handler = NULL   # the handler before the outermost one
cdef void *_saved_user = NULL                        # and its user pointer


cdef void _on_violation(cmembuf.mb_violation v, const char *message, void *user) noexcept with gil:
    if not _active:
        # Not reachable while the handler is installed only by Recording; behave as the default.
        fprintf(stderr, b"membuf: %s\n", message)
        fflush(stderr)
        abort()
    (<Recording>_active[-1])._add(
        Record(cmembuf.mb_violation_name(v).decode("ascii", "replace"),
               message.decode("utf-8", "replace")))


cdef class Recording:
    """The records of one `with membuf.recording() as rec:` block: a read-only sequence of
    Record(kind, message). Nested blocks record into the innermost one only."""
    cdef list _records
    cdef bint _entered

    def __cinit__(self):
        self._records = []

    cdef void _add(self, record) noexcept:
        try:
            self._records.append(record)
        except BaseException:
            pass

    def __enter__(self):
        global _saved_handler, _saved_user
        if self._entered:
            raise RuntimeError("this membuf.recording() block is already active")
        if not _active:
            _saved_handler = cmembuf.mb_get_violation_handler(&_saved_user)
            cmembuf.mb_set_violation_handler(_on_violation, NULL)
        _active.append(self)
        self._entered = True
        return self

    def __exit__(self, *exc):
        if not self._entered:
            return False
        self._entered = False
        _active.remove(self)
        if not _active:
            # Exactly what was installed before (NULL: the C default).
            cmembuf.mb_set_violation_handler(_saved_handler, _saved_user)
        return False

    @property
    def active(self):
        return self._entered

    @property
    def kinds(self):
        """The kinds of the records, in order."""
        return [r.kind for r in self._records]

    def clear(self):
        """Forgets the records collected so far."""
        del self._records[:]

    def __len__(self):
        return len(self._records)

    def __getitem__(self, i):
        return self._records[i]

    def __iter__(self):
        return iter(list(self._records))

    def __bool__(self):
        return bool(self._records)

    def __repr__(self):
        return f"<membuf.Recording {self._records!r}>"


def recording():
    """`with membuf.recording() as rec:`: every violation reported inside the block becomes a
    Record in rec (rec[i].kind, rec[i].message) and the process carries on; on leaving the block
    the previous handler (the C default: print and abort) is back. Process-wide: a violation
    in another thread meanwhile is recorded too."""
    return Recording()


def internal_fail_after(n):
    """Fault injection for membuf's own allocations (instance structures, maps, arenas, the
    pool's large blocks): the next n succeed, then every one fails until internal_fail_never().
    Process-wide, for tests: set it while no other thread uses membuf."""
    n = operator.index(n)
    if not 0 <= n < 2 ** 64:
        raise ValueError(f"internal_fail_after: n must be in [0, 2**64), got {n}")
    cmembuf.mb_internal_fail_after(<uint64_t>n)


def internal_fail_never():
    """Ends internal_fail_after()."""
    cmembuf.mb_internal_fail_never()


def violation_name(int v):
    """mb_violation_name for a violation number."""
    return cmembuf.mb_violation_name(<cmembuf.mb_violation>v).decode("ascii", "replace")
