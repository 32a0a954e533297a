/* The pool family's data structures and its allocation fast paths, shared by pool.c and by the
 * pool's two inline entry points (pool_fast.h). Internal: nothing here is installed. The layout
 * is documented at the top of pool.c. */
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
#define TAG_BYTES 2 /* a block's tag: the 2 bytes just before it (tag_load) */
#define POOL_FIRST (MB__ALIGN + MB__REDZONE) /* offset of block 0: a pad that ends in its tag */
#define DIRECT_SLOTS 256 /* direct-mapped arena lookup: 64 MiB of address space without collision */

_Static_assert(MAX_SMALL <= TAG_SIZE, "tags hold the requested size");
_Static_assert(CLASS_STEP % MB__ALIGN == 0, "classes keep block alignment");

typedef struct arena arena;

/* One pool's bookkeeping, in its arena's descriptor (one cache line). */
typedef struct pool_hdr pool_hdr;
struct pool_hdr {
    pool_hdr *next, *prev;  /* used[class] list, or the arena's empty list (next only) */
    uint8_t *freeblock;     /* first free block, NULL if none */
    uint8_t *page;          /* the pool's 16 KiB: block 0 at page + POOL_FIRST, then the others */
    arena *ar;
    uint64_t mult;          /* the class's, copied here so the hot paths read one line */
    uint16_t size;          /* the class's block size */
    uint16_t span;          /* the class's nblocks * size */
    uint16_t carved;        /* bytes of blocks handed out at least once; 0 while uncarved */
    uint16_t ref;           /* live blocks */
    uint16_t cls;           /* class index */
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
    uint32_t span;     /* bytes of blocks: nblocks * size */
    uint64_t mult;     /* ceil(2^64 / size): a 32-bit offset r is a multiple of size iff
                        * r * mult mod 2^64 < mult (Lemire, Kaser, Kurz, "Faster remainder by
                        * direct computation", 2019), one multiply and no division */
} pool_class;

/* A slot of the direct-mapped arena table: the arena's base beside it, so the lookup reads one
 * entry instead of following the pointer. Empty: base DIRECT_EMPTY, which no arena base
 * (ARENA_SIZE-aligned) equals. */
typedef struct direct_slot {
    uintptr_t base;
    arena *ar;
} direct_slot;
#define DIRECT_EMPTY ((uintptr_t)1)

typedef struct pool_inst {
    mb_alloc base;
    pool_hdr *used[NCLASSES];      /* pools with a block to give, per class: head */
    pool_hdr *used_tail[NCLASSES]; /* and tail */
    arena *usable;
    arena *all;
    direct_slot direct[DIRECT_SLOTS]; /* by (base >> ARENA_SHIFT) % DIRECT_SLOTS: a cache of arenas */
    /* What other instances may query (pool_query), changed under the instance's lock: */
    mb__ptrmap arenas;     /* arena base -> arena *: the authority */
    mb__ptrmap large;      /* large block -> requested size */
    mb__freed_ring large_freed; /* recently freed large blocks */
    size_t narenas, max_arenas, nspare;
    size_t fast_in, fast_out; /* blocks given and taken back by the inline paths (pool_fast.h) */
    pool_class cls[NCLASSES];
} pool_inst;

/* Class index for a request, or -1 for a large one. A slot holds the request, then MB__REDZONE
 * bytes, then the next block's tag. */
static inline int class_of(size_t n)
{
    if (n > MAX_SMALL - MB__REDZONE - TAG_BYTES)
        return -1;
    return (int)((n + MB__REDZONE + TAG_BYTES - 1) / CLASS_STEP); /* 0..14 -> 0, 15..30 -> 1, ... */
}

/* A block's tag, TAG_LIVE | requested size (or the size it had when freed), sits in the
 * TAG_BYTES just before it: the tail of the previous slot, which no request reaches, or the
 * pool's leading pad for block 0. So a free reads the cache line it writes the free-list link
 * to anyway. When a tool watches, the tag lies in the hidden redzone (peek and poke open its
 * granule for the access). */
static inline uint16_t *tag_of(const void *blk) { return (uint16_t *)((uintptr_t)blk - TAG_BYTES); }
static inline uint16_t tag_load(const void *blk) { return mb__track_peek_u16(tag_of(blk)); }
static inline void tag_store(void *blk, uint16_t t) { mb__track_poke_u16(tag_of(blk), t); }
_Static_assert(TAG_BYTES == sizeof(uint16_t) && MB__ALIGN % TAG_BYTES == 0, "tags are aligned words");
/* blk is MB__ALIGN-aligned, so the tag's granules end at blk; they must hold no user byte. */
_Static_assert(MB__TRACK_GRANULE <= MB__REDZONE + TAG_BYTES || !MB__TRACK_ENABLED,
               "the tag's granules are all redzone");
_Static_assert(MB__TRACK_GRANULE <= MB__ALIGN, "blocks start on a granule (both powers of two)");

