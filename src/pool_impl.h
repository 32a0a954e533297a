/* The pool family's data structures and its allocation fast paths, shared by pool.c and by the
 * generic layer (alloc.c), which calls the fast paths directly for pool instances instead of
 * going through the vtable. Internal: nothing here is installed. The layout is documented at the
 * top of pool.c. */
#ifndef MEMBUF_POOL_IMPL_H
#define MEMBUF_POOL_IMPL_H

#include "internal.h"

#include "track.h"

#define POOL_SHIFT 14
#define POOL_SIZE ((size_t)1 << POOL_SHIFT)
#define ARENA_SHIFT 18
#define ARENA_SIZE ((size_t)1 << ARENA_SHIFT)
#define POOLS_PER_ARENA (ARENA_SIZE / POOL_SIZE)
#define CLASS_STEP 16
#define MAX_SMALL 512
#define NCLASSES (MAX_SMALL / CLASS_STEP)
#define TAG_LIVE 0x8000u
#define TAG_SIZE 0x7fffu
#define LARGE_RING 64
#define DIRECT_SLOTS 256 /* direct-mapped arena lookup: 64 MiB of address space without collision */

_Static_assert(MAX_SMALL <= TAG_SIZE, "tags hold the requested size");
_Static_assert(CLASS_STEP % MB__ALIGN == 0, "classes keep block alignment");

typedef struct arena arena;

/* One pool's bookkeeping, in its arena's descriptor (one cache line). */
typedef struct pool_hdr pool_hdr;
struct pool_hdr {
    pool_hdr *next, *prev;  /* used[class] list, or the arena's empty list (next only) */
    uint8_t *freeblock;     /* first free block, NULL if none */
    uint8_t *page;          /* the pool's 16 KiB: tags (tags_of), then block 0 at page + first */
    arena *ar;
    uint32_t recip;         /* the class's, copied here so the hot paths read one line */
    uint16_t size;          /* the class's block size */
    uint16_t span;          /* the class's nblocks * size */
    uint16_t carved;        /* bytes of blocks handed out at least once; 0 while uncarved */
    uint16_t ref;           /* live blocks */
    uint16_t cls;           /* class index */
    uint16_t first;         /* the class's offset of block 0 (after the tags) */
};
_Static_assert(POOL_SIZE <= UINT16_MAX && NCLASSES <= UINT16_MAX, "pool_hdr's narrow fields");

struct arena {
    uint8_t *base;
    arena *next, *prev;     /* the instance's usable list (arenas with a pool to give) */
    arena *all_next;        /* every arena of the instance */
    pool_hdr *empty;        /* empty pools, linked through next */
    uint32_t navail;        /* empty + never-carved pools */
    uint32_t ncarved;       /* pools [0, ncarved) have been carved */
    int usable;
    pool_hdr pools[POOLS_PER_ARENA];
};
_Static_assert(sizeof(pool_hdr) <= 64, "one cache line per pool");

typedef struct pool_class {
    uint32_t size;     /* slot bytes */
    uint32_t nblocks;
    uint32_t first;    /* offset of block 0: after the tags, 16-aligned, plus MB__REDZONE */
    uint32_t span;     /* bytes of blocks: nblocks * size */
    uint32_t recip;    /* floor(2^32 / size) + 1: offset / size without a division, exact for
                        * offsets below POOL_SIZE (checked by test_pool's ownership tests) */
} pool_class;

typedef struct pool_inst {
    mb_alloc base;
    pool_hdr *used[NCLASSES];      /* pools with a block to give, per class: head */
    pool_hdr *used_tail[NCLASSES]; /* and tail */
    arena *usable;
    arena *all;
    arena *direct[DIRECT_SLOTS]; /* by (base >> ARENA_SHIFT) % DIRECT_SLOTS: a cache of arenas */
    mb__ptrmap arenas;     /* arena base -> arena *: the authority */
    mb__ptrmap large;      /* large block -> requested size */
    uintptr_t ring[LARGE_RING]; /* recently freed large blocks */
    size_t ring_sizes[LARGE_RING];
    unsigned ring_pos;
    size_t narenas, max_arenas, nspare;
    pool_class cls[NCLASSES];
} pool_inst;

/* Class index for a request, or -1 for a large one. */
static inline int class_of(size_t n)
{
    if (n > MAX_SMALL - MB__REDZONE)
        return -1;
    size_t eff = n + MB__REDZONE;
    return (int)((eff - (eff != 0)) / CLASS_STEP); /* 0 and 1..16 -> 0, 17..32 -> 1, ... */
}

/* The tag array at the start of a pool page: per block, TAG_LIVE | requested size. */
static inline uint16_t *tags_of(const uint8_t *page) { return (uint16_t *)(void *)page; }

