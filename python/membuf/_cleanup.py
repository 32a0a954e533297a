"""Closing allocators at the end of a test when something may still use them.

A failed test's traceback keeps its frames, and with them the Buffers or extension objects of
its allocators, alive: close() then raises (RuntimeError), and the allocator would be deleted
later by the garbage collector, outside any recording, where a leak report takes the C default
(print and abort). close_or_defer() keeps such an allocator and closes it later inside a
recording: at close_pending(), or at interpreter exit (records printed to stderr)."""
import atexit
import gc
import sys

import membuf

_pending = []
_registered = False


def close_or_defer(alloc):
    """Closes alloc; if it is still in use even after a garbage collection, defers it (see the
    module's doc). Returns True if it was closed now."""
    global _registered
    for attempt in range(2):
        try:
            alloc.close()
            return True
        except RuntimeError:
            if attempt == 0:
                gc.collect()
    _pending.append(alloc)
    if not _registered:
        atexit.register(_close_at_exit)
        _registered = True
    return False


def close_pending():
    """Closes the deferred allocators that nothing uses any more, inside membuf.recording();
    returns the records (leaks and violations) their closing reported. Those still in use stay
    deferred."""
    gc.collect()
    still = []
    with membuf.recording() as rec:
        for alloc in _pending:
            try:
                alloc.close()
            except RuntimeError:
                still.append(alloc)
    _pending[:] = still
    return list(rec)


def _close_at_exit():
    records = close_pending()
    for r in records:
        sys.stderr.write(f"membuf.testing: at exit, closing an allocator a failed test left "
                         f"open: {r.kind}: {r.message}\n")
