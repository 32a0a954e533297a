/* Read of uninitialised buffer contents (pool family): mb_buf_init leaves the contents
 * unspecified, and the code branches on an element before filling the buffer. The fix fills it
 * first. */
#include "detector.h"

int main(void)
{
    mb_alloc *a = det_need(mb_alloc_pool_new(), "mb_alloc_pool_new");
    mb_buf b;
    if (mb_buf_init(&b, a, det_opaque(16)) != MB_OK)
        return 2;
#if DET_CLEAN
    mb_buf_fill(&b, 0.25);
#endif
    for (size_t i = 0; i < b.len; i++)
        if (b.data[i] > 0.5)
            printf("element %zu is above 0.5\n", i);
    mb_buf_free(&b);
    return DET_FINISH(a);
}
