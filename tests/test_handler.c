/* Hostile violation handlers: a handler may call back into any instance, the reporting one
 * included (allocate, free, check, free other blocks of it, delete other instances), and may
 * not return (longjmp). Every family must stay consistent: no false report afterwards, exact
 * statistics, every block freed cleanly at the end (ASan, Valgrind and TSan see the rest).
 * Also: reports are one line whatever the names hold, queued reports survive a longjmp, and a
 * report that cannot be queued is still counted. */
#include "internal.h"
#include "test.h"

#include <setjmp.h>

enum { NFAM = 5, VICTIMS = 8 };

typedef struct hostile {
    mb_alloc *inst[NFAM];
    void *victims[NFAM][VICTIMS]; /* blocks the handler frees, one per report */
    int next_victim[NFAM];
    int reports;
    int reentered; /* reports made by the handler's own calls */
    bool in_handler;
    jmp_buf *escape; /* longjmp here instead of returning, if set */
    char last[1024];
    /* Blocks a misuse frees at its end, which a longjmp out of it skips: hostile_end frees
     * what is left. */
    struct { mb_alloc *a; void *p; } left[4];
    int nleft;
} hostile;

static void leave_for_end(hostile *h, mb_alloc *a, void *p)
{
    ASSERT_LT(h->nleft, 4);
    h->left[h->nleft].a = a;
    h->left[h->nleft++].p = p;
}

/* Frees p through a now, as the misuse's own end. */
static void free_left(hostile *h, mb_alloc *a, void *p)
{
    for (int i = 0; i < h->nleft; i++)
        if (h->left[i].p == p)
            h->left[i] = h->left[--h->nleft];
    mb_free(a, p);
}

static void *libc_malloc(void *c, size_t n) { (void)c; return malloc(n); }
static void *libc_realloc(void *c, void *p, size_t n) { (void)c; return realloc(p, n); }
static void libc_free(void *c, void *p) { (void)c; free(p); }
static const mb_alloc_vtable libc_vt = {libc_malloc, libc_realloc, libc_free};

/* On every report: allocate, resize and free through every instance, check every instance,
 * free one victim block of each, and provoke a report of its own (a double free through the
 * pool), which must be delivered only after this call returns. */
static void hostile_fn(mb_violation v, const char *message, void *user)
{
    hostile *h = user;
    (void)v;
    h->reports++;
    snprintf(h->last, sizeof h->last, "%s", message);
    if (strchr(message, '\n'))
        TEST_FAIL_("report spans lines: %s", message);
    if (h->in_handler) { /* a report the handler's own calls made: delivered after it returned */
        h->reentered++;
        return;
    }
    h->in_handler = true;
    for (int i = 0; i < NFAM; i++) {
        mb_alloc *a = h->inst[i];
        unsigned char *p = mb_malloc(a, 40);
        ASSERT_NOT_NULL(p);
        memset(p, 0x11, 40);
        p = mb_realloc(a, p, 700);
        ASSERT_NOT_NULL(p);
        mb_free(a, p);
        mb_alloc_check(a);
        if (h->next_victim[i] < VICTIMS)
            mb_free(a, h->victims[i][h->next_victim[i]++]);
    }
    void *q = mb_malloc(h->inst[1], 16);
    mb_free(h->inst[1], q);
    int before = h->reentered;
    mb_free(h->inst[1], q); /* delivered, nested, when this call returns */
    ASSERT_EQ(h->reentered, before + 1);
    ASSERT(strstr(h->last, "double-free") != NULL);
    h->in_handler = false;
    if (h->escape)
        longjmp(*h->escape, 1);
}

static void hostile_new(hostile *h)
{
    memset(h, 0, sizeof *h);
    h->inst[0] = mb_alloc_system_new();
    h->inst[1] = mb_alloc_pool_new();
    h->inst[2] = mb_alloc_guard_new(h->inst[0]);
    h->inst[3] = mb_alloc_guard_new(h->inst[1]);
    h->inst[4] = mb_alloc_custom_new(&libc_vt, NULL, "custom");
    for (int i = 0; i < NFAM; i++) {
        ASSERT_NOT_NULL(h->inst[i]);
        for (int k = 0; k < VICTIMS; k++) {
            h->victims[i][k] = mb_malloc(h->inst[i], (size_t)(8 + 24 * k));
            ASSERT_NOT_NULL(h->victims[i][k]);
        }
    }
    mb_set_violation_handler(hostile_fn, h);
}

