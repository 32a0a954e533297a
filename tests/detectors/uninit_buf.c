/* Read of uninitialised buffer contents: mb_buf_init leaves the contents unspecified, and the code
 * branches on an element before filling the buffer. Variants: FAMILY system and pool. The fix
 * fills it first. */
#include "detector.h"

static void uninit_read(mb_alloc *a)
{
    mb_buf b;
    if (mb_buf_init(&b, a, det_opaque(16)) != MB_OK)
        exit(2);
#if DET_CLEAN
    mb_buf_fill(&b, 0.25);
#endif
    for (size_t i = 0; i < b.len; i++)
        if (b.data[i] > 0.5)
            printf("element %zu is above 0.5\n", i);
    mb_buf_free(&b);
}

int main(void)
{
    return det_run(FAMILY, uninit_read);
}
