/* Size overflow: an element count from the input is multiplied by sizeof(double) unchecked; the
 * product wraps to 16 bytes, the allocation "succeeds" and the first writes run past it.
 * Variants: FAMILY system and guard(system). The fix sizes the buffer with mb_buf_init, which
 * refuses with MB_EOVERFLOW. */
#include "detector.h"

static void size_overflow(mb_alloc *a)
{
    size_t n = det_opaque(SIZE_MAX / sizeof(double) + 3); /* n * 8 wraps to 16 */
    size_t fill = n < 4 ? n : 4;
#if DET_CLEAN
    mb_buf b;
    mb_status st = mb_buf_init(&b, a, n);
    if (st == MB_OK) {
        for (size_t i = 0; i < fill; i++)
            b.data[i] = 1.0;
    } else {
        printf("refused %zu doubles: %s\n", n, mb_strerror(st));
    }
    mb_buf_free(&b);
#else
    double *d = mb_malloc(a, n * sizeof(double));
    if (d) {
        for (size_t i = 0; i < fill; i++)
            d[i] = 1.0;
    }
    mb_free(a, d);
#endif
}

int main(void)
{
    return det_run(FAMILY, size_overflow);
}
