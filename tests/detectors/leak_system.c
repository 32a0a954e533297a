/* Leak of a system block: a helper allocates scratch space and returns without freeing it, so the
 * last pointer to the block is lost. The fix frees it before returning. */
#include "detector.h"

static __attribute__((noinline)) void checksum_scratch(mb_alloc *a)
{
    unsigned char *p = det_need(mb_malloc(a, det_opaque(48)), "mb_malloc");
    memset(p, 0x5a, 48);
    det_sink = p[47];
#if DET_CLEAN
    mb_free(a, p);
#endif
}

/* Overwrites the stack the helper used, so no stale copy of its pointer survives there. */
static __attribute__((noinline)) void scrub_stack(void)
{
    volatile unsigned char pad[4096];
    memset((void *)pad, 0, sizeof pad);
}

int main(void)
{
    mb_alloc *a = det_need(mb_alloc_system_new(), "mb_alloc_system_new");
    checksum_scratch(a);
    scrub_stack();
    return DET_FINISH(a);
}
