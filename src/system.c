/* The system family: the C library's allocator behind the sized-header family (sized.c). */
#include "internal.h"

#include <stdlib.h>

static void *libc_malloc(void *ctx, size_t size)
{
    (void)ctx;
    return malloc(size);
}

static void *libc_realloc(void *ctx, void *p, size_t size)
{
    (void)ctx;
    return realloc(p, size);
}

static void libc_free(void *ctx, void *p)
{
    (void)ctx;
    free(p);
}

static const mb_alloc_vtable libc_vtable = {libc_malloc, libc_realloc, libc_free};

mb_alloc *mb_alloc_system_new(void) { return mb__sized_new(&libc_vtable, NULL, "system"); }
