"""Loopscope's own threads in the child (the sampler, the reader of fd 1), kept out of the program's sight.

They are started with `_thread`, not `threading.Thread`: `threading` lists only the
threads it started (or that call `threading.current_thread()`, which these never
do), so `threading.enumerate()`, `active_count()` and the interpreter's wait for
non-daemon threads see the program's threads alone, as in a plain run, and the
virtual clock does not take them for the program's work (`Idle.outside_work`).
Like daemon threads, they end with the process.
"""

import _thread

IDENTS = set()  # the idents of these threads (the emitter does not count their time as a callback's)


def start(target, *args):
    """Run `target(*args)` on a thread of its own, unseen by `threading`; its ident."""
    ident = _thread.start_new_thread(target, args)
    IDENTS.add(ident)
    return ident
