/* See refrng.h. */
#include "refrng.h"

#include "ziggurat_tables.h"

#include <math.h>

static uint64_t rol64(uint64_t v, unsigned n) { return (v << n) | (v >> (64 - n)); }

/* splitmix64 (Steele, Lea & Flood): the state advances by the golden gamma; output mixed. */
void mbf_ref_seed(mbf_refrng *g, uint64_t seed)
{
    uint64_t state = seed;
    for (unsigned i = 0; i < 4; i++) {
        state += 0x9e3779b97f4a7c15u;
        uint64_t z = state;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
        g->w[i] = z ^ (z >> 31);
    }
}

/* xoshiro256** (Blackman & Vigna 2018): output rotl(w1 * 5, 7) * 9, then the linear step. */
uint64_t mbf_ref_next(mbf_refrng *g)
{
    uint64_t *w = g->w;
    const uint64_t result = rol64(w[1] * 5u, 7) * 9u, shifted = w[1] << 17;
    w[2] ^= w[0];
    w[3] ^= w[1];
    w[1] ^= w[2];
    w[0] ^= w[3];
    w[2] ^= shifted;
    w[3] = rol64(w[3], 45);
    return result;
}

static double uniform53(mbf_refrng *g) { return ldexp((double)(mbf_ref_next(g) >> 11), -53); }

/* The ziggurat as membuf specifies it: one 64-bit draw per attempt, bits 0-7 the layer, bit 8 the
 * sign, bits 9-60 a 52-bit magnitude; accepted at once inside the layer's rectangle, else the
 * exact tail (layer 0) or the wedge test against exp(-x^2/2). */
double mbf_ref_normal(mbf_refrng *g)
{
    for (;;) {
        uint64_t bits = mbf_ref_next(g);
        unsigned layer = (unsigned)(bits % 256u);
        int negative = (int)((bits >> 8) % 2u);
        uint64_t mag = (bits >> 9) % (UINT64_C(1) << 52);
        double x = (double)mag * mb__zig_w[layer];
        double signed_x = negative ? -x : x;
        if (mag < mb__zig_k[layer])
            return signed_x;
        if (layer == 0) {
            double t, y;
            do {
                t = -log1p(-uniform53(g)) * MB__ZIG_INV_R;
                y = -log1p(-uniform53(g));
            } while (!(2 * y > t * t));
            return negative ? -(MB__ZIG_R + t) : MB__ZIG_R + t;
        }
        double lo = mb__zig_f[layer], hi = mb__zig_f[layer - 1];
        if (lo + (hi - lo) * uniform53(g) < exp(-0.5 * x * x))
            return signed_x;
    }
}
