/* The RNG: golden xoshiro256** outputs, seeding, doubles in [0, 1), and the normal generator's
 * distribution (moments, tail mass, a binned chi-square against the normal CDF). */
#include "internal.h"
#include "test.h"

#include "ziggurat_tables.h"

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

/* The inverse of odd x modulo 2^64 (Newton's iteration doubles the correct low bits each step). */
static uint64_t inverse_odd(uint64_t x)
{
    uint64_t y = x; /* correct to 3 bits for any odd x */
    for (int i = 0; i < 5; i++)
        y *= 2 - x * y;
    return y;
}

static void test_double_exact(void)
{
    /* mb_rng_double is (u >> 11) * 2^-53 of the next u64, draw for draw. */
    mb_rng r, ref;
    mb_rng_seed(&r, 5);
    ref = r;
    for (int i = 0; i < 1000; i++)
        ASSERT_DBL_EQ(mb_rng_double(&r), (double)(mb_rng_u64(&ref) >> 11) * 0x1.0p-53);
    /* State {1, 2, 3, 4} yields 11520 and then 0: the smallest values. */
    mb_rng g = {{1, 2, 3, 4}};
    ASSERT_DBL_EQ(mb_rng_double(&g), 5 * 0x1.0p-53);
    ASSERT_DBL_EQ(mb_rng_double(&g), 0.0);
    /* The largest output: choose s[1] so that rotl(s[1] * 5, 7) * 9 == UINT64_MAX. */
    uint64_t v = UINT64_MAX * inverse_odd(9);
    v = (v >> 7) | (v << 57);
    mb_rng top = {{0, v * inverse_odd(5), 0, 0}}, probe = top;
    ASSERT_UEQ(mb_rng_u64(&probe), UINT64_MAX);
    double d = mb_rng_double(&top);
    ASSERT(d < 1.0);
    ASSERT_DBL_EQ(d, 1.0 - 0x1.0p-53);
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
    ASSERT_DBL_NEAR(var, 1.0, 0.01);
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

/* Kolmogorov-Smirnov distance to Phi, evaluated on a fine grid of edges (a lower bound on the
 * true statistic, so the usual critical value stays valid), for a few seeds. */
static void test_normal_ks(void)
{
    enum { N = 200000, EDGES = 2001 };
    static long count[EDGES + 1];
    const double lo = -6, step = 12.0 / (EDGES - 1);
    for (uint64_t seed = 1; seed <= 3; seed++) {
        memset(count, 0, sizeof count);
        mb_rng r;
        mb_rng_seed(&r, seed);
        for (int i = 0; i < N; i++) {
            double x = mb_rng_normal(&r);
            /* bucket k holds [edge k-1, edge k); buckets 0 and EDGES are the open ends */
            double pos = (x - lo) / step;
            size_t k = pos < 0 ? 0 : pos >= EDGES - 1 ? EDGES : (size_t)pos + 1;
            count[k]++;
        }
        double d = 0;
        long below = 0;
        for (size_t k = 0; k < EDGES; k++) {
            below += count[k];
            double diff = fabs((double)below / N - phi(lo + (double)k * step));
            if (diff > d)
                d = diff;
        }
        /* Critical value 1.95 / sqrt(N) is the 0.1% level; a fixed seed makes it deterministic. */
        if (!(d * sqrt((double)N) < 1.95))
            TEST_FAIL_("seed %" PRIu64 ": KS distance %.5f (sqrt(N) D = %.3f)", seed, d,
                       d * sqrt((double)N));
    }
}

/* The tables, checked independently of the generator script: every layer has area v, f is the
 * density at each edge, k the rectangle bound, and the base strip plus the tail also has area v. */
static void test_tables(void)
{
    const double r = MB__ZIG_R, v = 0.00492867323399, m = 0x1.0p52;
    ASSERT_DBL_EQ(r, 3.6541528853610088);
    ASSERT_DBL_EQ(MB__ZIG_INV_R, 1.0 / r);
    double tail = sqrt(2 * acos(-1.0)) * 0.5 * erfc(r / sqrt(2.0));
    ASSERT_DBL_NEAR((r * exp(-0.5 * r * r) + tail) / v, 1.0, 1e-9);
    ASSERT_DBL_NEAR(mb__zig_w[0] * m, v / exp(-0.5 * r * r), 1e-12);
    ASSERT_DBL_EQ(mb__zig_w[255] * m, r);
    ASSERT_DBL_EQ(mb__zig_f[0], 1.0);
    ASSERT_UEQ(mb__zig_k[1], 0);
    for (int i = 1; i < 256; i++) {
        double x = mb__zig_w[i] * m, below = i == 1 ? 0.0 : mb__zig_w[i - 1] * m;
        ASSERT(below < x);
        ASSERT_DBL_NEAR(mb__zig_f[i], exp(-0.5 * x * x), 1e-15);
        /* The top layer closes the ziggurat; v's 12 digits leave it 1e-9 off. */
        ASSERT_DBL_NEAR(x * (mb__zig_f[i - 1] - mb__zig_f[i]) / v, 1.0, 2e-9);
        if (i > 1)
            ASSERT_DBL_NEAR((double)mb__zig_k[i], below / x * m, 2.0);
    }
    ASSERT_DBL_NEAR((double)mb__zig_k[0], r / (mb__zig_w[0] * m) * m, 2.0);
}

/* A generator whose next mb_rng_u64 returns u: s[1] is solved from the output function
 * rotl(s[1] * 5, 7) * 9; the other words come from aux, so later draws are random. */
static mb_rng forced(mb_rng *aux, uint64_t u)
{
    uint64_t v = u * inverse_odd(9);
    v = (v >> 7) | (v << 57);
    mb_rng g = {{mb_rng_u64(aux), v * inverse_odd(5), mb_rng_u64(aux), mb_rng_u64(aux)}};
    mb_rng probe = g;
    ASSERT_UEQ(mb_rng_u64(&probe), u);
    return g;
}

#define MAG_BITS (UINT64_C(1) << 52)

/* Draws that start in a wedge (outside the rectangle of layers 1..255): each is accepted (the
 * result is the candidate itself) with probability (f(x) - f_i) / (f_{i-1} - f_i); a rejection
 * starts over. The total number of acceptances must match the expectation. */
static void test_normal_wedges(void)
{
    enum { M = 200000 };
    mb_rng aux;
    mb_rng_seed(&aux, 2024);
    double expect = 0, var = 0;
    long accepted = 0;
    for (int t = 0; t < M; t++) {
        uint64_t u = mb_rng_u64(&aux);
        unsigned idx = 1 + (unsigned)(u % 255);
        uint64_t k = mb__zig_k[idx];
        uint64_t mag = k + mb_rng_u64(&aux) % (MAG_BITS - k);
        bool neg = u >> 63;
        mb_rng g = forced(&aux, idx | (uint64_t)neg << 8 | mag << 9);
        double x = (double)mag * mb__zig_w[idx];
        double got = mb_rng_normal(&g);
        if (got == (neg ? -x : x))
            accepted++;
        double q = (exp(-0.5 * x * x) - mb__zig_f[idx]) / (mb__zig_f[idx - 1] - mb__zig_f[idx]);
        ASSERT(q >= 0 && q <= 1);
        expect += q;
        var += q * (1 - q);
    }
    if (!(fabs((double)accepted - expect) < 5 * sqrt(var) + 1))
        TEST_FAIL_("wedges: %ld of %d accepted, expected %.1f +- %.1f", accepted, M, expect,
                   sqrt(var));
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Draws that start beyond the base rectangle of layer 0 go to the tail: |x| > r with the chosen
 * sign, and |x| - r distributed as the normal beyond r, P(|x| <= r + t) = 1 - Q(r + t) / Q(r)
 * (exact Kolmogorov-Smirnov statistic). */
static void test_normal_tail(void)
{
    enum { M = 200000 };
    static double x[M];
    mb_rng aux;
    mb_rng_seed(&aux, 77);
    const double r = 3.6541528853610088;
    const uint64_t k = mb__zig_k[0];
    for (int t = 0; t < M; t++) {
        uint64_t u = mb_rng_u64(&aux);
        uint64_t mag = k + u % (MAG_BITS - k);
        bool neg = mb_rng_u64(&aux) >> 63;
        mb_rng g = forced(&aux, (uint64_t)neg << 8 | mag << 9);
        double got = mb_rng_normal(&g);
        ASSERT(neg ? got < -r : got > r);
        x[t] = fabs(got);
    }
    qsort(x, M, sizeof *x, cmp_double);
    double qr = erfc(r / sqrt(2.0)), d = 0;
    for (int t = 0; t < M; t++) {
        double cdf = 1 - erfc(x[t] / sqrt(2.0)) / qr;
        double lo = fabs(cdf - (double)t / M), hi = fabs(cdf - (double)(t + 1) / M);
        d = fmax(d, fmax(lo, hi));
    }
    if (!(d * sqrt((double)M) < 1.95))
        TEST_FAIL_("tail: KS distance %.5f (sqrt(M) D = %.3f)", d, d * sqrt((double)M));
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
    TEST_RUN(test_double_exact);
    TEST_RUN(test_normal_distribution);
    TEST_RUN(test_normal_ks);
    TEST_RUN(test_tables);
    TEST_RUN(test_normal_wedges);
    TEST_RUN(test_normal_tail);
    TEST_RUN(test_normal_deterministic);
    puts("test_rng: all passed");
    return 0;
}
