/* The op table: every op of the fuzz language, with its argument schema, in one place. Included
 * (no include guard) by ops.h and ops.c with MBF_ARG and MBF_OP defined; nothing else restates an
 * op's arguments. Decoding, encoding, byte counts, the text form, the mutator's re-rolls,
 * membuf-ops' slot logic and the executors' dispatch (exec_<fn> in fuzz/exec_*.c) all derive from
 * these rows. The general format (kind byte, argument encodings, text form) is in ops.h.
 *
 * Argument roles, one row each, written with the macro of their kind; a user of the table
 * defines MBF_ARG(id, kind, mod, scale, names, prefix, label), which they all come down to:
 *   SLOT  a number % mod in op.slot          FAM   a name (names[byte % mod]) in op.fam
 *   SIZE  a size code (see ops.h) in op.size  NUM   a number (byte % mod) * scale
 *   INT   a signed byte (-128..127)            NAME  names[byte % mod]
 *   FLAG  bit 0 of the byte; in text a trailing keyword (the label), present or not
 *   NUM, INT, NAME and FLAG arguments take op.a, op.b, op.c, op.d in the row's order.
 *   prefix: text written before the value ("seed=7"); label: the argument in messages. */
#if defined(MBF_ARG)
#define MBF_SLOT_ARG(id, mod, label) MBF_ARG(id, SLOT, mod, 1, NULL, "", label)
#define MBF_FAM_ARG(id, mod, names, label) MBF_ARG(id, FAM, mod, 1, names, "", label)
#define MBF_SIZE_ARG(id) MBF_ARG(id, SIZE, 0, 1, NULL, "", "size")
#define MBF_NAME_ARG(id, mod, names, label) MBF_ARG(id, NAME, mod, 1, names, "", label)
#define MBF_NAME_AT_ARG(id, mod, names, prefix, label) MBF_ARG(id, NAME, mod, 1, names, prefix, label)
#define MBF_NUM_ARG(id, mod, label) MBF_ARG(id, NUM, mod, 1, NULL, "", label)
#define MBF_NUM_AT_ARG(id, prefix, label) MBF_ARG(id, NUM, 256, 1, NULL, prefix, label)
#define MBF_SCALED_ARG(id, mod, scale, label) MBF_ARG(id, NUM, mod, scale, NULL, "", label)
#define MBF_INT_ARG(id, label) MBF_ARG(id, INT, 256, 1, NULL, "", label)
#define MBF_FLAG_ARG(id, label) MBF_ARG(id, FLAG, 2, 1, NULL, "", label)
/* what an op acts on */
MBF_SLOT_ARG(SLOT, MBF_SLOTS, "slot")
MBF_SLOT_ARG(ORDER, 8, "order")
MBF_FAM_ARG(FAM, MBF_FAMILIES, mbf_family_names, "family")
MBF_FAM_ARG(UNDER, MBF_UNDERS, mbf_under_names, "underlying allocator")
MBF_SIZE_ARG(SIZE)
/* buffer values */
MBF_NAME_ARG(VALUE, 8, mbf_fill_values, "fill value")
MBF_NUM_AT_ARG(SEED, "seed=", "seed")
MBF_NAME_AT_ARG(MEAN, 8, mbf_means, "mean=", "mean")
MBF_NAME_AT_ARG(SD, 8, mbf_sds, "sd=", "sd")
/* fault injection and the api-edge groups */
MBF_NUM_ARG(COUNT, 256, "request count")
MBF_NAME_ARG(MODE, 2, mbf_mode_names, "mode")
MBF_NAME_ARG(MODE3, 3, mbf_mode_names, "mode")
MBF_NUM_ARG(SYSCOUNT, 256, "internal allocation count")
MBF_NUM_ARG(GROUP, 8, "api-edge group")
/* violations, bulk */
MBF_NAME_ARG(VIOLATION, MBF_NMISUSE, mbf_violation_names, "violation")
MBF_NUM_ARG(MARG, 256, "misuse argument")
MBF_FLAG_ARG(REENTER, "reenter")
MBF_SCALED_ARG(BLOCKS, 256, 4, "block count")
MBF_NAME_ARG(UNIT, MBF_NUNITS, mbf_unit_names, "unit")
MBF_INT_ARG(DELTA, "delta")
MBF_NAME_ARG(PATH, 2, mbf_path_names, "path")
MBF_NAME_ARG(REGION, MBF_NREGIONS, mbf_region_names, "region")
MBF_NUM_ARG(OFFSET, 256, "offset")
MBF_NAME_ARG(FINDER, MBF_NFINDERS, mbf_finder_names, "finder")
#undef MBF_SLOT_ARG
#undef MBF_FAM_ARG
#undef MBF_SIZE_ARG
#undef MBF_NAME_ARG
#undef MBF_NAME_AT_ARG
#undef MBF_NUM_ARG
#undef MBF_NUM_AT_ARG
#undef MBF_SCALED_ARG
#undef MBF_INT_ARG
#undef MBF_FLAG_ARG
#endif

