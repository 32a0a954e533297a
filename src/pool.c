/* The pool family: a pymalloc-style small-block allocator (after CPython's Objects/obmalloc.c),
 * with ownership and double-free checks that are always on.
 *
 * Layout
 * ------
 * Requests of up to MAX_SMALL bytes (plus MB__REDZONE when a tool is watching) are rounded up to
 * a size class, a multiple of 16. Blocks of one class are carved from a 16 KiB *pool*; pools are
 * carved from 256 KiB *arenas*, mapped from the OS aligned to their size, so
 *
 *     arena base = p & ~(ARENA_SIZE - 1)      pool = p & ~(POOL_SIZE - 1)
 *
 *   arena (256 KiB, ARENA_SIZE-aligned, mmap)
 *   +-----------+-----------+-----------+-- ... --+-----------+
 *   |  pool 0   |  pool 1   |  pool 2   |         |  pool 15  |   carved lazily, left to right
 *   +-----------+-----------+-----------+-- ... --+-----------+
 *
 *   pool (16 KiB)
 *   +----------------------------+----+-------+-------+-------+-- ... --+-------+------+
 *   | pool_hdr | tag[0..nblocks) | RZ | blk 0 | blk 1 | blk 2 |         | blk n | tail |
 *   +----------------------------+----+-------+-------+-------+-- ... --+-------+------+
 *     tag[i]: TAG_LIVE | requested size of block i, or the size it had when freed
 *
 * Arena descriptors live outside the arena (in libc memory), found through a pointer map keyed
 * by arena base, so deciding whether a pointer is ours never reads memory we do not own: O(1)
 * map lookup (with a one-entry cache), pool index < carved pools, offset a multiple of the class
 * size (a reciprocal multiply), block index below the carving mark. The tag array then tells a
 * live block from a freed one, which is how a double free is caught — in O(1), in every build.
 *
 * Size classes (MB__REDZONE = 0; sanitizer and Valgrind builds add 16 before classing, so the
 * largest small request is then 496 bytes):
 *
 *     request bytes    class    blocks per pool
 *       0 ..  16         16        908  (a 0-byte request gets a unique 16-byte block)
 *      17 ..  32         32        480
 *      33 ..  48         48        326
 *      ...               ...       ...
 *     497 .. 512        512         31
 *     > 512          libc malloc, recorded in the instance's large-block map
 *
 * Pool states (as in obmalloc):
 *   used   some blocks live, some available: linked in used[class], allocations come from here;
 *   full   no block available: in no list; its first free moves it back to used[class];
 *   empty  no block live: in its arena's free-pool list, reusable for any class.
 * Within a used pool, free blocks form a singly linked list threaded through their first word;
 * never-used blocks are carved lazily from next_off up to max_off.
 *
 * An arena whose pools are all empty is returned to the OS, except that one such arena is kept
 * as a spare to avoid map/unmap churn. A double free of a block whose pool was recycled for
 * another class, or whose arena was returned, is still refused but may be reported as a foreign
 * free. Large blocks keep a ring of recently freed addresses so a second free of one is reported
 * as a double free rather than a foreign one.
 *
 * Under ASan free blocks, unused tails and redzones are poisoned; under MEMBUF_VALGRIND the
 * instance is a Memcheck mempool and arenas are NOACCESS outside live blocks (see track.h). */
#include "internal.h"

#include "track.h"

#include <string.h>

#define POOL_SIZE ((size_t)16 * 1024)
#define ARENA_SIZE ((size_t)256 * 1024)
#define POOLS_PER_ARENA (ARENA_SIZE / POOL_SIZE)
#define CLASS_STEP 16
#define MAX_SMALL 512
#define NCLASSES (MAX_SMALL / CLASS_STEP)
#define TAG_LIVE 0x8000u
#define TAG_SIZE 0x7fffu
#define LARGE_RING 64

_Static_assert(MAX_SMALL <= TAG_SIZE, "tags hold the requested size");
_Static_assert(CLASS_STEP % MB__ALIGN == 0, "classes keep block alignment");

typedef struct pool_hdr pool_hdr;
struct pool_hdr {
    pool_hdr *next, *prev;  /* used[class] list, or the arena's empty list (next only) */
    uint8_t *freeblock;     /* first free block, NULL if none */
    uint32_t next_off;      /* offset of the next never-used block */
    uint32_t ref;           /* live blocks */
    uint32_t cls;           /* class index */
    uint16_t tag[];         /* per block: TAG_LIVE | size */
};

