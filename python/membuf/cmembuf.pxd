# include/membuf.h under its C names, for `from membuf cimport cmembuf`.
#
# A faithful mirror of the header: every function, type and enum constant, in the header's order.
# python/tests/test_pxd_mirror.py parses include/membuf.h and fails when a name is missing here
# (or here and not there). Exception clauses are written out (`noexcept`: no membuf function
# raises a Python exception), so the declarations mean the same under Cython 0.29 and 3.
#
# Every function is `nogil`: membuf never touches Python objects. The one exception is an
# instance of the pymem family (membuf.pymem()), whose vtable calls PyMem_Malloc/Realloc/Free:
# its mb_malloc and mb_realloc need the GIL held (without it they fail, returning NULL) and its
# mb_free takes the GIL itself when it is not held. See python/README.md, "The GIL rule".

from libc.stdint cimport uint64_t

cdef extern from "membuf.h" nogil:
    enum:
        MEMBUF_VERSION_MAJOR
        MEMBUF_VERSION_MINOR
        MEMBUF_VERSION_PATCH

    ctypedef enum mb_status:
        MB_OK
        MB_ENOMEM
        MB_EINVAL
        MB_EOVERFLOW

    const char *mb_strerror(mb_status s) noexcept

    ctypedef struct mb_alloc:
        pass

    mb_alloc *mb_alloc_system_new() noexcept
    mb_alloc *mb_alloc_pool_new() noexcept
    mb_alloc *mb_alloc_guard_new(mb_alloc *inner) noexcept

    ctypedef struct mb_alloc_vtable:
        void *(*malloc)(void *ctx, size_t size) noexcept nogil
        void *(*realloc)(void *ctx, void *ptr, size_t size) noexcept nogil
        void (*free)(void *ctx, void *ptr) noexcept nogil
    mb_alloc *mb_alloc_custom_new(const mb_alloc_vtable *vt, void *ctx, const char *name) noexcept

    void mb_alloc_delete(mb_alloc *a) noexcept
    const char *mb_alloc_name(const mb_alloc *a) noexcept

    void *mb_malloc(mb_alloc *a, size_t size) noexcept
    void *mb_realloc(mb_alloc *a, void *p, size_t size) noexcept
    void mb_free(mb_alloc *a, void *p) noexcept

    ctypedef struct mb_alloc_stats:
        size_t live_blocks
        size_t live_bytes
        size_t peak_bytes
        uint64_t mallocs
        uint64_t reallocs
        uint64_t frees
        uint64_t failures
    void mb_alloc_get_stats(const mb_alloc *a, mb_alloc_stats *out) noexcept

    void mb_alloc_check(mb_alloc *a) noexcept

    ctypedef enum mb_fail_mode:
        MB_FAIL_ONCE
        MB_FAIL_ALWAYS
    void mb_alloc_fail_after(mb_alloc *a, uint64_t n, mb_fail_mode mode) noexcept
    void mb_alloc_fail_never(mb_alloc *a) noexcept

    ctypedef enum mb_violation:
        MB_DOUBLE_FREE
        MB_MISMATCHED_FREE
        MB_FOREIGN_FREE
        MB_OVERFLOW
        MB_UNDERFLOW
        MB_USE_AFTER_FREE
        MB_LEAK
        MB_MISALIGNED
    ctypedef void (*mb_violation_fn)(mb_violation v, const char *message, void *user) noexcept nogil
    mb_violation_fn mb_set_violation_handler(mb_violation_fn fn, void *user) noexcept
    mb_violation_fn mb_get_violation_handler(void **user) noexcept
    const char *mb_violation_name(mb_violation v) noexcept

    void mb_internal_fail_after(uint64_t n) noexcept
    void mb_internal_fail_never() noexcept

    ctypedef struct mb_rng:
        uint64_t s[4]
    void mb_rng_seed(mb_rng *r, uint64_t seed) noexcept
    uint64_t mb_rng_u64(mb_rng *r) noexcept
    double mb_rng_double(mb_rng *r) noexcept
    double mb_rng_normal(mb_rng *r) noexcept

    ctypedef struct mb_buf:
        double *data
        size_t len
        mb_alloc *alloc
    mb_status mb_buf_init(mb_buf *b, mb_alloc *a, size_t n) noexcept
    mb_status mb_buf_resize(mb_buf *b, size_t n) noexcept
    mb_status mb_buf_fill(mb_buf *b, double v) noexcept
    mb_status mb_buf_fill_normal(mb_buf *b, mb_rng *rng, double mean, double stddev) noexcept
    void mb_buf_free(mb_buf *b) noexcept
