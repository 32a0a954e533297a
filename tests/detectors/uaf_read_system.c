/* Use after free (read) of a system block: the code frees a block and then reads it; the fix reads
 * first. */
#include "detector.h"

int main(void)
{
    mb_alloc *a = det_need(mb_alloc_system_new(), "mb_alloc_system_new");
    unsigned char *p = det_need(mb_malloc(a, det_opaque(24)), "mb_malloc");
    memset(p, 1, 24);
#if DET_CLEAN
    det_sink = p[det_opaque(4)];
    mb_free(a, p);
#else
    mb_free(a, p);
    det_sink = p[det_opaque(4)]; /* reads the freed block */
#endif
    return DET_FINISH(a);
}