/* The direct-mapped table's slot for address u if it holds u's arena (then its ar is not NULL:
 * an empty slot matches no address); NULL otherwise, and pool.c's arena_lookup falls back to
 * the map. */
static inline const direct_slot *direct_hit(const pool_inst *pi, uintptr_t u)
{
    const direct_slot *d = &pi->direct[(u >> ARENA_SHIFT) % DIRECT_SLOTS];
    return d->base == (u & ~(uintptr_t)(ARENA_SIZE - 1)) ? d : NULL;
}

/* Whether u, inside ar, is the start of a block carved from its pool (*plp then names the pool).
 * Reads only our own descriptor. A pool not carved yet has carved == 0: nothing is in it.
 * carved and mult are also read by other instances (pool_query), so they are written and read
 * as relaxed atomics (plain moves). */
static inline bool block_at(arena *ar, uintptr_t u, pool_hdr **plp)
{
    pool_hdr *pl = &ar->pools[(u >> POOL_SHIFT) % POOLS_PER_ARENA];
    uint32_t rel = (uint32_t)(u & (POOL_SIZE - 1)) - POOL_FIRST; /* wraps below block 0 */
    uint64_t mult = __atomic_load_n(&pl->mult, __ATOMIC_RELAXED);
    *plp = pl;
    /* else past the carving mark, or inside a block */
    return rel < __atomic_load_n(&pl->carved, __ATOMIC_RELAXED) && (uint64_t)rel * mult < mult;
}

/* ---- fast paths (the slow halves live in pool.c) -------------------------------------- */

extern const mb__family mb__pool_family;

void *mb__pool_alloc_carve(pool_inst *pi, int ci, size_t n);
void mb__pool_free_adjust(pool_inst *pi, pool_hdr *pl);

/* Hands out blk, a block of pl (a used pool) just taken off its free list or carved. A pool
 * that this leaves full stays at the head of its used list until the next allocation from the
 * class finds it so (mb__pool_alloc_carve unlinks it then): only a list head can fill up. */
static inline void *give(pool_inst *pi, pool_hdr *pl, uint8_t *blk, size_t n)
{
    MB__ASSERT(blk >= pl->page + POOL_FIRST && blk < pl->page + POOL_FIRST + pl->carved);
    MB__ASSERT((size_t)pl->ref * pl->size < pl->span); /* ref < nblocks before this one */
    tag_store(blk, (uint16_t)(TAG_LIVE | n));
    pl->ref++;
    mb__track_block_alloc(pi, blk, n);
    return blk;
}

/* A block of class ci from the free list of the class's first used pool; NULL (with nothing
 * done) when there is none, which mb__pool_alloc_carve then handles. */
static inline void *small_alloc_fast(pool_inst *pi, int ci, size_t n)
{
    pool_hdr *pl = pi->used[ci];
    uint8_t *blk;
    if (MB__UNLIKELY(!pl) || MB__UNLIKELY(!(blk = pl->freeblock)))
        return NULL;
    pl->freeblock = mb__track_load_link(blk);
    return give(pi, pl, blk, n);
}

/* Puts blk, a block of pl whose tag and tool state already say freed, on pl's free list.
 * Returns whether the pool was full (so in no list, or its list's head) or is now empty: then
 * mb__pool_free_adjust must run. */
static inline bool pool_push(pool_hdr *pl, uint8_t *blk)
{
    /* Every field is read before the link goes into the block: a store through blk may alias
     * anything, so the compiler would read them again after it. */
    uint8_t *head = pl->freeblock;
    bool was_full = !head && pl->carved == pl->span;
    MB__ASSERT(pl->ref > 0 && pl->carved <= pl->span);
    uint16_t ref = (uint16_t)(pl->ref - 1);
    pl->ref = ref;
    pl->freeblock = blk;
    mb__track_store_link(blk, head);
    return ref == 0 || was_full;
}

/* Frees blk, a live small block of pl whose requested size is size: tag and tools say freed,
 * the block goes on pl's free list. Statistics are the caller's. */
static inline void small_free_block(pool_inst *pi, pool_hdr *pl, uint8_t *blk, size_t size)
{
    tag_store(blk, (uint16_t)size);
    mb__track_block_free(pi, blk, pl->size - TAG_BYTES);
    if (MB__UNLIKELY(pool_push(pl, blk)))
        mb__pool_free_adjust(pi, pl);
}

/* The pool of p if p is a live small block of pi, with *tag its tag; NULL otherwise (a large
 * block, a bad free, or a block whose arena is not in the direct-mapped table), nothing read
 * outside our own descriptors and blocks. */
static inline pool_hdr *live_small_block(pool_inst *pi, const void *p, uint16_t *tag)
{
    uintptr_t u = (uintptr_t)p;
    const direct_slot *d = direct_hit(pi, u);
    pool_hdr *pl;
    if (MB__UNLIKELY(!d) || MB__UNLIKELY(!block_at(d->ar, u, &pl)))
        return NULL;
    *tag = tag_load(p);
    return MB__LIKELY(*tag & TAG_LIVE) ? pl : NULL;
}

#endif
