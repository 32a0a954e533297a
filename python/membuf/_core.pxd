# The package's extension types, for Cython code: `from membuf._core cimport Allocator, Buffer`.
#
#     cdef double *p = <double *>cmembuf.mb_malloc(alloc.ptr, n * sizeof(double))
#
# alloc.ptr is the instance's mb_alloc * (NULL once the allocator is closed: every mb_ call then
# fails or does nothing). An extension object that keeps blocks of an allocator should hold a
# reference to it and call alloc.retain() once (it raises ValueError if the allocator is closed)
# and alloc.release() once when it lets go of its blocks (in __dealloc__): until then
# alloc.close() raises instead of deleting the instance under the object's feet.

cimport cython
from membuf cimport cmembuf


@cython.no_gc_clear
cdef class Allocator:
    cdef cmembuf.mb_alloc *ptr
    cdef readonly str name
    # The allocator a guard wraps (kept alive by the guard); None for the other families.
    cdef readonly Allocator inner
    cdef Py_ssize_t _guards   # open guards wrapping this instance
    cdef Py_ssize_t _users    # Buffers and extension objects that called retain()

    cdef int retain(self) except -1
    cdef void release(self) noexcept
    cdef int _check_open(self) except -1


@cython.no_gc_clear
cdef class Buffer:
    # buf.data: buf.len doubles, owned through alloc.ptr (read-only for callers).
    cdef cmembuf.mb_buf buf
    cdef readonly Allocator alloc
    cdef bint _freed          # free() was called: the allocator is released
    cdef bint _retained       # alloc.retain() succeeded
    cdef Py_ssize_t _exports  # buffer-protocol views, and fills running without the GIL
    cdef Py_ssize_t _shape[1]
    cdef Py_ssize_t _strides[1]

    cdef int _check_usable(self, str what) except -1
    cdef int _check_no_views(self, str what) except -1
    cdef Py_ssize_t _index(self, object i) except -1
