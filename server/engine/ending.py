"""The program's end, as a plain interpreter's: its exit status, atexit handlers, and `os._exit`.

The child leaves with `os._exit` once its `run.end` is sent, so none of the interpreter's
own shutdown runs by itself: `finish_like_python` does what `Py_FinalizeEx` still does for
a program (threads joined, atexit handlers run, garbage collected, streams flushed), and
`catch_os_exit` makes the program's own `os._exit(n)` send what it printed and how it
ended before the process goes (a plain `os._exit` would drop the events not yet written).
"""

import atexit
import gc
import operator
import os
import sys
import threading

plain_exit = os._exit  # the real one, kept before `catch_os_exit` replaces it
_LONG = 2**63  # CPython reads an exit status as a C long


def exit_status(code):
    """The status `python` ends with after `raise SystemExit(code)` (as `_Py_HandleSystemExit`)."""
    if code is None:
        return 0
    if isinstance(code, int):  # (bool too: sys.exit(True) is status 1)
        return int(code) & 0xFF if -_LONG <= code < _LONG else 0xFF
    return 1  # any other object is printed on stderr, and the status is 1


def os_exit_ending(status):
    """(status, reason, exit) for `run.end` when the program called `os._exit(status)`."""
    if status == 0:
        return "ok", "The program ended its process with os._exit(0).", 0
    return "error", f"The program ended its process with os._exit({status}).", status & 0xFF


def catch_os_exit(leave, streams):
    """The program's `os._exit(n)` flushes `streams` and calls `leave(status, reason, exit)` (which
    sends `run.end` and ends the process), so what it printed before is in the trace."""

    def _exit(status):
        status = operator.index(status)  # (a TypeError for what os._exit refuses too)
        if not -(2**31) <= status < 2**31:
            raise OverflowError("Python int too large to convert to C int")
        for stream in streams:
            try:
                stream.flush()
            except Exception:  # noqa: BLE001 - the process ends whatever a stream does
                pass
        leave(*os_exit_ending(status))
        plain_exit(0)  # (leave does not return; in case it did)

    _exit.__module__ = "posix"
    os._exit = _exit


def finish_like_python(stdout, stderr):
    """What interpreter shutdown would still do, in its order: wait for threads, run the atexit
    handlers, collect garbage, flush."""
    me = threading.current_thread()
    for thread in threading.enumerate():
        if thread is not me and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()  # (as Python does: an exception there is printed, the others still run)
    gc.collect()  # "Task was destroyed but it is pending!" and friends, as a plain run prints them
    stdout.flush()
    stderr.flush()
    try:
        sys.__stdout__.flush()
    except (AttributeError, OSError, ValueError):
        pass
