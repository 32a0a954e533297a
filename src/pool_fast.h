/* The pool's two inline entry points, for the public mb_malloc and mb_free (dispatch.c): they
 * serve a pool instance's small requests without a vtable call or a stack frame, and decline
 * everything else (another family, a large request, fault injection armed, no free block at
 * hand, a pointer that is not a live small block), leaving it to the generic layer. The blocks
 * they hand out and take back are counted here, in the pool (fast_in / fast_out), and reach the
 * statistics through the family's fast_counts. Internal: nothing here is installed. */
#ifndef MEMBUF_POOL_FAST_H
#define MEMBUF_POOL_FAST_H

#include "pool_impl.h"

/* A block of size bytes if a is a pool instance that can give one at once; NULL otherwise, with
 * nothing done. */
static inline void *mb__pool_try_malloc(mb_alloc *a, size_t size)
{
    int ci;
    if (MB__UNLIKELY(a == NULL) || a->fam != &mb__pool_family ||
        MB__UNLIKELY(a->fail_state != MB__FAIL_OFF) || (ci = class_of(size)) < 0)
        return NULL;
    pool_inst *pi = (pool_inst *)a;
    void *p = small_alloc_fast(pi, ci, size);
    if (MB__LIKELY(p != NULL)) {
        pi->fast_in++;
        mb__stats_bytes_in(&a->stats, size);
    }
    return p;
}

/* Frees p and returns true if it is a live small block of the pool instance a (p NULL never is
 * one); false otherwise, with nothing done. */
static inline bool mb__pool_try_free(mb_alloc *a, void *p)
{
    if (MB__UNLIKELY(a == NULL) || a->fam != &mb__pool_family)
        return false;
    pool_inst *pi = (pool_inst *)a;
    uint16_t tag;
    pool_hdr *pl = live_small_block(pi, p, &tag);
    if (MB__UNLIKELY(pl == NULL))
        return false;
    pi->fast_out++;
    a->stats.bytes_out += tag & TAG_SIZE;
    small_free_block(pi, pl, p, tag & TAG_SIZE);
    return true;
}

#endif /* MEMBUF_POOL_FAST_H */