typedef struct arena arena;
struct arena {
    uint8_t *base;
    arena *next, *prev;     /* the instance's usable list (arenas with a pool to give) */
    arena *all_next;        /* every arena of the instance */
    pool_hdr *empty;        /* empty pools, linked through next */
    uint32_t navail;        /* empty + never-carved pools */
    uint32_t ncarved;       /* pools [0, ncarved) have headers */
    int usable;
};

typedef struct pool_class {
    uint32_t size;     /* slot bytes */
    uint32_t nblocks;
    uint32_t first;    /* offset of block 0 in the pool */
    uint32_t max_off;  /* offset of the last block */
    uint64_t recip;    /* ceil(2^32 / size): offset / size without a division */
} pool_class;

typedef struct pool_inst {
    mb_alloc base;
    pool_hdr *used[NCLASSES];
    arena *usable;
    arena *all;
    arena *cache;          /* last arena found by lookup */
    mb__ptrmap arenas;     /* arena base -> arena * */
    mb__ptrmap large;      /* large block -> requested size */
    uintptr_t ring[LARGE_RING]; /* recently freed large blocks */
    size_t ring_sizes[LARGE_RING];
    unsigned ring_pos;
    size_t narenas, max_arenas, nspare;
    pool_class cls[NCLASSES];
} pool_inst;

static void init_classes(pool_class *cls)
{
    size_t base = offsetof(pool_hdr, tag);
    for (size_t i = 0; i < NCLASSES; i++) {
        size_t size = (i + 1) * CLASS_STEP;
        size_t n = (POOL_SIZE - base) / (size + sizeof(uint16_t));
        size_t first = 0;
        for (; n > 0; n--) {
            first = ((base + n * sizeof(uint16_t) + MB__ALIGN - 1) & ~(size_t)(MB__ALIGN - 1)) + MB__REDZONE;
            if (first + n * size <= POOL_SIZE)
                break;
        }
        cls[i].size = (uint32_t)size;
        cls[i].nblocks = (uint32_t)n;
        cls[i].first = (uint32_t)first;
        cls[i].max_off = (uint32_t)(first + (n - 1) * size);
        cls[i].recip = ((uint64_t)1 << 32) / size + 1;
    }
}

/* Class index for a request, or -1 for a large one. */
static inline int class_of(size_t n)
{
    if (n > MAX_SMALL - MB__REDZONE)
        return -1;
    size_t eff = n + MB__REDZONE;
    return eff == 0 ? 0 : (int)((eff - 1) / CLASS_STEP);
}

/* ---- arenas ---------------------------------------------------------------------------- */

static void usable_push(pool_inst *pi, arena *ar)
{
    ar->prev = NULL;
    ar->next = pi->usable;
    if (pi->usable)
        pi->usable->prev = ar;
    pi->usable = ar;
    ar->usable = 1;
}

static void usable_unlink(pool_inst *pi, arena *ar)
{
    if (ar->prev)
        ar->prev->next = ar->next;
    else
        pi->usable = ar->next;
    if (ar->next)
        ar->next->prev = ar->prev;
    ar->next = ar->prev = NULL;
    ar->usable = 0;
}

static arena *arena_new(pool_inst *pi)
{
    if (pi->max_arenas && pi->narenas >= pi->max_arenas)
        return NULL;
    if (!mb__ptrmap_reserve(&pi->arenas, 1))
        return NULL;
    arena *ar = mb__sys_calloc(1, sizeof *ar);
    if (!ar)
        return NULL;
    ar->base = mb__sys_map_aligned(ARENA_SIZE, ARENA_SIZE);
    if (!ar->base) {
        mb__sys_free(ar);
        return NULL;
    }
    mb__track_noaccess(ar->base, ARENA_SIZE);
    ar->navail = POOLS_PER_ARENA;
    ar->all_next = pi->all;
    pi->all = ar;
    pi->narenas++;
    pi->nspare++;
    mb__ptrmap_put(&pi->arenas, ar->base, (uintptr_t)ar);
    usable_push(pi, ar);
    return ar;
}

