/* Read of uninitialised buffer contents: mb_buf_init leaves the contents unspecified, and the code
 * branches on an element before filling the buffer. Programs: family system and pool. The fix
 * fills it first. */
#include "detector.h"

static const det_program programs[] = {
    {"uninit_buf_system", DET_SYSTEM, 0},
    {"uninit_buf_pool", DET_POOL, 0},
};

static void uninit_read(mb_alloc *a, const det_program *p)
{
    (void)p;
    mb_buf b;
    if (mb_buf_init(&b, a, det_opaque(16)) != MB_OK) {
        fprintf(stderr, "detector: mb_buf_init failed\n");
        exit(2);
    }
    if (det_clean)
        mb_buf_fill(&b, 0.25);
    for (size_t i = 0; i < b.len; i++)
        if (b.data[i] > 0.5)
            printf("element %zu is above 0.5\n", i);
    mb_buf_free(&b);
}

DET_MAIN(programs, uninit_read)
