/* fuzz_guard: clean raw sequences with one committed misuse (double, mismatched or foreign free,
 * overflow, underflow, write after free, leak); exactly that violation must be reported. See fuzz/ops.h for the op language and fuzz/exec.c for the oracles. */
#include "exec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return mbf_fuzz_one(MBF_D_GUARD, data, size); }
