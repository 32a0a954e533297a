/* The public allocation entry points that have a fast path: a pool instance's small requests are
 * served by the pool's inline paths (pool_fast.h: no vtable call, no stack frame); everything
 * else, and anything the pool declines, goes through the generic layer (alloc.c). */
#include "internal.h"

#include "pool_fast.h"

void *mb_malloc(mb_alloc *a, size_t size)
{
    void *p = mb__pool_try_malloc(a, size);
    return MB__LIKELY(p != NULL) ? p : mb__malloc_generic(a, size);
}

void mb_free(mb_alloc *a, void *p)
{
    if (MB__LIKELY(mb__pool_try_free(a, p)))
        return;
    mb__free_generic(a, p);
}
