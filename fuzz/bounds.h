/* The harness's limits, in one place: what the executor skips as too big to be worth doing, the
 * sizes misuse scenarios use, and what emit-c keeps to. Each has its reason. */
#ifndef MEMBUF_FUZZ_BOUNDS_H
#define MEMBUF_FUZZ_BOUNDS_H

#include <stddef.h>

/* Raw requests from RAW_MAX up to RAW_HUGE bytes are skipped: sizes past 64 KiB reach no code
 * that 120 KiB does not (the pool's large blocks are libc's; the guard's quarantine limit is
 * reached by several blocks as well as by one), and above 128 KiB every block is a fresh mapping
 * of ASan's (mmap, page faults, munmap). From RAW_HUGE up the request is made and must fail (no
 * object is larger than PTRDIFF_MAX). */
#define MBF_RAW_MAX ((size_t)120 << 10)
#define MBF_RAW_HUGE ((size_t)1 << 60)
/* Buffers of more elements (that do not overflow) are skipped: 120 KiB of doubles. */
#define MBF_BUF_MAX_ELEMS ((size_t)15 << 10)
/* fill-normal: at most this many values per input (each drawn twice: by the library and by the
 * model's own generator); a fill that would go past it is skipped. The ziggurat's rarest path,
 * the tail, comes about once in 3000 draws. */
#define MBF_NORMAL_DRAWS ((size_t)16384)
/* Requests above BIG_REQUEST bytes count against the input's budgets: at most INPUT_BUDGET bytes
 * requested, filled or written in all, and LIVE_CAP bytes live at once. Enough for the guard's
 * quarantine to evict by bytes (1 MiB), small enough that an input stays a fraction of a
 * millisecond of page faults. */
#define MBF_BIG_REQUEST ((size_t)4 << 10)
#define MBF_INPUT_BUDGET ((size_t)1536 << 10)
#define MBF_LIVE_CAP ((size_t)1280 << 10)
/* bulk: block sizes above this are skipped (pools are what bulk is for), and so is a bulk of
 * more than BULK_BYTES (two arenas' worth: enough to map, empty and return one). */
#define MBF_BULK_MAX_SIZE ((size_t)4096)
#define MBF_BULK_BYTES ((size_t)512 << 10)
/* bulk: blocks per input, all bulk ops together (each costs a malloc, a free and their checks):
 * 1020 blocks of the largest small class span three arenas, which an arena's return needs (one
 * kept as the spare, one emptied, one holding the class's last pool). */
#define MBF_BULK_BLOCKS ((size_t)1024)
/* ... of which at most this many from the other families (twice a guard's quarantine). */
#define MBF_BULK_OTHER_BLOCKS ((size_t)128)
/* A full sweep of every slot (contents and the memory tool's view) after this many ops; in
 * between each op checks what it touched, and every block is checked before it is overwritten,
 * moved or freed, so a corruption is always found within its input, at most this many ops late. */
#define MBF_SWEEP_EVERY 16
/* Misuse scenarios: block sizes from the argument byte (a % 61 + 1; a large pool block 600 + a % 61)
 * and the churn that pushes a block out of a guard's quarantine (more than it holds). */
#define MBF_MISUSE_SIZES 61
#define MBF_MISUSE_LARGE 600
/* How many freed blocks a guard's quarantine holds (src/guard.c, QUAR_BLOCKS): the next free
 * pushes the oldest out. */
#define MBF_GUARD_QUARANTINE 64
#define MBF_CHURN (MBF_GUARD_QUARANTINE + 1)
/* A guarded block's layout (DESIGN.md section 4): a 32-byte header and a 16-byte front canary
 * before the user bytes, a 16-byte rear canary after them. */
#define MBF_GUARD_HEADER 32
#define MBF_GUARD_CANARY 16
#define MBF_GUARD_FRONT (MBF_GUARD_HEADER + MBF_GUARD_CANARY)
/* The pool's largest small request when a memory tool watches (512-byte class, less its 16-byte
 * redzone and the next block's 2-byte tag: src/pool.c); larger ones are libc blocks. */
#define MBF_POOL_SMALL_MAX 494
/* The address rings behind the double-free reports of the system, custom and guard families
 * (src/internal.h, MB__FREED_RING): a block among the last this many frees of its instance is
 * still known as freed. */
#define MBF_FREED_MEMORY 256

#endif /* MEMBUF_FUZZ_BOUNDS_H */