/* Frees what the handler left, checks every instance is consistent and clean, deletes all. */
static void hostile_end(hostile *h)
{
    while (h->nleft > 0)
        free_left(h, h->left[h->nleft - 1].a, h->left[h->nleft - 1].p);
    for (int i = 0; i < NFAM; i++)
        while (h->next_victim[i] < VICTIMS)
            mb_free(h->inst[i], h->victims[i][h->next_victim[i]++]);
    mb_set_violation_handler(test_capture_fn_, &g_capture);
    memset(&g_capture, 0, sizeof g_capture);
    for (int i = 0; i < NFAM; i++) {
        mb_alloc_check(h->inst[i]);
        if (i >= 2)
            ASSERT_NOTHING_LIVE(h->inst[i]);
    }
    mb_alloc_delete(h->inst[2]);
    mb_alloc_delete(h->inst[3]);
    ASSERT_NOTHING_LIVE(h->inst[0]);
    ASSERT_NOTHING_LIVE(h->inst[1]);
    mb_alloc_delete(h->inst[4]);
    mb_alloc_delete(h->inst[1]);
    mb_alloc_delete(h->inst[0]);
    ASSERT_NO_VIOLATION();
    test_capture_end();
}

/* One misuse per family and kind, each found in the middle of an operation. */
typedef void (*misuse_fn)(hostile *h, int fam);

static void misuse_double_free(hostile *h, int fam)
{
    void *p = mb_malloc(h->inst[fam], 24);
    mb_free(h->inst[fam], p);
    mb_free(h->inst[fam], p);
}

static void misuse_mismatch(hostile *h, int fam)
{
    int other = (fam + 3) % NFAM;
    void *p = mb_malloc(h->inst[other], 24);
    leave_for_end(h, h->inst[other], p);
    mb_free(h->inst[fam], p);
    ASSERT_NULL(mb_realloc(h->inst[fam], p, 50));
    free_left(h, h->inst[other], p);
}

static void misuse_foreign(hostile *h, int fam)
{
    long local[4];
    mb_free(h->inst[fam], &local[1]);
}

/* Guards only: damage found at free, at check, at eviction from the quarantine, at delete. */
static void misuse_guard_damage(hostile *h, int fam)
{
    if (fam < 2 || fam > 3)
        return;
    mb_alloc *g = h->inst[fam];
    unsigned char *p = mb_malloc(g, 24);
    p[24] ^= 1; /* rear canary */
    mb_free(g, p);
    p = mb_malloc(g, 24);
    leave_for_end(h, g, p); /* damage is reported once per block: its free reports nothing */
    p[-1] ^= 1;
    mb_alloc_check(g);
    p[-1] ^= 1;
    free_left(h, g, p);
    p[3] = 0; /* write after free: found when p leaves the quarantine */
    for (int i = 0; i < 70; i++)
        mb_free(g, mb_malloc(g, 16));
    /* A guard deleted with a damaged live block: the leak is reported while the guard is whole,
     * the damage (found as it releases the block) after it is gone; the handler uses neither. */
    mb_alloc *tmp = mb_alloc_guard_new(h->inst[fam - 2]);
    ASSERT_NOT_NULL(tmp);
    unsigned char *t = mb_malloc(tmp, 8);
    t[8] ^= 1;
    mb_alloc_delete(tmp);
}

static const misuse_fn misuses[] = {misuse_double_free, misuse_mismatch, misuse_foreign,
                                    misuse_guard_damage};

