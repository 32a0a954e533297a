/* The pool family: a pymalloc-style small-block allocator (after CPython's Objects/obmalloc.c),
 * with ownership and double-free checks that are always on.
 *
 * Layout
 * ------
 * Requests of up to MAX_SMALL - 2 bytes (less MB__REDZONE when a tool is watching) are rounded,
 * with the 2-byte tag of the block that follows, up to a size class, a multiple of 16. Blocks of
 * one class are carved from a 16 KiB *pool*; pools are carved from 256 KiB *arenas*, mapped from
 * the OS aligned to their size, so
 *
 *     arena base = p & ~(ARENA_SIZE - 1)      pool = p & ~(POOL_SIZE - 1)
 *
 *   arena (256 KiB, ARENA_SIZE-aligned, mmap)
 *   +-----------+-----------+-----------+-- ... --+-----------+
 *   |  pool 0   |  pool 1   |  pool 2   |         |  pool 15  |   carved lazily, left to right
 *   +-----------+-----------+-----------+-- ... --+-----------+
 *
 *   pool (16 KiB)
 *   +-----+----+-----+---------------------+----+-----+----------- ... --------+------+
 *   | pad | RZ | tag | blk 0 ...           | RZ | tag | blk 1 ...              | tail |
 *   +-----+----+-----+---------------------+----+-----+----------- ... --------+------+
 *   |<-- first ----->|<------------- slot 0 ------------>|<--- slot 1 ...
 *     tag (2 bytes, just before its block): TAG_LIVE | requested size, or the size the block
 *       had when freed; it ends the previous slot (the pad for block 0), where no request
 *       reaches, so a free reads and writes the one cache line that also takes the free-list link
 *     RZ: MB__REDZONE bytes (when a tool is watching)
 *
 *   arena descriptor (libc memory): the arena lists, then pool_hdr[16], one cache line each
 *
 * Arena descriptors live outside the arena (in libc memory), found through a pointer map keyed
 * by arena base, so deciding whether a pointer is ours never reads memory we do not own: O(1)
 * map lookup (a direct-mapped table of arenas first), pool carved, offset a multiple of the class
 * size (one multiply, no division), block below the carving mark. The block's tag then tells a
 * live block from a freed one, which is how a double free is caught — in O(1), in every build.
 * Only then is the tag read: a pointer that is not a block start never has its bytes read.
 *
 * Each pool's bookkeeping (free list head, carving mark, live count, class, list links) is kept
 * out of line, one cache line per pool in its arena's descriptor, so the metadata of every pool
 * in use stays dense and warm. The tags are in band, 2 bytes per block (which keeps the memory
 * per block below glibc's 8-byte header), so a free touches the block's own line, not a second
 * one. The cost: a write past the end of a block's slot (beyond its class rounding) can change
 * the next block's tag, as it would glibc's chunk header; ASan and Valgrind builds keep the tag
 * inside a poisoned redzone, so they report such a write.
 *
 * Size classes (MB__REDZONE = 0; sanitizer and Valgrind builds add 16 before classing, so the
 * largest small request is then 494 bytes):
 *
 *     request bytes    class    blocks per pool
 *       0 ..  14         16       1023  (a 0-byte request gets a unique 16-byte block)
 *      15 ..  30         32        511
 *      31 ..  46         48        341
 *      ...               ...       ...
 *     495 .. 510        512         31
 *     > 510          libc malloc, recorded in the instance's large-block map
 *
 * Pool states (as in obmalloc):
 *   used   some blocks live, some available: linked in used[class], allocations come from here;
 *   full   no block available: in no list (or still the head of used[class] until the next
 *          allocation from the class unlinks it); its first free appends it to used[class];
 *   empty  no block live: in its arena's free-pool list, reusable for any class (and reused
 *          with its free list intact if it goes back to the class it had) -- except a class's
 *          only pool, which stays in used[class] so a class that goes between zero and a few
 *          live blocks does not retire and re-carve a pool each time.
 * Within a used pool, free blocks form a singly linked list threaded through their first word;
 * never-used blocks are carved lazily, `carved` bytes so far, up to the class's span.
 *
 * An arena whose pools are all empty is returned to the OS, except that one such arena is kept
 * as a spare to avoid map/unmap churn. A deleted instance's arenas go to a process-wide cache of
 * a few (sys.c, mb__sys_unmap_cached) that the next new arena is taken from, so programs that
 * make and delete instances often (a fuzzer: every input) do not fault in fresh pages each time.
 * A double free of a block whose pool was recycled for another class, or whose arena was
 * returned, is still refused but may be reported as a foreign free. Large blocks keep a ring of recently freed addresses so a second free of one is reported
 * as a double free rather than a foreign one.
 *
 * A pointer that is not ours is attributed through the registry (registry.c): another instance
 * that holds it makes the report a mismatched free. Other instances ask us in turn (pool_query):
 * whether an address is one of our blocks, live or freed (or lies in one of our arenas), or is
 * one of our large blocks, live or recently freed. The arena and large-block maps change under
 * the instance's lock; the tags and carving marks that the inline paths change without it are
 * read as relaxed atomics (see pool_query).
 *
 * Speed: the fast paths (small_alloc_fast, live_small_block, small_free_block) live in
 * pool_impl.h, and the public mb_malloc and mb_free inline them for pool instances through the
 * pool's two entry points (pool_fast.h): no vtable call, no stack frame, a block counted once
 * (fast_in / fast_out); everything else (carving, new pools, full and empty pools, large blocks,
 * bad frees) goes through the vtable to this file. bench/churn.c measures them.
 *
 * Under ASan free blocks, unused tails and redzones are poisoned; under MEMBUF_VALGRIND the
 * instance is a Memcheck mempool and arenas are NOACCESS outside live blocks (see track.h). */