static void arena_release(pool_inst *pi, arena *ar)
{
    if (ar->usable)
        usable_unlink(pi, ar);
    for (arena **pp = &pi->all; *pp; pp = &(*pp)->all_next) {
        if (*pp == ar) {
            *pp = ar->all_next;
            break;
        }
    }
    mb__ptrmap_del(&pi->arenas, ar->base, NULL);
    if (pi->cache == ar)
        pi->cache = NULL;
    mb__track_writable(ar->base, ARENA_SIZE); /* leave no poisoned shadow behind for the next mapping */
    mb__sys_unmap(ar->base, ARENA_SIZE);
    mb__sys_free(ar);
    pi->narenas--;
}

/* ---- pools ----------------------------------------------------------------------------- */

static void used_push(pool_inst *pi, pool_hdr *pl)
{
    pool_hdr **head = &pi->used[pl->cls];
    pl->prev = NULL;
    pl->next = *head;
    if (*head)
        (*head)->prev = pl;
    *head = pl;
}

static void used_unlink(pool_inst *pi, pool_hdr *pl)
{
    if (pl->prev)
        pl->prev->next = pl->next;
    else
        pi->used[pl->cls] = pl->next;
    if (pl->next)
        pl->next->prev = pl->prev;
    pl->next = pl->prev = NULL;
}

/* A pool for class ci from an arena with room, mapping one if needed; linked into used[ci]. */
static pool_hdr *pool_new(pool_inst *pi, int ci)
{
    arena *ar = pi->usable;
    if (!ar && !(ar = arena_new(pi)))
        return NULL;
    if (ar->navail == POOLS_PER_ARENA)
        pi->nspare--;
    pool_hdr *pl;
    if (ar->empty) {
        pl = ar->empty;
        ar->empty = pl->next;
    } else {
        pl = (pool_hdr *)(ar->base + (size_t)ar->ncarved * POOL_SIZE);
        ar->ncarved++;
    }
    if (--ar->navail == 0)
        usable_unlink(pi, ar);
    const pool_class *c = &pi->cls[ci];
    /* The header and tags become ours; everything from the redzone on is off limits. */
    mb__track_writable(pl, c->first - MB__REDZONE);
    mb__track_noaccess((uint8_t *)pl + c->first - MB__REDZONE, POOL_SIZE - c->first + MB__REDZONE);
    memset(pl, 0, c->first - MB__REDZONE);
    pl->cls = (uint32_t)ci;
    pl->next_off = c->first;
    used_push(pi, pl);
    return pl;
}

/* The pool holding p has no live block left: hand it back to its arena. */
static void pool_retire(pool_inst *pi, pool_hdr *pl, arena *ar)
{
    used_unlink(pi, pl);
    pl->next = ar->empty;
    ar->empty = pl;
    if (ar->navail++ == 0)
        usable_push(pi, ar);
    if (ar->navail == POOLS_PER_ARENA) {
        if (pi->nspare > 0)
            arena_release(pi, ar);
        else
            pi->nspare++;
    }
}

/* ---- ownership ------------------------------------------------------------------------- */

typedef struct where {
    arena *ar;
    pool_hdr *pl;
    uint32_t idx;
} where;

enum owner { OWN_SMALL, OWN_LARGE, OWN_FREED, OWN_NONE };

/* Decides what p is without reading memory outside our own headers. For OWN_SMALL and OWN_FREED
 * w names the block; for OWN_LARGE and OWN_FREED of a large block *size is its size. */
