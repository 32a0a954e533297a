/* STUB: replaced by the guard implementation. */
#include "internal.h"
mb_alloc *mb_alloc_guard_new(mb_alloc *inner) { (void)inner; return NULL; }
