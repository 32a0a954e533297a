/* The "sized" family behind system and custom instances: each block is one vtable allocation,
 * handed out as it is (no header), and the instance keeps a map of its live blocks (block ->
 * requested size): statistics need the size, which libc does not report, and the map decides
 * whether a pointer is ours without reading memory. A pointer that is not a live block of ours
 * never reaches the vtable: the registry attributes it (another instance's block: a mismatched
 * free; one we freed lately: a double free; else foreign). ASan and Valgrind still see ordinary
 * heap blocks, with their own redzones, for overruns and uses after free.
 *
 * The map and the ring of recent frees are what other instances query (sized_query): they change
 * under the instance's lock. The vtable is never called with the lock held, so a custom allocator
 * may itself use membuf. Cost: one lock round trip and one map operation per malloc and per
 * free (bench/churn.c measures the system family). */
#include "internal.h"

#include <string.h>

typedef struct sized {
    mb_alloc base;
    mb_alloc_vtable vt;
    void *ctx;
    mb__ptrmap live;        /* block -> requested size */
    mb__freed_ring freed;   /* recently freed blocks */
} sized;

/* Load factor 1/2: one 16-byte entry per block at 1/2 to 1/4 occupancy, against a 16-byte
 * header per block before the map; a deletion shifts a few more entries than at 1/4. */
#define LIVE_LOAD_SHIFT 2

/* What the vtable is asked for: at least MB__ALIGN bytes, so an allocator that aligns small
 * blocks to their size (8 bytes for 8) still returns MB__ALIGN-aligned memory. */
static size_t request_of(size_t size) { return size < MB__ALIGN ? MB__ALIGN : size; }

static bool misaligned(const void *p) { return (uintptr_t)p % MB__ALIGN != 0; }

/* Room for one more block in the map; a table that grows is replaced under the lock. */
static bool reserve(sized *s)
{
    if (MB__LIKELY(mb__ptrmap_has_room(&s->live, 1)))
        return true;
    mb__lock(&s->base);
    bool ok = mb__ptrmap_grow(&s->live, 1);
    mb__unlock(&s->base);
    return ok;
}

static void live_put(sized *s, void *p, size_t size)
{
    mb__lock(&s->base);
    mb__ptrmap_put(&s->live, p, (uintptr_t)size);
    mb__unlock(&s->base);
}

static void *sized_malloc(mb_alloc *a, size_t size)
{
    sized *s = (sized *)a;
    if (size > MB__MAX_OBJECT || !reserve(s))
        return NULL;
    void *p = s->vt.malloc(s->ctx, request_of(size));
    if (!p)
        return NULL;
    if (MB__UNLIKELY(misaligned(p))) {
        s->vt.free(s->ctx, p);
        mb__report(MB_MISALIGNED, "%s#%lu's malloc returned %p, not %d-byte aligned; the block "
                   "was given back and the request failed (mb_malloc)",
                   a->name, a->id, p, MB__ALIGN);
        return NULL;
    }
    live_put(s, p, size);
    return p;
}

/* p, not a live block of ours, was handed to what ("mb_free" / "mb_realloc"). */
static void bad_pointer(sized *s, const void *p, const char *what)
{
    size_t size = 0;
    bool freed = mb__freed_find(&s->freed, p, &size);
    mb__bad_pointer(&s->base, p, what, freed ? MB__CLAIM_FREED : MB__CLAIM_NONE, size);
}

/* The vtable's realloc moved the block to q, which is misaligned (the old block is gone). Moves
 * the contents (size bytes) into an aligned block from malloc if one can be had; returns the
 * block to hand out. */
