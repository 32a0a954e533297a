/* Leak of a pool block in an instance that lives as long as the process: a process-wide allocator
 * that is never deleted by design (so mb_alloc_delete's MB_LEAK report never runs). A helper loses
 * its last pointer to a block. At exit the leak oracle checks the still-alive instance; for a pool
 * this is the case LeakSanitizer cannot see, since the block lies in an mmap'd arena, not in a
 * heap chunk. The fix frees the block. */
#include "detector.h"

static mb_alloc *g_alloc; /* process lifetime; never deleted */

static __attribute__((noinline)) void checksum_scratch(void)
{
    unsigned char *p = det_need(mb_malloc(g_alloc, det_opaque(48)), "mb_malloc");
    memset(p, 0x5a, 48);
    det_sink = p[47];
#if DET_CLEAN
    mb_free(g_alloc, p);
#endif
}

static __attribute__((noinline)) void scrub_stack(void)
{
    volatile unsigned char pad[4096];
    memset((void *)pad, 0, sizeof pad);
}

int main(void)
{
    g_alloc = det_need(mb_alloc_pool_new(), "mb_alloc_pool_new");
    checksum_scratch();
    scrub_stack();
    det_oracle(g_alloc, 1, 1);
    return 0;
}
