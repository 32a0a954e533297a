/* Internal C library and page access, with a test hook that makes them fail. */
/* MAP_ANONYMOUS under -std=c11; a feature-test macro is reserved by design. */
#define _DEFAULT_SOURCE // NOLINT(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp)
#include "internal.h"

#include <stdatomic.h>
#include <stdlib.h>
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

void *mb__sys_map_aligned(size_t size, size_t align)
{
    size_t span;
    if (sys_fails() || !mb__add(size, align, &span))
        return NULL;
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
