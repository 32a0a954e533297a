/* STUB: replaced by the pool implementation. */
#include "internal.h"
mb_alloc *mb_alloc_pool_new(void) { return NULL; }
void mb__pool_set_max_arenas(mb_alloc *pool, size_t n) { (void)pool; (void)n; }