static enum owner locate(pool_inst *pi, const void *p, where *w, size_t *size)
{
    uintptr_t u = (uintptr_t)p;
    *size = 0;
    uint8_t *base = (uint8_t *)(u & ~(uintptr_t)(ARENA_SIZE - 1));
    arena *ar = pi->cache;
    if (!ar || ar->base != base) {
        uintptr_t v;
        /* The map's keys are non-NULL; an address in the first arena-sized span is never ours. */
        ar = base && mb__ptrmap_get(&pi->arenas, base, &v) ? (arena *)v : NULL;
        if (ar)
            pi->cache = ar;
    }
    if (ar) {
        size_t pidx = (u - (uintptr_t)base) / POOL_SIZE;
        if (pidx >= ar->ncarved)
            return OWN_NONE;
        pool_hdr *pl = (pool_hdr *)(base + pidx * POOL_SIZE);
        const pool_class *c = &pi->cls[pl->cls];
        uint32_t off = (uint32_t)(u & (POOL_SIZE - 1));
        if (off < c->first || off >= pl->next_off)
            return OWN_NONE;
        uint32_t rel = off - c->first;
        uint32_t idx = (uint32_t)(((uint64_t)rel * c->recip) >> 32);
        if (idx * c->size != rel)
            return OWN_NONE; /* inside a block, not its start */
        w->ar = ar;
        w->pl = pl;
        w->idx = idx;
        *size = pl->tag[idx] & TAG_SIZE;
        return (pl->tag[idx] & TAG_LIVE) ? OWN_SMALL : OWN_FREED;
    }
    uintptr_t v;
    if (mb__ptrmap_get(&pi->large, p, &v)) {
        *size = (size_t)v;
        return OWN_LARGE;
    }
    for (unsigned i = 0; i < LARGE_RING; i++) {
        if (pi->ring[i] == u) {
            w->ar = NULL;
            *size = pi->ring_sizes[i];
            return OWN_FREED;
        }
    }
    return OWN_NONE;
}

/* Reports p as a bad free or realloc (what: "mb_free" / "mb_realloc"); true if p is fine. */
static bool vet(pool_inst *pi, enum owner o, const void *p, size_t size, const char *what)
{
    if (o == OWN_FREED) {
        mb__report(MB_DOUBLE_FREE, "block %p (%zu bytes) allocated by %s#%lu was already freed (%s)",
                   p, size, pi->base.name, pi->base.id, what);
        return false;
    }
    if (o == OWN_NONE) {
        mb__report(MB_FOREIGN_FREE, "%p is not a block of %s#%lu (%s)", p, pi->base.name,
                   pi->base.id, what);
        return false;
    }
    return true;
}

/* ---- allocation ------------------------------------------------------------------------ */

static void *small_alloc(pool_inst *pi, int ci, size_t n)
{
    pool_hdr *pl = pi->used[ci];
    if (MB__UNLIKELY(!pl) && !(pl = pool_new(pi, ci)))
        return NULL;
    const pool_class *c = &pi->cls[ci];
    uint8_t *blk = pl->freeblock;
    if (blk) {
        pl->freeblock = mb__track_load_link(blk);
    } else {
        blk = (uint8_t *)pl + pl->next_off;
        pl->next_off += c->size;
    }
    uint32_t idx = (uint32_t)(((uint64_t)(uint32_t)(blk - (uint8_t *)pl - c->first) * c->recip) >> 32);
    pl->tag[idx] = (uint16_t)(TAG_LIVE | n);
    pl->ref++;
    if (!pl->freeblock && pl->next_off > c->max_off)
        used_unlink(pi, pl); /* full */
    mb__track_block_alloc(pi, blk, n);
    return blk;
}

static void small_free(pool_inst *pi, const where *w)
{
    pool_hdr *pl = w->pl;
    const pool_class *c = &pi->cls[pl->cls];
    uint8_t *blk = (uint8_t *)pl + c->first + (size_t)w->idx * c->size;
    bool was_full = !pl->freeblock && pl->next_off > c->max_off;
    mb__track_block_free(pi, blk, c->size);
    mb__track_store_link(blk, pl->freeblock);
    pl->freeblock = blk;
    pl->tag[w->idx] &= TAG_SIZE;
    pl->ref--;
    if (was_full)
        used_push(pi, pl);
    if (pl->ref == 0)
        pool_retire(pi, pl, w->ar);
}

static void *large_alloc(pool_inst *pi, size_t n)
{
    if (n > MB__MAX_OBJECT || !mb__ptrmap_reserve(&pi->large, 1))
        return NULL;
    void *p = mb__sys_malloc(n ? n : 1);
    if (!p)
        return NULL;
    mb__ptrmap_put(&pi->large, p, (uintptr_t)n);
    for (unsigned i = 0; i < LARGE_RING; i++) /* the address is live again */
        if (pi->ring[i] == (uintptr_t)p)
            pi->ring[i] = 0;
    return p;
}