static void test_handler_calls_back_in(void)
{
    for (size_t m = 0; m < sizeof misuses / sizeof *misuses; m++) {
        for (int fam = 0; fam < NFAM; fam++) {
            hostile h;
            hostile_new(&h);
            misuses[m](&h, fam);
            if (m < 3 || (fam >= 2 && fam <= 3)) {
                ASSERT_GT(h.reports, 0);
                ASSERT_GT(h.reentered, 0); /* its own double free reached it, later */
            }
            hostile_end(&h);
        }
    }
}

/* Runs misuse on family fam with a handler that longjmps back here at its first report;
 * returns whether it jumped. */
static int run_jumping(hostile *const h, const misuse_fn misuse, const int fam)
{
    jmp_buf env;
    volatile int jumped = 0;
    h->escape = &env;
    if (setjmp(env) == 0)
        misuse(h, fam);
    else
        jumped = 1;
    h->escape = NULL;
    h->in_handler = false;
    return jumped;
}

/* The handler longjmps out of every report; the instances stay consistent and a report still
 * queued when it jumps is delivered by the next call that can report. */
static void test_handler_longjmps(void)
{
    for (size_t m = 0; m < sizeof misuses / sizeof *misuses; m++) {
        for (int fam = 0; fam < NFAM; fam++) {
            hostile h;
            hostile_new(&h);
            int jumped = run_jumping(&h, misuses[m], fam);
            /* Deliver whatever is still queued: one call that can report. */
            mb_free(h.inst[0], NULL);
            mb_alloc_check(h.inst[0]);
            if (m < 3 || (fam >= 2 && fam <= 3))
                ASSERT_EQ(jumped, 1);
            hostile_end(&h);
        }
    }
}

static void count_fn(mb_violation v, const char *message, void *user)
{
    (void)v;
    int *n = user;
    (*n)++;
    if (strchr(message, '\n') || strchr(message, '\x01'))
        TEST_FAIL_("report holds a control character: %s", message);
}

/* Reports arrive in the order found, one handler call each: three frees, one report each; then
 * one call that finds several -- a guard deleted with damaged live blocks reports the leak (the
 * generic layer, first) and then each block's damage (the guard's last sweep). */
static void test_reports_in_order(void)
{
    mb_alloc *pool = mb_alloc_pool_new();
    mb_alloc *g = mb_alloc_guard_new(pool);
    unsigned char *p[3];
    for (int i = 0; i < 3; i++)
        p[i] = mb_malloc(g, 32);
    p[0][32] ^= 1;    /* overflow */
    p[1][-1] ^= 1;    /* underflow */
    p[2][32 + 15] ^= 1; /* overflow */
    test_capture_begin();
    for (int i = 0; i < 3; i++)
        mb_free(g, p[i]);
    ASSERT_EQ(g_capture.count, 3);
    ASSERT_EQ(g_capture.kinds[0], MB_OVERFLOW);
    ASSERT_EQ(g_capture.kinds[1], MB_UNDERFLOW);
    ASSERT_EQ(g_capture.kinds[2], MB_OVERFLOW);
    memset(&g_capture, 0, sizeof g_capture);
    mb_alloc *doomed = mb_alloc_guard_new(pool);
    unsigned char *d0 = mb_malloc(doomed, 24), *d1 = mb_malloc(doomed, 24);
    ASSERT(doomed && d0 && d1);
    d0[24] ^= 1;
    d1[-2] ^= 1;
    mb_alloc_delete(doomed);
    ASSERT_EQ(g_capture.count, 3);
    ASSERT_EQ(g_capture.kinds[0], MB_LEAK);
    ASSERT(g_capture.kinds[1] == MB_OVERFLOW || g_capture.kinds[2] == MB_OVERFLOW);
    ASSERT(g_capture.kinds[1] == MB_UNDERFLOW || g_capture.kinds[2] == MB_UNDERFLOW);
    memset(&g_capture, 0, sizeof g_capture);
    mb_alloc_delete(g);
    mb_alloc_delete(pool);
    ASSERT_NO_VIOLATION();
    test_capture_end();
}

static jmp_buf g_env;
static int g_jumped_reports;
static void jump_fn(mb_violation v, const char *message, void *user)
{
    (void)v;
    (void)message;
    (void)user;
    g_jumped_reports++;
    longjmp(g_env, 1);
}

