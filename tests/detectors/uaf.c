/* Use after free: the code frees a block and then reads it (READ: system, pool) or writes to it
 * (WRITE: system, pool, guard(system)); the fix reads or writes first. */
#include "detector.h"

enum { READ, WRITE };

static const det_program programs[] = {
    {"uaf_read_system", DET_SYSTEM, READ},
    {"uaf_read_pool", DET_POOL, READ},
    {"uaf_write_system", DET_SYSTEM, WRITE},
    {"uaf_write_pool", DET_POOL, WRITE},
    {"uaf_write_guard", DET_GSYS, WRITE},
};

static void touch(unsigned char *p, int mode)
{
    if (mode == WRITE)
        p[det_opaque(4)] = 7;
    else
        det_sink = p[det_opaque(4)];
}

static void use_after_free(mb_alloc *a, const det_program *prog)
{
    unsigned char *p = det_need(mb_malloc(a, det_opaque(24)), "mb_malloc");
    memset(p, 1, 24);
    if (det_clean)
        touch(p, prog->mode);
    mb_free(a, p);
    if (!det_clean)
        touch(p, prog->mode); /* reads or writes the freed block */
}

DET_MAIN(programs, use_after_free)
