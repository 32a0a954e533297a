/* The "sized" family behind system and custom instances: each block is one vtable allocation with
 * a 16-byte header in front holding the requested size, which statistics need and libc does not
 * report. Nothing else is checked here but the one misuse the counters prove (a free or realloc
 * while no block is live): the rest is left to ASan/Valgrind, which see ordinary heap blocks.
 * The header is hidden from both tools while the block is live, so an underflow into it is
 * still reported. */
#include "internal.h"

#include "track.h"

#include <string.h>

typedef struct sized_hdr {
    size_t size;
    size_t pad_; /* keeps the user pointer MB__ALIGN-aligned */
} sized_hdr;
_Static_assert(sizeof(sized_hdr) % MB__ALIGN == 0, "header must keep user alignment");

typedef struct sized {
    mb_alloc base;
    mb_alloc_vtable vt;
    void *ctx;
} sized;

static sized_hdr *hdr_of(void *p) { return (sized_hdr *)((uint8_t *)p - sizeof(sized_hdr)); }

static void *publish(sized_hdr *h, size_t size)
{
    h->size = size;
    mb__track_hide(h, sizeof *h);
    return h + 1;
}

static size_t reclaim(sized_hdr *h)
{
    mb__track_show(h, sizeof *h);
    return h->size;
}

static void *sized_malloc(mb_alloc *a, size_t size)
{
    sized *s = (sized *)a;
    size_t total;
    if (!mb__add(size, sizeof(sized_hdr), &total) || total > MB__MAX_OBJECT)
        return NULL;
    sized_hdr *h = s->vt.malloc(s->ctx, total);
    return h ? publish(h, size) : NULL;
}

/* With no live block at all, p cannot be one of ours: a second free, or a pointer from elsewhere.
 * The one misuse this family can tell without a registry; reported and refused (true). */
static bool nothing_live(mb_alloc *a, const void *p, const char *what)
{
    if (mb__stats_live_blocks(&a->stats) != 0)
        return false;
    mb__report(MB_FOREIGN_FREE,
               "%p is not a live block of %s#%lu, which has none: a double free or a foreign "
               "pointer (%s)",
               p, a->name, a->id, what);
    return true;
}

static void *sized_realloc(mb_alloc *a, void *p, size_t size, size_t *old_size)
{
    sized *s = (sized *)a;
    if (nothing_live(a, p, "mb_realloc"))
        return NULL;
    size_t total;
    if (!mb__add(size, sizeof(sized_hdr), &total) || total > MB__MAX_OBJECT)
        return NULL;
    sized_hdr *h = hdr_of(p);
    size_t old = reclaim(h);
    sized_hdr *n = s->vt.realloc(s->ctx, h, total);
    if (!n) {
        mb__track_hide(h, sizeof *h);
        return NULL;
    }
    *old_size = old;
    return publish(n, size);
}

static bool sized_free(mb_alloc *a, void *p, size_t *size)
{
    sized *s = (sized *)a;
    if (nothing_live(a, p, "mb_free"))
        return false;
    sized_hdr *h = hdr_of(p);
    *size = reclaim(h);
    s->vt.free(s->ctx, h);
    return true;
}

static void sized_destroy(mb_alloc *a)
{
    /* Live blocks were reported as a leak by the generic layer; without a registry of them
     * they stay with the underlying allocator, where LeakSanitizer and Valgrind see them. */
    mb__alloc_fini(a);
    mb__sys_free(a);
}

static const mb__family sized_family = {
    .malloc = sized_malloc,
    .realloc = sized_realloc,
    .free = sized_free,
    .check = NULL,
    .destroy = sized_destroy,
};

mb_alloc *mb__sized_new(const mb_alloc_vtable *vt, void *ctx, const char *name)
{
    if (!vt || !vt->malloc || !vt->realloc || !vt->free)
        return NULL;
    sized *s = mb__sys_calloc(1, sizeof *s);
    if (!s)
        return NULL;
    if (!mb__alloc_init(&s->base, &sized_family, name ? name : "custom")) {
        mb__sys_free(s);
        return NULL;
    }
    s->vt = *vt;
    s->ctx = ctx;
    return &s->base;
}

mb_alloc *mb_alloc_custom_new(const mb_alloc_vtable *vt, void *ctx, const char *name)
{
    return mb__sized_new(vt, ctx, name);
}