static void test_rest_delivered_after_jump(void)
{
    mb_alloc *pool = mb_alloc_pool_new();
    mb_alloc *g = mb_alloc_guard_new(pool);
    unsigned char *volatile p[3];
    for (int i = 0; i < 3; i++) {
        p[i] = mb_malloc(g, 32);
        p[i][-3] ^= 1;
    }
    g_jumped_reports = 0;
    mb_set_violation_handler(jump_fn, NULL);
    if (setjmp(g_env) == 0)
        mb_alloc_check(g); /* finds three; the handler jumps out at the first */
    ASSERT_EQ(g_jumped_reports, 1);
    int n = 0;
    mb_set_violation_handler(count_fn, &n);
    mb_alloc_check(pool); /* any call that can report delivers the two still queued */
    ASSERT_EQ(n, 2);
    mb_alloc_check(g); /* damage is reported once per block */
    ASSERT_EQ(n, 2);
    for (int i = 0; i < 3; i++) {
        p[i][-3] ^= 1;
        mb_free(g, p[i]);
    }
    mb_alloc_delete(g);
    mb_alloc_delete(pool);
    ASSERT_EQ(n, 2);
    mb_set_violation_handler(NULL, NULL);
}

/* Names holding control characters cannot break the one-line promise. */
static void test_reports_are_one_line(void)
{
    mb_alloc *a = mb_alloc_custom_new(&libc_vt, NULL, "evil\nname\x01\t");
    ASSERT_NOT_NULL(a);
    ASSERT_STR_EQ(mb_alloc_name(a), "evil\nname\x01\t"); /* the name itself is kept */
    test_capture_begin();
    long local;
    mb_free(a, &local);
    ASSERT(strstr(g_capture.last, "evil\\nname\\x01\\t#") != NULL);
    ASSERT(strchr(g_capture.last, '\n') == NULL);
    ASSERT_ONE_VIOLATION(MB_FOREIGN_FREE);
    /* A name too long for a message: cut and marked, still one line. */
    char longname[3000];
    memset(longname, '\n', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    mb_alloc *b = mb_alloc_custom_new(&libc_vt, NULL, longname);
    ASSERT_NOT_NULL(b);
    mb_free(b, &local);
    size_t len = strlen(g_capture.last);
    ASSERT(len > 3 && strcmp(g_capture.last + len - 3, "...") == 0);
    ASSERT(strchr(g_capture.last, '\n') == NULL);
    ASSERT_ONE_VIOLATION(MB_FOREIGN_FREE);
    mb_alloc_delete(b);
    mb_alloc_delete(a);
    ASSERT_NO_VIOLATION();
    test_capture_end();
}

/* A report that cannot be queued (no memory for the entry) is still counted and delivered as a
 * summary with the kind of the first one lost. */
static void test_unqueued_reports_counted(void)
{
    mb_alloc *pool = mb_alloc_pool_new();
    mb_alloc *g = mb_alloc_guard_new(pool);
    unsigned char *p[3];
    for (int i = 0; i < 3; i++) {
        p[i] = mb_malloc(g, 32);
        p[i][40] ^= 1;
    }
    test_capture_begin();
    mb__report_queue_fail(true);
    mb_alloc_check(g);
    mb__report_queue_fail(false);
    ASSERT(strstr(g_capture.last, "3 violations found but not queued") != NULL);
    ASSERT_ONE_VIOLATION(MB_OVERFLOW);
    for (int i = 0; i < 3; i++) {
        p[i][40] ^= 1;
        mb_free(g, p[i]);
    }
    mb_alloc_delete(g);
    mb_alloc_delete(pool);
    ASSERT_NO_VIOLATION();
    test_capture_end();
}

int main(void)
{
    TEST_RUN(test_handler_calls_back_in);
    TEST_RUN(test_handler_longjmps);
    TEST_RUN(test_reports_in_order);
    TEST_RUN(test_rest_delivered_after_jump);
    TEST_RUN(test_reports_are_one_line);
    TEST_RUN(test_unqueued_reports_counted);
    puts("test_handler: all passed");
    return 0;
}