static void large_forget(pool_inst *pi, void *p, size_t size)
{
    mb__ptrmap_del(&pi->large, p, NULL);
    pi->ring[pi->ring_pos] = (uintptr_t)p;
    pi->ring_sizes[pi->ring_pos] = size;
    pi->ring_pos = (pi->ring_pos + 1) % LARGE_RING;
}

static void *pool_malloc(mb_alloc *a, size_t n)
{
    pool_inst *pi = (pool_inst *)a;
    int ci = class_of(n);
    return ci >= 0 ? small_alloc(pi, ci, n) : large_alloc(pi, n);
}

static bool pool_free(mb_alloc *a, void *p, size_t *size)
{
    pool_inst *pi = (pool_inst *)a;
    where w;
    enum owner o = locate(pi, p, &w, size);
    if (MB__LIKELY(o == OWN_SMALL)) {
        small_free(pi, &w);
        return true;
    }
    if (!vet(pi, o, p, *size, "mb_free"))
        return false;
    large_forget(pi, p, *size);
    mb__sys_free(p);
    return true;
}

static void *pool_realloc(mb_alloc *a, void *p, size_t n, size_t *old_size)
{
    pool_inst *pi = (pool_inst *)a;
    where w;
    size_t old;
    enum owner o = locate(pi, p, &w, &old);
    if (!vet(pi, o, p, old, "mb_realloc"))
        return NULL;
    int ci = class_of(n);
    if (o == OWN_SMALL && ci == (int)w.pl->cls) {
        /* Same class: resize in place. */
        w.pl->tag[w.idx] = (uint16_t)(TAG_LIVE | n);
        mb__track_block_resize(pi, p, old, n);
        *old_size = old;
        return p;
    }
    if (o == OWN_LARGE && ci < 0) {
        if (n > MB__MAX_OBJECT || !mb__ptrmap_reserve(&pi->large, 1))
            return NULL;
        void *q = mb__sys_realloc(p, n ? n : 1);
        if (!q)
            return NULL;
        if (q != p) {
            mb__ptrmap_del(&pi->large, p, NULL);
            for (unsigned i = 0; i < LARGE_RING; i++)
                if (pi->ring[i] == (uintptr_t)q)
                    pi->ring[i] = 0;
        }
        mb__ptrmap_put(&pi->large, q, (uintptr_t)n);
        *old_size = old;
        return q;
    }
    /* Crossing between classes or between small and large: move. */
    void *q = pool_malloc(a, n);
    if (!q)
        return NULL;
    memcpy(q, p, old < n ? old : n);
    if (o == OWN_SMALL) {
        small_free(pi, &w); /* q is in another class, so w still names p */
    } else {
        large_forget(pi, p, old);
        mb__sys_free(p);
    }
    *old_size = old;
    return q;
}

static void pool_destroy(mb_alloc *a)
{
    pool_inst *pi = (pool_inst *)a;
    size_t i = 0;
    void *key;
    uintptr_t val;
    while ((i = mb__ptrmap_next(&pi->large, i, &key, &val)) != 0)
        mb__sys_free(key);
    mb__track_pool_destroy(pi);
    for (arena *ar = pi->all, *next; ar; ar = next) {
        next = ar->all_next;
        mb__track_writable(ar->base, ARENA_SIZE);
        mb__sys_unmap(ar->base, ARENA_SIZE);
        mb__sys_free(ar);
    }
    mb__ptrmap_free(&pi->large);
    mb__ptrmap_free(&pi->arenas);
    mb__alloc_fini(a);
    mb__sys_free(pi);
}

static const mb__family pool_family = {
    .malloc = pool_malloc,
    .realloc = pool_realloc,
    .free = pool_free,
    .check = NULL,
    .destroy = pool_destroy,
};

mb_alloc *mb_alloc_pool_new(void)
{
    pool_inst *pi = mb__sys_calloc(1, sizeof *pi);
    if (!pi)
        return NULL;
    if (!mb__alloc_init(&pi->base, &pool_family, "pool")) {
        mb__sys_free(pi);
        return NULL;
    }
    init_classes(pi->cls);
    mb__track_pool_create(pi);
    return &pi->base;
}

void mb__pool_set_max_arenas(mb_alloc *pool, size_t n)
{
    if (pool && pool->fam == &pool_family)
        ((pool_inst *)pool)->max_arenas = n;
}
