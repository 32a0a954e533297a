/* fuzz_buf: buffer op sequences (init, resize, fill, fill-normal, free) on every family, with
 * fault injection. See fuzz/ops.h for the op language and fuzz/exec.c for the oracles. */
#include "exec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return mbf_fuzz_one(MBF_D_BUF, data, size); }
