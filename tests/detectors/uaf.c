/* Use after free: the code frees a block and then reads it (READ: system, pool) or writes to it
 * (WRITE: system, pool, guard(system)); the fix reads or writes first. */
#include "detector.h"

#if !READ == !WRITE
#error "build with -DREAD=1 or -DWRITE=1"
#endif

#if WRITE
#define TOUCH(p) ((p)[det_opaque(4)] = 7)
#else
#define TOUCH(p) (det_sink = (p)[det_opaque(4)])
#endif

static void use_after_free(mb_alloc *a)
{
    unsigned char *p = det_need(mb_malloc(a, det_opaque(24)), "mb_malloc");
    memset(p, 1, 24);
#if DET_CLEAN
    TOUCH(p);
    mb_free(a, p);
#else
    mb_free(a, p);
    TOUCH(p); /* reads or writes the freed block */
#endif
}

int main(void)
{
    return det_run(FAMILY, use_after_free);
}
