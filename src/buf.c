/* mb_buf: a length and a block of doubles owned through an allocator instance. Apart from
 * mb_buf_init, which always resets b first, every error leaves the buffer exactly as it was (same
 * data, same len, same contents). */
#include "internal.h"

#include "track.h"

#include <math.h>
#include <string.h>

/* Sets *b to an empty buffer of a before anything else, so mb_buf_free is always safe after it.
 * The size is checked before the allocator sees the request. */
mb_status mb_buf_init(mb_buf *b, mb_alloc *a, size_t n)
{
    if (!b)
        return MB_EINVAL;
    b->data = NULL;
    b->len = 0;
    b->alloc = a;
    if (!a)
        return MB_EINVAL;
    if (n == 0)
        return MB_OK;
    size_t bytes;
    if (!mb__mul(n, sizeof(double), &bytes))
        return MB_EOVERFLOW;
    double *d = mb_malloc(a, bytes);
    if (!d)
        return MB_ENOMEM;
    b->data = d;
    b->len = n;
    return MB_OK;
}

/* The one place a buffer's block changes size. n 0 frees the block (unlike mb_realloc, which
 * keeps a live empty block); failure leaves b untouched because mb_realloc keeps p intact. */
mb_status mb_buf_resize(mb_buf *b, size_t n)
{
    if (!b || !b->alloc)
        return MB_EINVAL;
    if (n == b->len)
        return MB_OK;
    if (n == 0) {
        mb_buf_free(b);
        return MB_OK;
    }
    size_t bytes;
    if (!mb__mul(n, sizeof(double), &bytes))
        return MB_EOVERFLOW;
    /* data NULL: mb_realloc allocates (counted as a realloc call in the statistics). */
    double *d = mb_realloc(b->alloc, b->data, bytes);
    if (!d)
        return MB_ENOMEM; /* b still owns its old block */
    b->data = d;
    b->len = n;
    return MB_OK;
}

/* An empty buffer (len 0) is a successful no-op, whatever its allocator. */
mb_status mb_buf_fill(mb_buf *b, double v)
{
    if (!b)
        return MB_EINVAL;
    double *d = b->data;
    size_t n = b->len;
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    if (bits == 0) {
        if (n)
            memset(d, 0, n * sizeof *d); /* +0.0 is all-zero bits (IEEE 754) */
        return MB_OK;
    }
#if defined(__x86_64__) && defined(__GNUC__) && !MB__TRACK_ENABLED
    /* rep stosq: the string-store microcode writes whole lines without reading them first, as
     * memset does (a plain loop runs at 0.6-0.8x memset's bandwidth). Only without a memory
     * tool, which would not see stores made by inline assembly. */
    __asm__ volatile("rep stosq" : "+D"(d), "+c"(n) : "a"(bits) : "memory");
#else
    for (size_t i = 0; i < n; i++)
        d[i] = v;
#endif
    return MB_OK;
}

/* Every argument is checked before the first draw, so an error consumes nothing from rng. */
mb_status mb_buf_fill_normal(mb_buf *b, mb_rng *rng, double mean, double stddev)
{
    if (!b || !rng || !isfinite(mean) || !isfinite(stddev) || stddev < 0)
        return MB_EINVAL;
    mb__rng_fill_normal(rng, b->data, b->len, mean, stddev);
    return MB_OK;
}

/* Keeps b->alloc, so the buffer can be resized again afterwards. */
void mb_buf_free(mb_buf *b)
{
    if (!b || !b->data)
        return;
    mb_free(b->alloc, b->data);
    b->data = NULL;
    b->len = 0;
}