/* The arena of address u if the direct-mapped table has it (pool.c's arena_lookup falls back to
 * the map); NULL otherwise. */
static inline arena *direct_arena(const pool_inst *pi, uintptr_t u)
{
    arena *ar = pi->direct[(u >> ARENA_SHIFT) % DIRECT_SLOTS];
    return ar && ar->base == (uint8_t *)(u & ~(uintptr_t)(ARENA_SIZE - 1)) ? ar : NULL;
}

/* Whether u, inside ar, is the start of a block carved from its pool: *plp and *idxp then name
 * it. Reads only our own descriptor. A pool not carved yet has carved == 0: nothing is in it. */
static inline bool block_at(arena *ar, uintptr_t u, pool_hdr **plp, uint32_t *idxp)
{
    pool_hdr *pl = &ar->pools[(u >> POOL_SHIFT) % POOLS_PER_ARENA];
    uint32_t rel = (uint32_t)(u & (POOL_SIZE - 1)) - pl->first; /* wraps below block 0 */
    uint32_t idx = (uint32_t)(((uint64_t)rel * pl->recip) >> 32);
    *plp = pl;
    *idxp = idx;
    return rel < pl->carved && idx * pl->size == rel; /* else past the carving mark, or inside */
}

/* ---- fast paths (the slow halves live in pool.c) -------------------------------------- */

extern const mb__family mb__pool_family;

void *mb__pool_alloc_carve(pool_inst *pi, int ci, size_t n);
bool mb__pool_free_adjust(pool_inst *pi, pool_hdr *pl);
void mb__pool_unlink_full(pool_inst *pi, pool_hdr *pl);

static inline bool pool_full(const pool_hdr *pl)
{
    return !pl->freeblock && pl->carved == pl->span;
}

/* Hands out blk, a block of pl (a used pool) just taken off its free list or carved. */
static inline void *give(pool_inst *pi, pool_hdr *pl, uint8_t *blk, size_t n)
{
    uint32_t idx = (uint32_t)(((uint64_t)(uint32_t)(blk - pl->page - pl->first) * pl->recip) >> 32);
    tags_of(pl->page)[idx] = (uint16_t)(TAG_LIVE | n);
    pl->ref++;
    if (MB__UNLIKELY(pool_full(pl)))
        mb__pool_unlink_full(pi, pl);
    mb__track_block_alloc(pi, blk, n);
    return blk;
}

static inline void *small_alloc(pool_inst *pi, int ci, size_t n)
{
    pool_hdr *pl = pi->used[ci];
    uint8_t *blk;
    if (MB__UNLIKELY(!pl) || MB__UNLIKELY(!(blk = pl->freeblock)))
        return mb__pool_alloc_carve(pi, ci, n);
    pl->freeblock = mb__track_load_link(blk);
    return give(pi, pl, blk, n);
}

/* Frees blk, a live block of pl whose tag is *tagp. Returns whether the pool was full
 * (it is in no list) or is now empty: then mb__pool_free_adjust must run. */
static inline bool small_free_block(pool_inst *pi, pool_hdr *pl, uint16_t *tagp, uint8_t *blk)
{
    /* Every field is read before the link goes into the block: a store through blk may alias
     * anything, so the compiler would read them again after it. */
    uint8_t *head = pl->freeblock;
    bool was_full = !head && pl->carved == pl->span;
    uint16_t ref = (uint16_t)(pl->ref - 1);
    *tagp &= TAG_SIZE;
    pl->ref = ref;
    pl->freeblock = blk;
    mb__track_block_free(pi, blk, pl->size);
    mb__track_store_link(blk, head);
    return ref == 0 || was_full;
}

/* mb_free's fast path for a pool instance: frees p, statistics included, if it is a live small
 * block of the pool; false, with nothing done, for anything else (a large block, a bad free),
 * which the vtable's free then decides. */
static inline bool mb__pool_free_fast(mb_alloc *a, void *p)
{
    pool_inst *pi = (pool_inst *)a;
    uintptr_t u = (uintptr_t)p;
    arena *ar = direct_arena(pi, u);
    pool_hdr *pl;
    uint32_t idx;
    if (MB__UNLIKELY(!ar) || MB__UNLIKELY(!block_at(ar, u, &pl, &idx)))
        return false;
    /* The page from p rather than pl->page: one dependent load less. */
    uint16_t *tagp = tags_of((const uint8_t *)(u & ~(uintptr_t)(POOL_SIZE - 1))) + idx;
    uint16_t tag = *tagp;
    if (MB__UNLIKELY(!(tag & TAG_LIVE)))
        return false;
    mb__stats_free(&a->stats, tag & TAG_SIZE);
    if (MB__UNLIKELY(small_free_block(pi, pl, tagp, p)))
        return mb__pool_free_adjust(pi, pl);
    return true;
}

#endif
