/* Double free of a system instance's only block: a cleanup helper frees the scratch block it was
 * given and the caller frees it again. With nothing live in the instance, membuf's counters prove
 * the second free is bad: it is reported and refused before libc sees it. The fix clears the
 * caller's pointer. */
#include "detector.h"

static __attribute__((noinline)) void release_scratch(mb_alloc *a, unsigned char **p)
{
    mb_free(a, *p);
#if DET_CLEAN
    *p = NULL;
#endif
}

int main(void)
{
    mb_alloc *a = det_need(mb_alloc_system_new(), "mb_alloc_system_new");
    unsigned char *p = det_need(mb_malloc(a, det_opaque(40)), "mb_malloc");
    memset(p, 2, 40);
    release_scratch(a, &p);
    mb_free(a, p);
    return DET_FINISH(a);
}
