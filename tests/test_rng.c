/* The RNG: golden xoshiro256** outputs, seeding, doubles in [0, 1), and the normal generator's
 * distribution (moments, tail mass, a binned chi-square against the normal CDF). */
#include "internal.h"
#include "test.h"

#include <math.h>

static void test_golden_state(void)
{
    /* State {1, 2, 3, 4}: the reference outputs of xoshiro256** (Vigna's C code). */
    static const uint64_t want[10] = {
        UINT64_C(11520), UINT64_C(0), UINT64_C(1509978240), UINT64_C(1215971899390074240),
        UINT64_C(1216172134540287360), UINT64_C(607988272756665600),
        UINT64_C(16172922978634559625), UINT64_C(8476171486693032832),
        UINT64_C(10595114339597558777), UINT64_C(2904607092377533576)};
    mb_rng r = {{1, 2, 3, 4}};
    for (int i = 0; i < 10; i++)
        ASSERT_UEQ(mb_rng_u64(&r), want[i]);
}

static void test_golden_seed(void)
{
    /* mb_rng_seed(42): computed with an independent Python implementation of splitmix64 +
     * xoshiro256** (arbitrary-precision integers masked to 64 bits). */
    static const uint64_t want[5] = {
        UINT64_C(1546998764402558742), UINT64_C(6990951692964543102),
        UINT64_C(12544586762248559009), UINT64_C(17057574109182124193),
        UINT64_C(18295552978065317476)};
    mb_rng r;
    mb_rng_seed(&r, 42);
    for (int i = 0; i < 5; i++)
        ASSERT_UEQ(mb_rng_u64(&r), want[i]);
}

static void test_seeding(void)
{
    mb_rng a, b, c;
    mb_rng_seed(&a, 7);
    mb_rng_seed(&b, 7);
    mb_rng_seed(&c, 8);
    int differ = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t x = mb_rng_u64(&a);
        ASSERT_UEQ(x, mb_rng_u64(&b));
        differ += x != mb_rng_u64(&c);
    }
    ASSERT_GT(differ, 95);
    mb_rng z;
    mb_rng_seed(&z, 0);
    ASSERT(z.s[0] | z.s[1] | z.s[2] | z.s[3]);
    mb_rng_seed(NULL, 1); /* no-op */
}

static void test_double_range(void)
{
    mb_rng r;
    mb_rng_seed(&r, 3);
    double sum = 0;
    enum { N = 200000 };
    for (int i = 0; i < N; i++) {
        double d = mb_rng_double(&r);
        ASSERT(d >= 0.0 && d < 1.0);
        sum += d;
    }
    ASSERT_DBL_NEAR(sum / N, 0.5, 0.005);
}

static double phi(double x) { return 0.5 * erfc(-x / sqrt(2.0)); }

static void test_normal_distribution(void)
{
    enum { N = 400000, BINS = 40 };
    mb_rng r;
    mb_rng_seed(&r, 12345);
    double sum = 0, sum2 = 0, sum4 = 0;
    long tail = 0;
    long bin[BINS + 2] = {0};
    const double lo = -4, width = 8.0 / BINS;
    for (int i = 0; i < N; i++) {
        double x = mb_rng_normal(&r);
        ASSERT(isfinite(x));
        sum += x;
        sum2 += x * x;
        sum4 += x * x * x * x;
        tail += fabs(x) > 3.6541528853610088;
        int k = x < lo ? 0 : x >= -lo ? BINS + 1 : 1 + (int)((x - lo) / width);
        if (k > BINS)
            k = BINS + 1;
        bin[k]++;
    }
    double mean = sum / N, var = sum2 / N - mean * mean, kurt = sum4 / N;
    /* Standard errors: mean 1/sqrt(N) = 0.0016, variance sqrt(2/N) = 0.0022, 4th moment
     * sqrt(96/N) = 0.015; bounds are about 5 sigma. */
    ASSERT_DBL_NEAR(mean, 0.0, 0.008);
    ASSERT_DBL_NEAR(var, 1.0, 0.011);
    ASSERT_DBL_NEAR(kurt, 3.0, 0.08);
    /* Tail mass beyond r: 2 * (1 - Phi(r)) = 2.58e-4, about 103 of N; Poisson 5 sigma ~ 50. */
    double want_tail = 2.0 * (1.0 - phi(3.6541528853610088)) * N;
    ASSERT_DBL_NEAR((double)tail, want_tail, 5 * sqrt(want_tail) + 1);
    /* Chi-square over 42 bins (41 degrees of freedom): the 99.99th percentile is about 80. */
    double chi2 = 0;
    for (int k = 0; k < BINS + 2; k++) {
        double a = k == 0 ? -INFINITY : lo + (k - 1) * width;
        double b = k == BINS + 1 ? INFINITY : lo + k * width;
        double e = N * (phi(b) - phi(a));
        chi2 += (bin[k] - e) * (bin[k] - e) / e;
    }
    if (!(chi2 < 80))
        TEST_FAIL_("chi-square %.1f over 41 degrees of freedom: not normal", chi2);
}

static void test_normal_deterministic(void)
{
    mb_rng a, b;
    mb_rng_seed(&a, 99);
    mb_rng_seed(&b, 99);
    for (int i = 0; i < 10000; i++)
        ASSERT_DBL_EQ(mb_rng_normal(&a), mb_rng_normal(&b));
}

int main(void)
{
    TEST_RUN(test_golden_state);
    TEST_RUN(test_golden_seed);
    TEST_RUN(test_seeding);
    TEST_RUN(test_double_range);
    TEST_RUN(test_normal_distribution);
    TEST_RUN(test_normal_deterministic);
    puts("test_rng: all passed");
    return 0;
}
