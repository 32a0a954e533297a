/* Planted bugs in *pool* blocks, which live inside a live arena where a plain allocator's
 * neighbours would hide them. Each mode must be reported by ASan (asan preset) and by Valgrind
 * Memcheck (valgrind preset) through the pool's track layer; "clean" is the fixed twin and must be
 * silent under both. Usage: pool_bugs clean|uaf-read|uaf-write|overflow|underflow */
#include <membuf.h>

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: pool_bugs clean|uaf-read|uaf-write|overflow|underflow\n");
        return 2;
    }
    const char *mode = argv[1];
    mb_alloc *pool = mb_alloc_pool_new();
    if (!pool) {
        fprintf(stderr, "pool_bugs: cannot create pool\n");
        return 2;
    }
    /* Neighbours on both sides, so a missed report cannot be blamed on an unmapped page. */
    unsigned char *before = mb_malloc(pool, 24);
    unsigned char *p = mb_malloc(pool, 24);
    unsigned char *after = mb_malloc(pool, 24);
    if (!before || !p || !after)
        return 2;
    memset(before, 1, 24);
    memset(p, 2, 24);
    memset(after, 3, 24);
    volatile unsigned char sink = 0;
    if (strcmp(mode, "clean") == 0) {
        sink = p[23];
        p[0] = 9;
        mb_free(pool, p);
    } else if (strcmp(mode, "uaf-read") == 0) {
        mb_free(pool, p);
        sink = p[4];
    } else if (strcmp(mode, "uaf-write") == 0) {
        mb_free(pool, p);
        p[4] = 7;
    } else if (strcmp(mode, "overflow") == 0) {
        p[24] = 7;
        mb_free(pool, p);
    } else if (strcmp(mode, "underflow") == 0) {
        p[-1] = 7;
        mb_free(pool, p);
    } else {
        fprintf(stderr, "pool_bugs: unknown mode '%s'\n", mode);
        return 2;
    }
    (void)sink;
    mb_free(pool, before);
    mb_free(pool, after);
    mb_alloc_delete(pool);
    printf("pool_bugs: %s finished without a report\n", mode);
    return 0;
}
