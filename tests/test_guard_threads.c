/* Instances in two threads: while a worker churns its own instance B (a guard's map insertions
 * and deletions, quarantine pushes and evictions; a pool's tags, carving and arenas; a system
 * instance's map), the main thread frees B's live block through its instance A over and over.
 * Each attempt must be reported as a mismatched free naming B, and B must end intact. What it
 * proves about the locking (no data race between A querying B and B changing what the query
 * reads) needs ThreadSanitizer: ci/tsan.sh runs this test under it. Every family is B once. */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"
#include "test.h"

#include <pthread.h>
#include <stdatomic.h>

enum { WORKER_STEPS = 200000, LIVE = 64 };

static mb_alloc *g_b;
static atomic_int g_done;

/* Sizes from a xorshift generator: the worker and the main thread draw independently. */
static uint32_t next_rand(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

static void *worker(void *arg)
{
    (void)arg;
    void *live[LIVE] = {0};
    uint32_t x = 12345;
    for (int i = 0; i < WORKER_STEPS; i++) {
        uint32_t r = next_rand(&x);
        void **slot = &live[r % LIVE];
        mb_free(g_b, *slot); /* NULL the first time round */
        *slot = mb_malloc(g_b, (r >> 8) % 600);
        if (!*slot) {
            fprintf(stderr, "worker: allocation failed\n");
            abort();
        }
    }
    for (int i = 0; i < LIVE; i++)
        mb_free(g_b, live[i]);
    atomic_store(&g_done, 1);
    return NULL;
}

/* B is a guard over a pool (guarded), a pool or a system instance; A a guard over a pool. */
static void mismatched_free_while_owner_churns(int kind)
{
    mb_alloc *inner_a = mb_alloc_pool_new(), *inner_b = mb_alloc_pool_new();
    mb_alloc *a = mb_alloc_guard_new(inner_a);
    g_b = kind == 0 ? mb_alloc_guard_new(inner_b) : kind == 1 ? inner_b : mb_alloc_system_new();
    ASSERT(inner_a && inner_b && a && g_b);
    unsigned char *pb = mb_malloc(g_b, 40); /* B's: stays live throughout */
    ASSERT_NOT_NULL(pb);
    memset(pb, 0x5a, 40);
    char want[160];
    snprintf(want, sizeof want, "mismatched-free: block %p (40 bytes) allocated by %s#%lu, freed by guard(pool)#%lu",
             (void *)pb, mb_alloc_name(g_b), g_b->id, a->id);

    test_capture_begin();
    atomic_store(&g_done, 0);
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, worker, NULL), 0);
    /* A churns too, so both guards' maps change while the other one may be reading. */
    void *own[LIVE] = {0};
    uint32_t x = 777;
    long attempts = 0;
    while (!atomic_load(&g_done) || attempts < 1000) {
        uint32_t r = next_rand(&x);
        void **slot = &own[r % LIVE];
        mb_free(a, *slot);
        *slot = mb_malloc(a, (r >> 8) % 600);
        ASSERT_NOT_NULL(*slot);
        mb_free(a, pb);
        attempts++;
        ASSERT(strncmp(g_capture.last, want, strlen(want)) == 0);
        ASSERT_ONE_VIOLATION(MB_MISMATCHED_FREE);
    }
    ASSERT_EQ(pthread_join(t, NULL), 0);
    test_capture_end();
    for (int i = 0; i < LIVE; i++)
        mb_free(a, own[i]);

    /* B is back in this thread: its block was never touched, and is B's to free. */
    for (int i = 0; i < 40; i++)
        ASSERT_EQ(pb[i], 0x5a);
    mb_alloc_stats s;
    mb_alloc_get_stats(g_b, &s);
    ASSERT_UEQ(s.live_blocks, 1);
    mb_alloc_check(g_b);
    mb_free(g_b, pb);
    ASSERT_NOTHING_LIVE(g_b);
    ASSERT_NOTHING_LIVE(a);
    fprintf(stderr, "  %s: %ld mismatched frees attributed while the owner churned\n",
            mb_alloc_name(g_b), attempts);
    mb_alloc_delete(a);
    if (g_b != inner_b)
        mb_alloc_delete(g_b);
    mb_alloc_delete(inner_a);
    mb_alloc_delete(inner_b);
}

static void test_mismatched_free_while_owner_churns(void)
{
    for (int kind = 0; kind < 3; kind++)
        mismatched_free_while_owner_churns(kind);
}

int main(void)
{
    TEST_RUN(test_mismatched_free_while_owner_churns);
    puts("test_guard_threads: all passed");
    return 0;
}
