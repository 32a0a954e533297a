# cython: language_level=3
# membuf's C API called by hand from a downstream module, the way the seed calls malloc(n) and
# free(p): blocks are handed to Python as integer addresses. Used by the tests to free a block
# through the wrong instance or twice (the library must report it), and to call the pymem family
# without the GIL (it must fail safely). Never use addresses like this in real code.
from libc.stdint cimport uintptr_t

from membuf cimport cmembuf
from membuf._core cimport Allocator


def malloc(Allocator alloc not None, size_t size):
    """mb_malloc(alloc.ptr, size) as an address (0: NULL)."""
    return <uintptr_t>cmembuf.mb_malloc(alloc.ptr, size)


def realloc(Allocator alloc not None, uintptr_t p, size_t size):
    """mb_realloc(alloc.ptr, p, size) as an address (0: NULL, p intact)."""
    return <uintptr_t>cmembuf.mb_realloc(alloc.ptr, <void *>p, size)


def free(Allocator alloc not None, uintptr_t p):
    """mb_free(alloc.ptr, p)."""
    cmembuf.mb_free(alloc.ptr, <void *>p)


def malloc_nogil(Allocator alloc not None, size_t size):
    """mb_malloc with the GIL released."""
    cdef cmembuf.mb_alloc *a = alloc.ptr
    cdef void *p
    with nogil:
        p = cmembuf.mb_malloc(a, size)
    return <uintptr_t>p


def realloc_nogil(Allocator alloc not None, uintptr_t p, size_t size):
    """mb_realloc with the GIL released."""
    cdef cmembuf.mb_alloc *a = alloc.ptr
    cdef void *q
    with nogil:
        q = cmembuf.mb_realloc(a, <void *>p, size)
    return <uintptr_t>q


def free_nogil(Allocator alloc not None, uintptr_t p):
    """mb_free with the GIL released."""
    cdef cmembuf.mb_alloc *a = alloc.ptr
    with nogil:
        cmembuf.mb_free(a, <void *>p)


def write(uintptr_t p, size_t offset, unsigned char value):
    """Stores one byte at p + offset (to plant an overflow into a guard's canary)."""
    (<unsigned char *>p)[offset] = value


def fill_normal_raw(Allocator alloc not None, size_t n, unsigned long long seed):
    """An mb_buf of n doubles through alloc, filled by mb_buf_fill_normal and freed: the values."""
    cdef cmembuf.mb_buf b
    cdef cmembuf.mb_rng rng
    if cmembuf.mb_buf_init(&b, alloc.ptr, n) != cmembuf.MB_OK:
        cmembuf.mb_buf_free(&b)
        raise MemoryError()
    cmembuf.mb_rng_seed(&rng, seed)
    cmembuf.mb_buf_fill_normal(&b, &rng, 0.0, 1.0)
    values = [b.data[i] for i in range(n)]
    cmembuf.mb_buf_free(&b)
    return values


def read(uintptr_t p, size_t offset):
    """The byte at p + offset."""
    return (<unsigned char *>p)[offset]


# A C handler of the downstream module's own, with a user pointer: counts the reports it gets.
cdef int _counted = 0

cdef void _count(cmembuf.mb_violation v, const char *message, void *user) noexcept nogil:
    (<int *>user)[0] += 1


def install_counter():
    """Installs the counting handler (user pointer: the count); returns nothing."""
    cmembuf.mb_set_violation_handler(_count, &_counted)


def counted():
    """Reports the counting handler got so far."""
    return _counted


def uninstall_counter():
    """Back to the C default."""
    cmembuf.mb_set_violation_handler(NULL, NULL)
