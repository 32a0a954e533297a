/* Double free of a system block: an error path frees the block and the common exit frees it again.
 * The fix clears the pointer after the first free (mb_free of NULL is a no-op). */
#include "detector.h"

int main(void)
{
    mb_alloc *a = det_need(mb_alloc_system_new(), "mb_alloc_system_new");
    unsigned char *p = det_need(mb_malloc(a, det_opaque(32)), "mb_malloc");
    memset(p, 1, 32);
    if (det_opaque(1)) { /* "error" path */
        mb_free(a, p);
#if DET_CLEAN
        p = NULL;
#endif
    }
    mb_free(a, p);
    return DET_FINISH(a);
}
