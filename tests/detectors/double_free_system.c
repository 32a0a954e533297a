/* Double free of a system block: an error path frees the block and the common exit frees it again,
 * while the program holds other blocks of the instance (so membuf's counters cannot tell; see
 * double_free_system_sole for the case they can). The fix clears the pointer after the first
 * free (mb_free of NULL is a no-op). */
#include "detector.h"

int main(void)
{
    mb_alloc *a = det_need(mb_alloc_system_new(), "mb_alloc_system_new");
    void *session = det_need(mb_malloc(a, det_opaque(64)), "mb_malloc"); /* long-lived */
    unsigned char *p = det_need(mb_malloc(a, det_opaque(32)), "mb_malloc");
    memset(p, 1, 32);
    if (det_opaque(1)) { /* "error" path */
        mb_free(a, p);
#if DET_CLEAN
        p = NULL;
#endif
    }
    mb_free(a, p);
    mb_free(a, session);
    return DET_FINISH(a);
}
