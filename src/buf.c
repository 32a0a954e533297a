/* STUB: replaced by the buffer implementation. */
#include "internal.h"
mb_status mb_buf_init(mb_buf *b, mb_alloc *a, size_t n) { (void)b; (void)a; (void)n; return MB_EINVAL; }
mb_status mb_buf_resize(mb_buf *b, size_t n) { (void)b; (void)n; return MB_EINVAL; }
mb_status mb_buf_fill(mb_buf *b, double v) { (void)b; (void)v; return MB_EINVAL; }
mb_status mb_buf_fill_normal(mb_buf *b, mb_rng *rng, double mean, double stddev) { (void)b; (void)rng; (void)mean; (void)stddev; return MB_EINVAL; }
void mb_buf_free(mb_buf *b) { (void)b; }
