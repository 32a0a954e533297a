/* Minimal test framework: always-on assertions that print both operands with file and line,
 * and a violation recorder for tests that provoke reports on purpose. */
#ifndef MEMBUF_TEST_H
#define MEMBUF_TEST_H

#include "membuf.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEST_FAIL_(...)                                                                          \
    do {                                                                                         \
        fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                                         \
        fprintf(stderr, __VA_ARGS__);                                                            \
        fputc('\n', stderr);                                                                     \
        abort();                                                                                 \
    } while (0)

#define ASSERT(c)                                                                                \
    do {                                                                                         \
        if (!(c))                                                                                \
            TEST_FAIL_("ASSERT(%s) failed", #c);                                                \
    } while (0)

#define ASSERT_INT_(a, op, b)                                                                    \
    do {                                                                                         \
        intmax_t a_ = (intmax_t)(a), b_ = (intmax_t)(b);                                         \
        if (!(a_ op b_))                                                                         \
            TEST_FAIL_("ASSERT(%s %s %s) failed: %jd vs %jd", #a, #op, #b, a_, b_);             \
    } while (0)
#define ASSERT_UINT_(a, op, b)                                                                   \
    do {                                                                                         \
        uintmax_t a_ = (uintmax_t)(a), b_ = (uintmax_t)(b);                                      \
        if (!(a_ op b_))                                                                         \
            TEST_FAIL_("ASSERT(%s %s %s) failed: %ju vs %ju", #a, #op, #b, a_, b_);             \
    } while (0)
#define ASSERT_EQ(a, b) ASSERT_INT_(a, ==, b)
#define ASSERT_NE(a, b) ASSERT_INT_(a, !=, b)
#define ASSERT_LT(a, b) ASSERT_INT_(a, <, b)
#define ASSERT_LE(a, b) ASSERT_INT_(a, <=, b)
#define ASSERT_GT(a, b) ASSERT_INT_(a, >, b)
#define ASSERT_GE(a, b) ASSERT_INT_(a, >=, b)
#define ASSERT_UEQ(a, b) ASSERT_UINT_(a, ==, b)
#define ASSERT_ULE(a, b) ASSERT_UINT_(a, <=, b)
#define ASSERT_PTR_EQ(a, b)                                                                      \
    do {                                                                                         \
        const void *a_ = (a), *b_ = (b);                                                         \
        if (a_ != b_)                                                                            \
            TEST_FAIL_("ASSERT_PTR_EQ(%s, %s) failed: %p vs %p", #a, #b, a_, b_);               \
    } while (0)
#define ASSERT_NULL(a) ASSERT_PTR_EQ(a, NULL)
#define ASSERT_NOT_NULL(a)                                                                       \
    do {                                                                                         \
        if ((a) == NULL)                                                                         \
            TEST_FAIL_("ASSERT_NOT_NULL(%s) failed", #a);                                       \
    } while (0)
#define ASSERT_STR_EQ(a, b)                                                                      \
    do {                                                                                         \
        const char *a_ = (a), *b_ = (b);                                                         \
        if (strcmp(a_, b_) != 0)                                                                 \
            TEST_FAIL_("ASSERT_STR_EQ(%s, %s) failed: \"%s\" vs \"%s\"", #a, #b, a_, b_);       \
    } while (0)
#define ASSERT_DBL_EQ(a, b)                                                                      \
    do {                                                                                         \
        double a_ = (a), b_ = (b);                                                               \
        if (!(a_ == b_))                                                                         \
            TEST_FAIL_("ASSERT_DBL_EQ(%s, %s) failed: %.17g vs %.17g", #a, #b, a_, b_);         \
    } while (0)
#define ASSERT_DBL_NEAR(a, b, tol)                                                               \
    do {                                                                                         \
        double a_ = (a), b_ = (b), t_ = (tol);                                                   \
        if (!(a_ - b_ <= t_ && b_ - a_ <= t_))                                                   \
            TEST_FAIL_("ASSERT_DBL_NEAR(%s, %s, %s) failed: %.17g vs %.17g", #a, #b, #tol, a_, \
                       b_);                                                                      \
    } while (0)

/* Records violations instead of aborting. Install with test_capture_begin(); every report is
 * appended; test_capture_end() restores the default handler. */
typedef struct test_capture {
    int count;
    mb_violation kinds[64];
    char last[1100]; /* a whole message (report.c: at most 1024 bytes) */
} test_capture;

static test_capture g_capture;

static void test_capture_fn_(mb_violation v, const char *message, void *user)
{
    test_capture *c = user;
    if (c->count < 64)
        c->kinds[c->count] = v;
    c->count++;
    snprintf(c->last, sizeof c->last, "%s", message);
}

static inline void test_capture_begin(void)
{
    memset(&g_capture, 0, sizeof g_capture);
    mb_set_violation_handler(test_capture_fn_, &g_capture);
}

static inline void test_capture_end(void) { mb_set_violation_handler(NULL, NULL); }

/* Asserts exactly one violation of kind k was captured since the last reset, then resets. */
#define ASSERT_ONE_VIOLATION(k)                                                                  \
    do {                                                                                         \
        if (g_capture.count != 1 || g_capture.kinds[0] != (k))                                   \
            TEST_FAIL_("expected exactly one %s, got %d report(s), first %s, last \"%s\"",      \
                       mb_violation_name(k), g_capture.count,                                    \
                       g_capture.count ? mb_violation_name(g_capture.kinds[0]) : "-",            \
                       g_capture.last);                                                          \
        memset(&g_capture, 0, sizeof g_capture);                                                 \
    } while (0)
#define ASSERT_NO_VIOLATION()                                                                    \
    do {                                                                                         \
        if (g_capture.count != 0)                                                                \
            TEST_FAIL_("expected no violation, got %d, last \"%s\"", g_capture.count,           \
                       g_capture.last);                                                          \
    } while (0)

/* Asserts the instance holds nothing (the leak oracle). */
#define ASSERT_NOTHING_LIVE(a)                                                                   \
    do {                                                                                         \
        mb_alloc_stats s_;                                                                       \
        mb_alloc_get_stats((a), &s_);                                                            \
        ASSERT_UEQ(s_.live_blocks, 0);                                                           \
        ASSERT_UEQ(s_.live_bytes, 0);                                                            \
    } while (0)

#define TEST_RUN(fn)                                                                             \
    do {                                                                                         \
        fprintf(stderr, "  %s\n", #fn);                                                          \
        fn();                                                                                    \
    } while (0)

#endif /* MEMBUF_TEST_H */
