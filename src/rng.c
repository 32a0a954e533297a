/* STUB: replaced by the rng implementation. */
#include "internal.h"
void mb_rng_seed(mb_rng *r, uint64_t seed) { (void)r; (void)seed; }
uint64_t mb_rng_u64(mb_rng *r) { (void)r; return 0; }
double mb_rng_double(mb_rng *r) { (void)r; return 0; }
double mb_rng_normal(mb_rng *r) { (void)r; return 0; }
