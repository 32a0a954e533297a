/* Internal C library and page access, with a test hook that makes them fail. */
/* MAP_ANONYMOUS under -std=c11; a feature-test macro is reserved by design. */
#define _DEFAULT_SOURCE // NOLINT(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp)
#include "internal.h"

#include "track.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* The public hook mb_internal_fail_after. Atomic, so a thread that allocates while a test arms
 * the hook is no data race; the countdown is not meant for several threads at once. */
static atomic_bool g_fail_armed;
static atomic_uint_least64_t g_fail_countdown;

static bool sys_fails(void)
{
    if (MB__LIKELY(!atomic_load_explicit(&g_fail_armed, memory_order_relaxed)))
        return false;
    uint64_t left = atomic_load_explicit(&g_fail_countdown, memory_order_relaxed);
    if (left > 0) {
        atomic_store_explicit(&g_fail_countdown, left - 1, memory_order_relaxed);
        return false;
    }
    return true;
}

void mb_internal_fail_after(uint64_t n)
{
    atomic_store(&g_fail_countdown, n);
    atomic_store(&g_fail_armed, true);
}

void mb_internal_fail_never(void) { atomic_store(&g_fail_armed, false); }

void *mb__sys_malloc(size_t size) { return sys_fails() ? NULL : malloc(size); }

void *mb__sys_calloc(size_t n, size_t size) { return sys_fails() ? NULL : calloc(n, size); }

void *mb__sys_realloc(void *p, size_t size) { return sys_fails() ? NULL : realloc(p, size); }

void mb__sys_free(void *p) { free(p); }

/* The cache of mappings given back by deleted instances (mb__sys_unmap_cached): a program (or
 * a fuzzer) that makes and deletes pool instances by the thousand reuses warm pages instead of
 * mapping, faulting in and unmapping (a TLB shootdown on every CPU the process ran on) each
 * time. A spin lock: the critical sections are a few loads and stores. */
#define CACHE_SLOTS 8
static struct cached {
    void *base;
    size_t size, dirty;
} g_cache[CACHE_SLOTS];
static size_t g_ncached;
static atomic_flag g_cache_lock = ATOMIC_FLAG_INIT;

static void cache_lock(void)
{
    while (atomic_flag_test_and_set_explicit(&g_cache_lock, memory_order_acquire))
        ;
}
static void cache_unlock(void) { atomic_flag_clear_explicit(&g_cache_lock, memory_order_release); }

/* A cached mapping of size bytes aligned to align, zeroed and writable; NULL if none. */
static void *cache_take(size_t size, size_t align)
{
    struct cached c = {NULL, 0, 0};
    cache_lock();
    for (size_t i = g_ncached; i-- > 0;) {
        if (g_cache[i].size == size && (uintptr_t)g_cache[i].base % align == 0) {
            c = g_cache[i];
            g_cache[i] = g_cache[--g_ncached];
            break;
        }
    }
    cache_unlock();
    if (c.base) {
        mb__track_writable(c.base, c.size);
        memset(c.base, 0, c.dirty); /* as a new mapping: zeroed */
    }
    return c.base;
}

void mb__sys_unmap_cached(void *p, size_t size, size_t dirty)
{
    if (!p)
        return;
    bool kept = false;
    mb__track_noaccess(p, size); /* before it is shared: nobody's memory from now on */
    cache_lock();
    if (g_ncached < CACHE_SLOTS) {
        g_cache[g_ncached++] = (struct cached){p, size, dirty < size ? dirty : size};
        kept = true;
    }
    cache_unlock();
    if (!kept) {
        mb__track_writable(p, size); /* no poisoned shadow left for the next mapping */
        mb__sys_unmap(p, size);
    }
}

void *mb__sys_map_aligned(size_t size, size_t align)
{
    size_t span;
    if (sys_fails() || !mb__add(size, align, &span))
        return NULL;
    void *cached = cache_take(size, align);
    if (cached)
        return cached;
    /* Over-map by align, then trim the unaligned head and the tail. */
    uint8_t *raw = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED)
        return NULL;
    uintptr_t start = ((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1);
    size_t head = start - (uintptr_t)raw;
    size_t tail = span - head - size;
    if (head)
        munmap(raw, head);
    if (tail)
        munmap((uint8_t *)start + size, tail);
    return (void *)start;
}

void mb__sys_unmap(void *p, size_t size)
{
    if (p)
        munmap(p, size);
}