/* The ops: MBF_OP(id, text, fn, targets, arguments...). targets: B fuzz_buf, A fuzz_alloc,
 * G fuzz_guard; a target's kind byte selects among the rows it has, in this order. A slot holds
 * a buffer (B) or a raw block (A, G); a slot's family is its block's, else slot % 5.
 *
 *   init         a buffer of size elements in family fam (mb_buf_init), replacing the slot's
 *   resize       the slot's buffer to size elements (mb_buf_resize)
 *   fill         every element to the value (mb_buf_fill)
 *   fill-normal  mean + sd * normal draws from a generator seeded with seed (mb_buf_fill_normal);
 *                invalid means and sds are deliberate: MB_EINVAL is expected
 *   free         the slot's buffer or block, through its family
 *   malloc       a raw block of size bytes in family fam, painted with a pattern
 *   realloc      the slot's block (NULL if empty) to size bytes; repainted
 *   write        repaints the slot's block or rewrites its buffer
 *   fail-after   fault injection on the slot's family: count more requests succeed, then one
 *                (once) or every later one (always) fails (mb_alloc_fail_after)
 *   fail-never   ends it
 *   check        mb_alloc_check on the slot's family
 *   misuse       one committed violation, a scenario of fuzz/scenario.c chosen by the violation
 *                and the argument byte; exactly that violation must be reported. Only the first
 *                misuse of an input runs.
 *   bulk         count blocks of size bytes (sizes above 4096 skipped) at once, painted and
 *                checked, then freed in an order: 0 first in first out, 1 last in first out,
 *                2 even indices first, 3..7 shuffled (seeded by the order and the size); fills
 *                pools, empties them, maps and returns arenas
 *   sys-fail-after  membuf's own allocations (mb_internal_fail_after): count more succeed, then
 *                all fail until the input ends or a misuse, bad-free or corrupt op disarms it;
 *                any request may fail meanwhile, but a failed call must leave everything as it
 *                was and the statistics exact
 *   renew        a new instance for the family when nothing of it is live (creation may fail
 *                under sys-fail-after: the old one stays)
 *   api-edge     one of eight groups of calls with NULL or invalid arguments, or on the slot's
 *                instance, whose results the contract fixes; nothing may change
 *   under-fail-after  the family's underlying allocator fails by itself: custom's vtable, or a
 *                guard's inner instance, lets count more calls through, then fails one (once),
 *                every later one (always), or stops failing (never). The family sees a real
 *                NULL from below and must leave everything as it was.
 *   bad-free     a pointer that is not one of fam's live blocks, handed to mb_free or mb_realloc
 *                (path) of fam: the slot's block (live, or the last one freed from the slot)
 *                moved by delta units: byte, step (16 bytes), pool (16 KiB), arena (256 KiB),
 *                inner (bytes from the block's guard header: a guard's inner block), stack (a
 *                local array). The harness knows what the pointer is (another instance's live
 *                block, a block freed, never a block start) and demands exactly that violation,
 *                with nothing changed; a live block of fam itself is skipped.
 *   corrupt      damages the slot's guard block and has it found: a byte of its header, front
 *                or rear canary (offset mod its size), or (freed) of its body after a free (at
 *                offset / 256 of the way through),
 *                found by free, realloc, check, evict (pushed out of the quarantine; a live
 *                block: freed, its free pushing out a block written after its free, so one call
 *                reports twice, the block's damage first) or delete (the guard instance deleted
 *                with it). Exactly the violations the contract names (underflow, overflow, use
 *                after free; a leak first when deleting a guard with live blocks), once, in the
 *                order found; the block is then handled as usual.
 * reenter (misuse, bad-free, corrupt): the violation handler calls back into every instance on
 * each report (allocates, resizes, frees and checks through each, and frees a live raw slot's
 * block; see membuf.h on what a handler may do). */
#if defined(MBF_OP)
MBF_OP(INIT,        "init",             init,        B,     SLOT, FAM, SIZE)
MBF_OP(RESIZE,      "resize",           resize,      B,     SLOT, SIZE)
MBF_OP(FILL,        "fill",             fill,        B,     SLOT, VALUE)
MBF_OP(FILL_NORMAL, "fill-normal",      fill_normal, B,     SLOT, SEED, MEAN, SD)
MBF_OP(FREE,        "free",             free,        B|A|G, SLOT)
MBF_OP(MALLOC,      "malloc",           malloc,      A|G,   SLOT, FAM, SIZE)
MBF_OP(REALLOC,     "realloc",          realloc,     A|G,   SLOT, SIZE)
MBF_OP(WRITE,       "write",            write,       B|A|G, SLOT)
MBF_OP(FAIL_AFTER,  "fail-after",       fail_after,  B|A,   SLOT, COUNT, MODE)
MBF_OP(FAIL_NEVER,  "fail-never",       fail_never,  B|A,   SLOT)
MBF_OP(CHECK,       "check",            check,       B|A|G, SLOT)
MBF_OP(MISUSE,      "misuse",           misuse,      G,     VIOLATION, MARG, REENTER)
MBF_OP(BULK,        "bulk",             bulk,        A|G,   ORDER, FAM, SIZE, BLOCKS)
MBF_OP(SYS_FAIL,    "sys-fail-after",   sys_fail,    B|A|G, SYSCOUNT)
MBF_OP(RENEW,       "renew",            renew,       B|A|G, FAM)
MBF_OP(API_EDGE,    "api-edge",         api_edge,    B|A|G, SLOT, GROUP)
MBF_OP(UNDER_FAIL,  "under-fail-after", under_fail,  B|A|G, UNDER, COUNT, MODE3)
MBF_OP(BAD_FREE,    "bad-free",         bad_free,    G,     SLOT, FAM, UNIT, DELTA, PATH, REENTER)
MBF_OP(CORRUPT,     "corrupt",          corrupt,     G,     SLOT, REGION, OFFSET, FINDER, REENTER)
#endif