static void *realign(sized *s, void *q, size_t size)
{
    void *r = s->vt.malloc(s->ctx, request_of(size));
    bool moved = r && !misaligned(r);
    if (moved) {
        memcpy(r, q, size);
        s->vt.free(s->ctx, q);
    } else if (r) {
        s->vt.free(s->ctx, r);
    }
    mb__report(MB_MISALIGNED, "%s#%lu's realloc returned %p, not %d-byte aligned; %s (mb_realloc)",
               s->base.name, s->base.id, q, MB__ALIGN,
               moved ? "the contents were moved to an aligned block"
                     : "no aligned block could be had: the block is handed out misaligned");
    return moved ? r : q;
}

static void *sized_realloc(mb_alloc *a, void *p, size_t size, size_t *old_size)
{
    sized *s = (sized *)a;
    if (!mb__ptrmap_find(&s->live, p)) { /* our own map: no lock to read it */
        bad_pointer(s, p, "mb_realloc");
        return NULL;
    }
    if (size > MB__MAX_OBJECT || !reserve(s))
        return NULL;
    uintptr_t *vp = mb__ptrmap_find(&s->live, p); /* again: reserve may have moved the table */
    size_t old = (size_t)*vp;
    void *q = s->vt.realloc(s->ctx, p, request_of(size));
    if (!q)
        return NULL; /* p intact (the vtable's contract) and still in the map */
    mb__lock(a);
    if (q == p) {
        *vp = (uintptr_t)size;
    } else { /* p was freed by the move: a later free of it is a double free */
        mb__ptrmap_del_at(&s->live, vp);
        mb__ptrmap_put(&s->live, q, (uintptr_t)size); /* reserved above */
        mb__freed_push(&s->freed, p, old);
    }
    mb__unlock(a);
    if (MB__UNLIKELY(misaligned(q))) {
        void *r = realign(s, q, size < old ? size : old);
        if (r != q) {
            mb__lock(a);
            mb__ptrmap_del(&s->live, q, NULL);
            mb__ptrmap_put(&s->live, r, (uintptr_t)size); /* the slot q left */
            mb__unlock(a);
            q = r;
        }
    }
    *old_size = old;
    return q;
}

static bool sized_free(mb_alloc *a, void *p, size_t *size)
{
    sized *s = (sized *)a;
    uintptr_t *vp = mb__ptrmap_find(&s->live, p); /* our own map: no lock to read it */
    if (MB__UNLIKELY(!vp)) {
        bad_pointer(s, p, "mb_free");
        return false;
    }
    *size = (size_t)*vp;
    mb__lock(a);
    mb__ptrmap_del_at(&s->live, vp);
    mb__freed_push(&s->freed, p, *size);
    mb__unlock(a);
    s->vt.free(s->ctx, p);
    return true;
}

/* For another instance, under our lock. */
static mb__claim sized_query(mb_alloc *a, const void *p, size_t *size)
{
    sized *s = (sized *)a;
    uintptr_t v;
    if (mb__ptrmap_get(&s->live, p, &v)) {
        *size = (size_t)v;
        return MB__CLAIM_LIVE;
    }
    return mb__freed_find(&s->freed, p, size) ? MB__CLAIM_FREED : MB__CLAIM_NONE;
}

static void sized_destroy(mb_alloc *a)
{
    sized *s = (sized *)a;
    /* Live blocks were reported as a leak by the generic layer. They stay with the underlying
     * allocator, unreachable once the map is gone, where LeakSanitizer and Valgrind see them. */
    mb__ptrmap_free(&s->live);
    mb__alloc_fini(a);
    mb__sys_free(a);
}

static const mb__family sized_family = {
    .malloc = sized_malloc,
    .realloc = sized_realloc,
    .free = sized_free,
    .check = NULL,
    .destroy = sized_destroy,
    .query = sized_query,
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
    s->live.load_shift = LIVE_LOAD_SHIFT;
    mb__registry_add(&s->base);
    return &s->base;
}

mb_alloc *mb_alloc_custom_new(const mb_alloc_vtable *vt, void *ctx, const char *name)
{
    return mb__sized_new(vt, ctx, name);
}
