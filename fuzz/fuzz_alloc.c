/* fuzz_alloc: raw mb_malloc/mb_realloc/mb_free sequences on every family, with fault injection.
 * See fuzz/ops.h for the op language and fuzz/exec.c for the oracles. */
#include "exec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return mbf_fuzz_one(MBF_D_ALLOC, data, size); }