#include "internal.h"

#include "pool_impl.h"

#include <string.h>

static void init_classes(pool_class *cls)
{
    for (size_t i = 0; i < NCLASSES; i++) {
        size_t size = (i + 1) * CLASS_STEP;
        size_t n = (POOL_SIZE - POOL_FIRST) / size;
        cls[i].size = (uint32_t)size;
        cls[i].nblocks = (uint32_t)n;
        cls[i].span = (uint32_t)(n * size);
        cls[i].mult = UINT64_MAX / size + 1;
    }
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

/* ar takes its slot of the direct-mapped table. */
static void direct_set(pool_inst *pi, arena *ar)
{
    uintptr_t base = (uintptr_t)ar->base;
    pi->direct[(base >> ARENA_SHIFT) % DIRECT_SLOTS] = (direct_slot){base, ar};
}

/* Room for one more key in m, a map other instances read: a table that grows is replaced
 * under the lock. */
static bool reserve_locked(pool_inst *pi, mb__ptrmap *m)
{
    if (MB__LIKELY(mb__ptrmap_has_room(m, 1)))
        return true;
    mb__lock(&pi->base);
    bool ok = mb__ptrmap_grow(m, 1);
    mb__unlock(&pi->base);
    return ok;
}

static arena *arena_new(pool_inst *pi)
{
    if (pi->max_arenas && pi->narenas >= pi->max_arenas)
        return NULL;
    if (!reserve_locked(pi, &pi->arenas))
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
    mb__lock(&pi->base);
    mb__ptrmap_put(&pi->arenas, ar->base, (uintptr_t)ar);
    mb__unlock(&pi->base);
    direct_set(pi, ar);
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
    mb__lock(&pi->base);
    mb__ptrmap_del(&pi->arenas, ar->base, NULL);
    mb__unlock(&pi->base);
    direct_slot *slot = &pi->direct[((uintptr_t)ar->base >> ARENA_SHIFT) % DIRECT_SLOTS];
    if (slot->ar == ar)
        *slot = (direct_slot){DIRECT_EMPTY, NULL};
    mb__track_writable(ar->base, ARENA_SIZE); /* leave no poisoned shadow behind for the next mapping */
    mb__sys_unmap(ar->base, ARENA_SIZE);
    mb__sys_free(ar);
    pi->narenas--;
}

/* ---- pools ----------------------------------------------------------------------------- */

/* used[class] is a queue: a new pool goes to the head (allocations come from it at once), a
 * full pool that gets a block back goes to the tail, so it collects more frees before it is
 * allocated from again instead of filling up on the very next malloc (obmalloc puts it at the
 * head, which makes a class spread over several pools unlink and relink a pool on nearly
 * every malloc/free pair). */
static void used_push(pool_inst *pi, pool_hdr *pl)
{
    pool_hdr **head = &pi->used[pl->cls];
    pl->prev = NULL;
    pl->next = *head;
    if (*head)
        (*head)->prev = pl;
    else
        pi->used_tail[pl->cls] = pl;
    *head = pl;
}

static void used_append(pool_inst *pi, pool_hdr *pl)
{
    pool_hdr **tail = &pi->used_tail[pl->cls];
    pl->next = NULL;
    pl->prev = *tail;
    if (*tail)
        (*tail)->next = pl;
    else
        pi->used[pl->cls] = pl;
    *tail = pl;
}

static void used_unlink(pool_inst *pi, pool_hdr *pl)
{
    if (pl->prev)
        pl->prev->next = pl->next;
    else
        pi->used[pl->cls] = pl->next;
    if (pl->next)
        pl->next->prev = pl->prev;
    else
        pi->used_tail[pl->cls] = pl->prev;
    pl->next = pl->prev = NULL;
}

/* A pool for class ci from an arena with room, mapping one if needed; linked into used[ci]. */
static MB__NOINLINE pool_hdr *pool_new(pool_inst *pi, int ci)
{
    arena *ar = pi->usable;
    if (!ar && !(ar = arena_new(pi)))
        return NULL;
    if (ar->navail == POOLS_PER_ARENA)
        pi->nspare--;
    pool_hdr *pl;
    bool same = false;
    if (ar->empty) {
        pl = ar->empty;
        ar->empty = pl->next;
        same = pl->cls == (uint16_t)ci;
    } else {
        pl = &ar->pools[ar->ncarved];
        pl->page = ar->base + (size_t)ar->ncarved * POOL_SIZE;
        pl->ar = ar;
        ar->ncarved++;
    }
    if (--ar->navail == 0)
        usable_unlink(pi, ar);
    if (!same) {
        /* A pool last used for this class keeps its free list (as in obmalloc); otherwise it
         * is carved afresh. Tags need no reset: only blocks below `carved` are ever looked up,
         * and each gets its tag when handed out. All of it is off limits until handed out. */
        const pool_class *c = &pi->cls[ci];
        mb__track_noaccess(pl->page, POOL_SIZE);
        pl->freeblock = NULL;
        pl->cls = (uint16_t)ci;
        pl->size = (uint16_t)c->size;
        pl->span = (uint16_t)c->span;
        __atomic_store_n(&pl->mult, c->mult, __ATOMIC_RELAXED);    /* read by pool_query */
        __atomic_store_n(&pl->carved, (uint16_t)0, __ATOMIC_RELAXED);
    }
    used_push(pi, pl);
    return pl;
}

/* The pool holding p has no live block left: hand it back to its arena. */
static MB__NOINLINE void pool_retire(pool_inst *pi, pool_hdr *pl)
{
    arena *ar = pl->ar;
    used_unlink(pi, pl);
    pl->next = ar->empty;
    ar->empty = pl;
    if (ar->navail++ == 0)
        usable_push(pi, ar);
    MB__ASSERT(ar->navail <= POOLS_PER_ARENA);
    if (ar->navail == POOLS_PER_ARENA) {
        if (pi->nspare > 0)
            arena_release(pi, ar);
        else
            pi->nspare++;
    }
}

/* ---- ownership ------------------------------------------------------------------------- */

typedef struct where {
    pool_hdr *pl;
    uint8_t *blk;
} where;

/* What a pointer handed to free or realloc is to us: a live small or large block, a freed one
 * (small: known from its tag; large: from the ring, which may be out of date), an address in one
 * of our arenas that is no block start, or nothing of ours. */
enum owner { OWN_SMALL, OWN_LARGE, OWN_FREED, OWN_INSIDE, OWN_NONE };

/* The arena whose span holds base, found through the map when the direct slot has another (or
 * none), which then takes the slot; NULL if base is not one of ours. */
static MB__NOINLINE arena *arena_lookup_slow(pool_inst *pi, const uint8_t *base)
{
    uintptr_t v;
    /* The map's keys are non-NULL; an address in the first arena-sized span is never ours. */
    if (!base || !mb__ptrmap_get(&pi->arenas, base, &v))
        return NULL;
    arena *ar = (arena *)v;
    direct_set(pi, ar);
    return ar;
}

static inline arena *arena_lookup(pool_inst *pi, uintptr_t u)
{
    const direct_slot *d = direct_hit(pi, u);
    return MB__LIKELY(d) ? d->ar : arena_lookup_slow(pi, (const uint8_t *)(u & ~(uintptr_t)(ARENA_SIZE - 1)));
}

/* locate() for an address outside every arena: a live large block, a recently freed one, or
 * nothing of ours. */
static MB__NOINLINE enum owner locate_large(pool_inst *pi, const void *p, where *w, size_t *size)
{
    uintptr_t v;
    if (mb__ptrmap_get(&pi->large, p, &v)) {
        *size = (size_t)v;
        return OWN_LARGE;
    }
    /* The ring is never cleaned when an address is handed out again: the live map is asked
     * first. */
    if (mb__freed_find(&pi->large_freed, p, size)) {
        w->pl = NULL;
        return OWN_FREED;
    }
    return OWN_NONE;
}

/* Decides what p is without reading memory outside our own headers. For OWN_SMALL and OWN_FREED
 * of a small block w names the block (w->pl NULL for a freed large one); *size is the block's
 * requested size (0 for OWN_NONE). */
static inline enum owner locate(pool_inst *pi, const void *p, where *w, size_t *size)
{
    uintptr_t u = (uintptr_t)p;
    *size = 0;
    arena *ar = arena_lookup(pi, u);
    if (MB__UNLIKELY(!ar))
        return locate_large(pi, p, w, size);
    if (!block_at(ar, u, &w->pl))
        return OWN_INSIDE;
    w->blk = (uint8_t *)u;
    uint16_t tag = tag_load(w->blk);
    *size = tag & TAG_SIZE;
    return (tag & TAG_LIVE) ? OWN_SMALL : OWN_FREED;
}

/* Reports p as a bad free or realloc (what: "mb_free" / "mb_realloc") unless it is a live
 * block (o, w and size from locate); true if p is fine. A freed small block is certain (its tag);
 * anything else may be another instance's block, so the registry decides. */
static bool vet(pool_inst *pi, enum owner o, const where *w, const void *p, size_t size,
                const char *what)
{
    switch (o) {
    case OWN_SMALL:
    case OWN_LARGE: return true;
    case OWN_FREED:
        if (w->pl) {
            mb__report(MB_DOUBLE_FREE, "block %p (%zu bytes) allocated by %s#%lu was already freed (%s)",
                       p, size, pi->base.name, pi->base.id, what);
            return false;
        }
        mb__bad_pointer(&pi->base, p, what, MB__CLAIM_FREED, size);
        return false;
    case OWN_INSIDE: mb__bad_pointer(&pi->base, p, what, MB__CLAIM_INSIDE, 0); return false;
    case OWN_NONE: mb__bad_pointer(&pi->base, p, what, MB__CLAIM_NONE, 0); return false;
    }
    return false;
}

/* ---- allocation ------------------------------------------------------------------------ */

/* small_alloc_fast() when the first used pool of the class has no free block: carve a new
 * one, from a new pool if need be. A head that is full (see give) leaves the list first. */
void *mb__pool_alloc_carve(pool_inst *pi, int ci, size_t n)
{
    pool_hdr *pl = pi->used[ci];
    if (pl && !pl->freeblock && pl->carved == pl->span) {
        used_unlink(pi, pl);
        pl = pi->used[ci];
        /* only a head fills up (give): the next one has a block to give */
        MB__ASSERT(!pl || pl->freeblock || pl->carved < pl->span);
    }
    if (!pl && !(pl = pool_new(pi, ci)))
        return NULL;
    uint8_t *blk = pl->freeblock;
    if (blk) {
        pl->freeblock = mb__track_load_link(blk); /* a pool reused with its free list */
    } else {
        blk = pl->page + POOL_FIRST + pl->carved;
        __atomic_store_n(&pl->carved, (uint16_t)(pl->carved + pl->size), __ATOMIC_RELAXED);
    }
    return give(pi, pl, blk, n);
}

/* After a free: the pool was full (so in no list -- a listed pool is the head or has a prev --
 * or still its list's head) or has no live block left. */
void mb__pool_free_adjust(pool_inst *pi, pool_hdr *pl)
{
    if (!pl->prev && pi->used[pl->cls] != pl)
        used_append(pi, pl);
    /* An empty pool that is its class's only one stays: a class going between zero and a few
     * live blocks would otherwise retire and re-carve a pool every time. */
    if (pl->ref == 0 && (pl->prev || pl->next))
        pool_retire(pi, pl);
}


static MB__NOINLINE void *large_alloc(pool_inst *pi, size_t n)
{
    if (n > MB__MAX_OBJECT || !reserve_locked(pi, &pi->large))
        return NULL;
    void *p = mb__sys_malloc(n ? n : 1);
    if (!p)
        return NULL;
    mb__lock(&pi->base);
    mb__ptrmap_put(&pi->large, p, (uintptr_t)n);
    mb__unlock(&pi->base);
    return p;
}

static void large_forget(pool_inst *pi, void *p, size_t size)
{
    mb__lock(&pi->base);
    mb__ptrmap_del(&pi->large, p, NULL);
    mb__freed_push(&pi->large_freed, p, size);
    mb__unlock(&pi->base);
}

static void *pool_malloc(mb_alloc *a, size_t n)
{
    pool_inst *pi = (pool_inst *)a;
    int ci = class_of(n);
    if (ci < 0)
        return large_alloc(pi, n);
    void *p = small_alloc_fast(pi, ci, n);
    return p ? p : mb__pool_alloc_carve(pi, ci, n);
}

/* The vtable's free, after mb_free's inline path declined p: a large block, a violation, or a
 * small block whose arena is not in the direct-mapped table (a slot collision). */
static bool pool_free(mb_alloc *a, void *p, size_t *size)
{
    pool_inst *pi = (pool_inst *)a;
    where w;
    enum owner o = locate(pi, p, &w, size);
    if (o == OWN_SMALL) {
        small_free_block(pi, w.pl, w.blk, *size);
        return true;
    }
    if (!vet(pi, o, &w, p, *size, "mb_free"))
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
    if (!vet(pi, o, &w, p, old, "mb_realloc"))
        return NULL;
    int ci = class_of(n);
    if (o == OWN_SMALL && ci == (int)w.pl->cls) {
        /* Same class: resize in place. */
        tag_store(p, (uint16_t)(TAG_LIVE | n));
        mb__track_block_resize(pi, p, old, n);
        *old_size = old;
        return p;
    }
    if (o == OWN_LARGE && ci < 0) {
        if (n > MB__MAX_OBJECT || !reserve_locked(pi, &pi->large))
            return NULL;
        void *q = mb__sys_realloc(p, n ? n : 1);
        if (!q)
            return NULL;
        mb__lock(&pi->base);
        if (q != p) { /* p was freed by the move: a later free of it is a double free */
            mb__ptrmap_del(&pi->large, p, NULL);
            mb__freed_push(&pi->large_freed, p, old);
        }
        mb__ptrmap_put(&pi->large, q, (uintptr_t)n);
        mb__unlock(&pi->base);
        *old_size = old;
        return q;
    }
    /* Crossing between classes or between small and large: move. */
    void *q = pool_malloc(a, n);
    if (!q)
        return NULL;
    memcpy(q, p, old < n ? old : n);
    if (o == OWN_SMALL) {
        small_free_block(pi, w.pl, w.blk, old); /* q is in another class: w still names p */
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
        mb__sys_unmap_cached(ar->base, ARENA_SIZE, (size_t)ar->ncarved * POOL_SIZE);
        mb__sys_free(ar);
    }
    mb__ptrmap_free(&pi->large);
    mb__ptrmap_free(&pi->arenas);
    mb__alloc_fini(a);
    mb__sys_free(pi);
}

/* For another instance, under our lock. The arena map (changed under the lock) says whether p
 * lies in one of our arenas, which then stays mapped and described while the lock is held; the
 * descriptor's carving mark and the tag, which our inline paths change without the lock, are
 * read as relaxed atomics (snoop: without opening the tag's granule), so a query racing a
 * malloc or free of that very block in its owner's thread may get a stale answer, never a
 * crash or a data race. */
static mb__claim pool_query(mb_alloc *a, const void *p, size_t *size)
{
    pool_inst *pi = (pool_inst *)a;
    uintptr_t base = (uintptr_t)p & ~(uintptr_t)(ARENA_SIZE - 1);
    uintptr_t v;
    if (base && mb__ptrmap_get(&pi->arenas, (const void *)base, &v)) {
        pool_hdr *pl;
        if (!block_at((arena *)v, (uintptr_t)p, &pl))
            return MB__CLAIM_INSIDE;
        uint16_t tag = mb__track_snoop_u16(tag_of(p));
        *size = tag & TAG_SIZE;
        return (tag & TAG_LIVE) ? MB__CLAIM_LIVE : MB__CLAIM_FREED;
    }
    if (mb__ptrmap_get(&pi->large, p, &v)) {
        *size = (size_t)v;
        return MB__CLAIM_LIVE;
    }
    return mb__freed_find(&pi->large_freed, p, size) ? MB__CLAIM_FREED : MB__CLAIM_NONE;
}

static void pool_fast_counts(const mb_alloc *a, size_t *in, size_t *out)
{
    const pool_inst *pi = (const pool_inst *)a;
    *in = pi->fast_in;
    *out = pi->fast_out;
}

const mb__family mb__pool_family = {
    .malloc = pool_malloc,
    .realloc = pool_realloc,
    .free = pool_free,
    .check = NULL,
    .destroy = pool_destroy,
    .query = pool_query,
    .fast_counts = pool_fast_counts,
};

mb_alloc *mb_alloc_pool_new(void)
{
    pool_inst *pi = mb__sys_calloc(1, sizeof *pi);
    if (!pi)
        return NULL;
    if (!mb__alloc_init(&pi->base, &mb__pool_family, "pool")) {
        mb__sys_free(pi);
        return NULL;
    }
    init_classes(pi->cls);
    for (size_t i = 0; i < DIRECT_SLOTS; i++)
        pi->direct[i] = (direct_slot){DIRECT_EMPTY, NULL};
    mb__track_pool_create(pi);
    mb__registry_add(&pi->base);
    return &pi->base;
}

void mb__pool_set_max_arenas(mb_alloc *pool, size_t n)
{
    if (pool && pool->fam == &mb__pool_family)
        ((pool_inst *)pool)->max_arenas = n;
}
