/* The "track" layer: what membuf tells ASan, MSan and Valgrind Memcheck about memory it manages
 * itself. Without it, a pool block lives inside one big live mapping and a use after free or an
 * overrun of it is invisible to every tool. One block per tool below, each defining the same
 * functions and constants (a tool that does not track addressability takes the no-op defaults
 * after the blocks); nothing outside this file asks which tool is on, only whether one is
 * (MB__TRACK_ENABLED). In plain builds every function is a no-op.
 *
 *   hide / show       metadata the user must never touch: inaccessible while the block is live;
 *                     show makes it accessible and defined again for our own use.
 *   noaccess          memory nobody may touch yet (fresh arenas, free pool areas).
 *   writable          memory we are about to initialise ourselves.
 *   peek / poke       read or write a few bytes of hidden memory (a pool tag, a free-list link):
 *                     the tool's granules around them are opened and closed again, so every
 *                     byte of those granules must be hidden memory. peek_u16 / poke_u16 do it
 *                     for an aligned 16-bit word as a relaxed atomic access, for words that
 *   snoop_u16         another thread reads, without opening the granule (its owner may be
 *                     opening and closing it at the same time): a relaxed atomic load.
 *   pool_create/destroy, block_alloc/free/resize
 *                     one Memcheck mempool per pool instance; every block is a mempool chunk,
 *                     so Memcheck reports accesses outside live chunks and leaked chunks. Under
 *                     ASan a block's bytes are unpoisoned while live and poisoned when freed;
 *                     the unused tail of its slot stays poisoned. MSan sees fresh blocks as
 *                     uninitialised.
 *   MB__REDZONE       bytes of poisoned slack the pool keeps after every block (and before the
 *                     first block of each pool) when a tool watches addressability, so a small
 *                     overrun or underrun lands on poisoned memory.
 *   MB__TRACK_GRANULE the tool's unit of addressability: peek and poke open whole granules. */
#ifndef MEMBUF_TRACK_H
#define MEMBUF_TRACK_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Which tool (the build refuses combinations; Valgrind only without a sanitizer). */
#if defined(__SANITIZE_ADDRESS__)
#define MB__TRACK_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MB__TRACK_ASAN 1
#elif __has_feature(memory_sanitizer)
#define MB__TRACK_MSAN 1
#endif
#endif
#if !defined(MB__TRACK_ASAN) && !defined(MB__TRACK_MSAN) && defined(MEMBUF_VALGRIND)
#define MB__TRACK_VALGRIND 1
#endif

#if defined(MB__TRACK_ASAN)
/* ---- AddressSanitizer: addressability in 8-byte granules ----------------------------------- */
#include <sanitizer/asan_interface.h>
#define MB__TRACK_ENABLED 1
#define MB__TRACK_ADDRESSES 1
#define MB__REDZONE 16
#define MB__TRACK_GRANULE 8

static inline void mb__track_hide(void *p, size_t n) { ASAN_POISON_MEMORY_REGION(p, n); }
static inline void mb__track_show(void *p, size_t n) { ASAN_UNPOISON_MEMORY_REGION(p, n); }
static inline void mb__track_writable(void *p, size_t n) { ASAN_UNPOISON_MEMORY_REGION(p, n); }
static inline void mb__track_pool_create(const void *pool) { (void)pool; }
static inline void mb__track_pool_destroy(const void *pool) { (void)pool; }

static inline void mb__track_block_alloc(const void *pool, void *p, size_t n)
{
    (void)pool;
    ASAN_UNPOISON_MEMORY_REGION(p, n);
}

static inline void mb__track_block_free(const void *pool, void *p, size_t slot)
{
    (void)pool;
    ASAN_POISON_MEMORY_REGION(p, slot);
}

static inline void mb__track_block_resize(const void *pool, void *p, size_t old_n, size_t new_n)
{
    (void)pool;
    if (new_n > old_n)
        ASAN_UNPOISON_MEMORY_REGION((char *)p + old_n, new_n - old_n);
    else
        ASAN_POISON_MEMORY_REGION((char *)p + new_n, old_n - new_n);
}

