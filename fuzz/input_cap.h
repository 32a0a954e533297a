/* The most bytes membuf-ops and the replay driver read from one input. Decoding uses at most
 * MBF_MAX_OPS ops of MBF_OP_MAX_BYTES each (a few hundred bytes), and the text form of that many
 * ops is a few KB, so a larger file is not an input (a wrong path, /dev/zero, a log): it is
 * refused after reading MBF_INPUT_CAP + 1 bytes, never read to its end. */
#ifndef MEMBUF_FUZZ_INPUT_CAP_H
#define MEMBUF_FUZZ_INPUT_CAP_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define MBF_INPUT_CAP ((size_t)1 << 20)
#define MBF_INPUT_CAP_TEXT "1 MiB (1048576 bytes)"

enum { MBF_READ_OK = 0, MBF_READ_ERROR = -1, MBF_READ_TOO_BIG = -2, MBF_READ_NOMEM = -3 };

/* Reads f to its end into a malloc'd block of *size bytes plus a terminating NUL (not counted),
 * by reading, not by the file's size, so pipes and devices work too. Returns MBF_READ_OK, or:
 * MBF_READ_ERROR (errno says why), MBF_READ_TOO_BIG (more than MBF_INPUT_CAP bytes) or
 * MBF_READ_NOMEM; then *out is NULL. */
static inline int mbf_read_capped(FILE *f, uint8_t **out, size_t *size)
{
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap + 1);
    *out = NULL;
    *size = 0;
    if (!buf)
        return MBF_READ_NOMEM;
    for (;;) {
        if (n == cap) {
            if (cap > MBF_INPUT_CAP) { /* cap + 1 bytes read: one more than allowed */
                free(buf);
                return MBF_READ_TOO_BIG;
            }
            size_t grown = cap * 2 > MBF_INPUT_CAP ? MBF_INPUT_CAP + 1 : cap * 2;
            uint8_t *b = realloc(buf, grown + 1);
            if (!b) {
                free(buf);
                return MBF_READ_NOMEM;
            }
            buf = b;
            cap = grown;
        }
        errno = 0;
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0 || n < cap) {
            if (ferror(f)) {
                int e = errno ? errno : EIO;
                free(buf);
                errno = e;
                return MBF_READ_ERROR;
            }
            if (feof(f))
                break;
        }
    }
    buf[n] = 0;
    *out = buf;
    *size = n;
    return MBF_READ_OK;
}

#endif /* MEMBUF_FUZZ_INPUT_CAP_H */
