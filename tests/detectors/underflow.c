/* Heap underflow: a backwards loop has an off-by-one bound (i >= -1 instead of i >= 0) and writes
 * the byte before a 24-byte block. Programs: family system, pool and guard(system). */
#include "detector.h"

static const det_program programs[] = {
    {"underflow_system", DET_SYSTEM, 0},
    {"underflow_pool", DET_POOL, 0},
    {"underflow_guard", DET_GSYS, 0},
};

static void underflow(mb_alloc *a, const det_program *prog)
{
    (void)prog;
    size_t n = det_opaque(24);
    unsigned char *p = det_need(mb_malloc(a, n), "mb_malloc");
    long last = det_clean ? 0 : -1; /* the fix: 0 */
    for (long i = (long)n - 1; i >= last; i--)
        p[i] = (unsigned char)i;
    mb_free(a, p);
}

DET_MAIN(programs, underflow)