/* Not instrumented: the granule stays as its owner left it. */
__attribute__((no_sanitize("address"))) static inline uint16_t mb__track_snoop_u16(const uint16_t *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

#elif defined(MB__TRACK_MSAN)
/* ---- MemorySanitizer: initialisation only (addressability: the defaults below) ------------ */
#include <sanitizer/msan_interface.h>
#define MB__TRACK_ENABLED 1
#define MB__TRACK_ADDRESSES 0
#define MB__REDZONE 0
#define MB__TRACK_GRANULE 1

static inline void mb__track_block_alloc(const void *pool, void *p, size_t n)
{
    (void)pool;
    __msan_allocated_memory(p, n);
}

static inline void mb__track_block_free(const void *pool, void *p, size_t slot)
{
    (void)pool;
    __msan_poison(p, slot);
}

static inline void mb__track_block_resize(const void *pool, void *p, size_t old_n, size_t new_n)
{
    (void)pool;
    if (new_n > old_n)
        __msan_allocated_memory((char *)p + old_n, new_n - old_n);
}

#elif defined(MB__TRACK_VALGRIND)
/* ---- Valgrind Memcheck: byte addressability and definedness, pool blocks as mempool chunks - */
#include <valgrind/memcheck.h>
#define MB__TRACK_ENABLED 1
#define MB__TRACK_ADDRESSES 1
#define MB__REDZONE 16
#define MB__TRACK_GRANULE 1

static inline void mb__track_hide(void *p, size_t n) { (void)VALGRIND_MAKE_MEM_NOACCESS(p, n); }
static inline void mb__track_show(void *p, size_t n) { (void)VALGRIND_MAKE_MEM_DEFINED(p, n); }
static inline void mb__track_writable(void *p, size_t n) { (void)VALGRIND_MAKE_MEM_UNDEFINED(p, n); }
static inline void mb__track_pool_create(const void *pool) { VALGRIND_CREATE_MEMPOOL(pool, 0, 0); }
static inline void mb__track_pool_destroy(const void *pool) { VALGRIND_DESTROY_MEMPOOL(pool); }

static inline void mb__track_block_alloc(const void *pool, void *p, size_t n)
{
    VALGRIND_MEMPOOL_ALLOC(pool, p, n);
}

static inline void mb__track_block_free(const void *pool, void *p, size_t slot)
{
    (void)slot;
    VALGRIND_MEMPOOL_FREE(pool, p);
}

static inline void mb__track_block_resize(const void *pool, void *p, size_t old_n, size_t new_n)
{
    VALGRIND_MEMPOOL_CHANGE(pool, p, p, new_n);
    if (new_n > old_n)
        (void)VALGRIND_MAKE_MEM_UNDEFINED((char *)p + old_n, new_n - old_n);
    else
        (void)VALGRIND_MAKE_MEM_NOACCESS((char *)p + new_n, old_n - new_n);
}

/* This thread's error reporting is off for the read: the bytes stay NOACCESS for everyone. */
static inline uint16_t mb__track_snoop_u16(const uint16_t *p)
{
    VALGRIND_DISABLE_ERROR_REPORTING;
    uint16_t v = __atomic_load_n(p, __ATOMIC_RELAXED);
    VALGRIND_ENABLE_ERROR_REPORTING;
    return v;
}

#else
/* ---- no tool: the defaults below --------------------------------------------------------- */
#define MB__TRACK_ENABLED 0
#define MB__TRACK_ADDRESSES 0
#define MB__REDZONE 0
#define MB__TRACK_GRANULE 1

static inline void mb__track_block_alloc(const void *pool, void *p, size_t n)
{
    (void)pool, (void)p, (void)n;
}
static inline void mb__track_block_free(const void *pool, void *p, size_t slot)
{
    (void)pool, (void)p, (void)slot;
}
static inline void mb__track_block_resize(const void *pool, void *p, size_t old_n, size_t new_n)
{
    (void)pool, (void)p, (void)old_n, (void)new_n;
}
#endif

/* ---- defaults for a tool that does not track addressability (MSan, none) ------------------ */
#if !MB__TRACK_ADDRESSES
static inline void mb__track_hide(void *p, size_t n) { (void)p, (void)n; }
static inline void mb__track_show(void *p, size_t n) { (void)p, (void)n; }
static inline void mb__track_writable(void *p, size_t n) { (void)p, (void)n; }
static inline void mb__track_pool_create(const void *pool) { (void)pool; }
static inline void mb__track_pool_destroy(const void *pool) { (void)pool; }
static inline uint16_t mb__track_snoop_u16(const uint16_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
#endif

_Static_assert((MB__TRACK_GRANULE & (MB__TRACK_GRANULE - 1)) == 0, "granule is a power of two");

/* ---- built on the above, the same for every tool ------------------------------------------- */

static inline void mb__track_noaccess(void *p, size_t n) { mb__track_hide(p, n); }

/* The granules around [p, p + n) of hidden memory, opened for our own access by
 * mb__track_open and hidden again by mb__track_close. */
typedef struct mb__track_window {
    uint8_t *lo;
    size_t len;
} mb__track_window;

static inline mb__track_window mb__track_open(const void *p, size_t n)
{
    uintptr_t a = (uintptr_t)p & ~(uintptr_t)(MB__TRACK_GRANULE - 1);
    uintptr_t b = ((uintptr_t)p + n + MB__TRACK_GRANULE - 1) & ~(uintptr_t)(MB__TRACK_GRANULE - 1);
    mb__track_window w = {(uint8_t *)a, (size_t)(b - a)};
    mb__track_show(w.lo, w.len);
    return w;
}

static inline void mb__track_close(mb__track_window w) { mb__track_hide(w.lo, w.len); }

/* Copies n bytes of hidden memory at src to dst; the granules around them stay hidden. */
static inline void mb__track_peek(void *dst, const void *src, size_t n)
{
    mb__track_window w = mb__track_open(src, n);
    memcpy(dst, src, n);
    mb__track_close(w);
}

/* Copies n bytes from src into hidden memory at dst; the granules around them stay hidden. */
static inline void mb__track_poke(void *dst, const void *src, size_t n)
{
    mb__track_window w = mb__track_open(dst, n);
    memcpy(dst, src, n);
    mb__track_close(w);
}

static inline uint16_t mb__track_peek_u16(const uint16_t *p)
{
    mb__track_window w = mb__track_open(p, sizeof *p);
    uint16_t v = __atomic_load_n(p, __ATOMIC_RELAXED);
    mb__track_close(w);
    return v;
}

static inline void mb__track_poke_u16(uint16_t *p, uint16_t v)
{
    mb__track_window w = mb__track_open(p, sizeof *p);
    __atomic_store_n(p, v, __ATOMIC_RELAXED);
    mb__track_close(w);
}

/* The free-list link stored in the first word of a free (hidden) block. */
static inline void *mb__track_load_link(void *block)
{
    void *next;
    mb__track_peek(&next, block, sizeof next);
    return next;
}

static inline void mb__track_store_link(void *block, void *next)
{
    mb__track_poke(block, &next, sizeof next);
}

#endif /* MEMBUF_TRACK_H */
