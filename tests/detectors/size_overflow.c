/* Size overflow: an element count from the input is multiplied by sizeof(double) unchecked; the
 * product wraps to 16 bytes, the allocation "succeeds" and the first writes run past it.
 * Programs: family system and guard(system). The fix sizes the buffer with mb_buf_init, which
 * refuses with MB_EOVERFLOW. */
#include "detector.h"

static const det_program programs[] = {
    {"size_overflow_system", DET_SYSTEM, 0},
    {"size_overflow_guard", DET_GSYS, 0},
};

static void checked(mb_alloc *a, size_t n, size_t fill)
{
    mb_buf b;
    mb_status st = mb_buf_init(&b, a, n);
    if (st == MB_OK) {
        for (size_t i = 0; i < fill; i++)
            b.data[i] = 1.0;
    } else {
        printf("refused %zu doubles: %s\n", n, mb_strerror(st));
    }
    mb_buf_free(&b);
}

static void unchecked(mb_alloc *a, size_t n, size_t fill)
{
    double *d = mb_malloc(a, n * sizeof(double));
    if (d) {
        for (size_t i = 0; i < fill; i++)
            d[i] = 1.0;
    }
    mb_free(a, d);
}

static void size_overflow(mb_alloc *a, const det_program *p)
{
    (void)p;
    size_t n = det_opaque(SIZE_MAX / sizeof(double) + 3); /* n * 8 wraps to 16 */
    size_t fill = n < 4 ? n : 4;
    if (det_clean)
        checked(a, n, fill);
    else
        unchecked(a, n, fill);
}

DET_MAIN(programs, size_overflow)
