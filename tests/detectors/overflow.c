/* Heap overflow: an off-by-one loop (<= instead of <) writes one byte past the end of a 24-byte
 * block. Programs: family system, pool and guard(system). */
#include "detector.h"

static const det_program programs[] = {
    {"overflow_system", DET_SYSTEM, 0},
    {"overflow_pool", DET_POOL, 0},
    {"overflow_guard", DET_GSYS, 0},
};

static void overflow(mb_alloc *a, const det_program *prog)
{
    (void)prog;
    size_t n = det_opaque(24);
    unsigned char *p = det_need(mb_malloc(a, n), "mb_malloc");
    for (size_t i = 0; det_clean ? i < n : i <= n; i++) /* the fix: < */
        p[i] = (unsigned char)i;
    mb_free(a, p);
}

DET_MAIN(programs, overflow)
