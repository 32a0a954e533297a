/* The "track" layer: what membuf tells ASan, MSan and Valgrind Memcheck about memory it manages
 * itself. Without it, a pool block lives inside one big live mapping and a use after free or an
 * overrun of it is invisible to every tool. All functions are no-ops in plain builds.
 *
 *   hide / show       metadata the user must never touch (size headers): inaccessible while the
 *                     block is live; show makes it accessible and defined again for our own use.
 *   noaccess          memory nobody may touch yet (fresh arenas, free pool areas).
 *   writable          memory we are about to initialise ourselves (pool headers).
 *   pool_create/destroy, block_alloc/free/resize
 *                     one Memcheck mempool per pool instance; every block is a mempool chunk,
 *                     so Memcheck reports accesses outside live chunks and leaked chunks. Under
 *                     ASan a block's bytes are unpoisoned while live and poisoned when freed;
 *                     the unused tail of its slot stays poisoned. MSan sees fresh blocks as
 *                     uninitialised.
 *   load_link / store_link
 *                     the free-list word kept inside a free (poisoned) block. */
#ifndef MEMBUF_TRACK_H
#define MEMBUF_TRACK_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define MB__TRACK_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MB__TRACK_ASAN 1
#endif
#endif
#if defined(__has_feature)
#if __has_feature(memory_sanitizer)
#define MB__TRACK_MSAN 1
#endif
#endif
#if !defined(MB__TRACK_ASAN) && !defined(MB__TRACK_MSAN) && defined(MEMBUF_VALGRIND)
#define MB__TRACK_VALGRIND 1
#endif

#if defined(MB__TRACK_ASAN)
#include <sanitizer/asan_interface.h>
#elif defined(MB__TRACK_VALGRIND)
#include <valgrind/memcheck.h>
#endif
#if defined(MB__TRACK_MSAN)
#include <sanitizer/msan_interface.h>
#endif

/* Bytes of poisoned slack the pool keeps after every block (and before the first block of each
 * pool) when a tool is watching, so a small overrun or underrun lands on poisoned memory. */
#if defined(MB__TRACK_ASAN) || defined(MB__TRACK_VALGRIND)
#define MB__REDZONE 16
#else
#define MB__REDZONE 0
#endif

static inline void mb__track_hide(void *p, size_t n)
{
#if defined(MB__TRACK_ASAN)
    ASAN_POISON_MEMORY_REGION(p, n);
#elif defined(MB__TRACK_VALGRIND)
    (void)VALGRIND_MAKE_MEM_NOACCESS(p, n);
#else
    (void)p;
    (void)n;
#endif
}

static inline void mb__track_show(void *p, size_t n)
{
#if defined(MB__TRACK_ASAN)
    ASAN_UNPOISON_MEMORY_REGION(p, n);
#elif defined(MB__TRACK_VALGRIND)
    (void)VALGRIND_MAKE_MEM_DEFINED(p, n);
#else
    (void)p;
    (void)n;
#endif
}

static inline void mb__track_noaccess(void *p, size_t n) { mb__track_hide(p, n); }

static inline void mb__track_writable(void *p, size_t n)
{
#if defined(MB__TRACK_ASAN)
    ASAN_UNPOISON_MEMORY_REGION(p, n);
#elif defined(MB__TRACK_VALGRIND)
    (void)VALGRIND_MAKE_MEM_UNDEFINED(p, n);
#else
    (void)p;
    (void)n;
#endif
}

static inline void mb__track_pool_create(const void *pool)
{
#if defined(MB__TRACK_VALGRIND)
    VALGRIND_CREATE_MEMPOOL(pool, 0, 0);
#else
    (void)pool;
#endif
}

static inline void mb__track_pool_destroy(const void *pool)
{
#if defined(MB__TRACK_VALGRIND)
    VALGRIND_DESTROY_MEMPOOL(pool);
#else
    (void)pool;
#endif
}

/* p becomes a live block of n bytes (contents undefined). */
static inline void mb__track_block_alloc(const void *pool, void *p, size_t n)
{
    (void)pool;
#if defined(MB__TRACK_ASAN)
    ASAN_UNPOISON_MEMORY_REGION(p, n);
#elif defined(MB__TRACK_VALGRIND)
    VALGRIND_MEMPOOL_ALLOC(pool, p, n);
#endif
#if defined(MB__TRACK_MSAN)
    __msan_allocated_memory(p, n);
#endif
    (void)p;
    (void)n;
}

/* The live block p (its slot is slot bytes) is freed: nothing may touch it. */
static inline void mb__track_block_free(const void *pool, void *p, size_t slot)
{
    (void)pool;
#if defined(MB__TRACK_ASAN)
    ASAN_POISON_MEMORY_REGION(p, slot);
#elif defined(MB__TRACK_VALGRIND)
    VALGRIND_MEMPOOL_FREE(pool, p);
#endif
#if defined(MB__TRACK_MSAN)
    __msan_poison(p, slot);
#endif
    (void)p;
    (void)slot;
}

/* The live block p changes from old_n to new_n bytes in place. */
static inline void mb__track_block_resize(const void *pool, void *p, size_t old_n, size_t new_n)
{
    (void)pool;
#if defined(MB__TRACK_ASAN)
    if (new_n > old_n)
        ASAN_UNPOISON_MEMORY_REGION((char *)p + old_n, new_n - old_n);
    else
        ASAN_POISON_MEMORY_REGION((char *)p + new_n, old_n - new_n);
#elif defined(MB__TRACK_VALGRIND)
    VALGRIND_MEMPOOL_CHANGE(pool, p, p, new_n);
    if (new_n > old_n)
        (void)VALGRIND_MAKE_MEM_UNDEFINED((char *)p + old_n, new_n - old_n);
    else
        (void)VALGRIND_MAKE_MEM_NOACCESS((char *)p + new_n, old_n - new_n);
#endif
#if defined(MB__TRACK_MSAN)
    if (new_n > old_n)
        __msan_allocated_memory((char *)p + old_n, new_n - old_n);
#endif
    (void)p;
    (void)old_n;
    (void)new_n;
}

/* The free-list link stored in the first word of a free block, which stays poisoned. */
static inline void *mb__track_load_link(void *block)
{
    void *next;
    mb__track_show(block, sizeof next);
    memcpy(&next, block, sizeof next);
    mb__track_hide(block, sizeof next);
    return next;
}

static inline void mb__track_store_link(void *block, void *next)
{
    mb__track_writable(block, sizeof next);
    memcpy(block, &next, sizeof next);
    mb__track_hide(block, sizeof next);
}

#endif /* MEMBUF_TRACK_H */
