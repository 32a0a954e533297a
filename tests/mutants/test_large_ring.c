/* Extra unit test run by ci/mutants.sh in stage 1 (built against the dev build's
 * libmembuf_internal.a; not a ctest entry). It kills 34-freed-ring-oldest-first, which no other
 * oracle sees: every family looks a pointer up in its live blocks before its ring of recently
 * freed addresses (mb__freed_ring in src/internal.h, shared by pool, guard and sized), so which
 * of two ring entries for a reused address is found changes only what a later double-free
 * report says.
 *
 * A pool's large block freed and then handed out again at the same address (glibc reuses the
 * chunk for a request of the same chunk size) is in the ring twice; a later double free of it
 * must name the size it had when it was freed last, not the size of the earlier block. */
#include "internal.h"
#include "test.h"

static void test_double_free_after_reuse_names_last_size(void)
{
    test_capture_begin();
    mb_alloc *a = mb_alloc_pool_new();
    ASSERT_NOT_NULL(a);
    void *x = mb_malloc(a, 1000);
    ASSERT_NOT_NULL(x);
    mb_free(a, x);
    void *y = mb_malloc(a, 990); /* the same glibc chunk size (1008 bytes) */
    ASSERT_NOT_NULL(y);
    mb_free(a, y);
    ASSERT_NO_VIOLATION();
    /* The premise, not skipped when it fails: this test is only run against glibc (the dev build),
     * whose tcache hands the chunk just freed back to the next request of its size. */
    ASSERT_PTR_EQ(y, x);
    mb_free(a, x); /* a double free: x == y was freed last as a 990-byte block */
    ASSERT(strstr(g_capture.last, "(990 bytes)") != NULL);
    ASSERT_ONE_VIOLATION(MB_DOUBLE_FREE);
    ASSERT_NOTHING_LIVE(a);
    mb_alloc_delete(a);
    test_capture_end();
}

int main(void)
{
    TEST_RUN(test_double_free_after_reuse_names_last_size);
    puts("test_large_ring: all passed");
    return 0;
}
