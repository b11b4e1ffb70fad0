"""Loopscope's frames, kept out of the program's sight where it looks, and the depth they take.

A traced program runs below Loopscope's frames (the `-c` line that starts the child, its
`main`, `run` and `execute`) and, inside the loop, through a few more (the loop's
`run_forever`, `_run_once` and a handle's `_run` each call asyncio's own). Here:

- stacks and tracebacks the program formats leave them out: the `traceback` module (and so
  `logging`, asyncio's messages, `task.print_stack()`), `inspect.stack()` / `inspect.trace()`,
  and `Task.get_stack()` (`loop.Task` asks `visible_stack`);
- the recursion limit is raised by the frames the program runs below, so it can recurse as
  deep as in a plain run, and `sys.getrecursionlimit()` / `sys.setrecursionlimit()` speak of
  the program's own limit.

`sys._getframe()` and `frame.f_back` still walk through them.
Checked on Python 3.11, 3.12 and 3.13 (`StackSummary._extract_from_extended_frame_gen` is where
every `traceback` function that formats frames passes them, tracebacks and stacks alike).
"""

import inspect
import sys
import threading
import traceback

OWN = __file__.rpartition("/")[0] + "/"  # the engine's folder (not all of `server/`: a scenario may be traced by path)
_below = set()  # code objects of the frames the program's module runs below
_extra = [0]  # frames of Loopscope's the program's code has below it now (on the main thread)
_plain_getrecursionlimit, _plain_setrecursionlimit = sys.getrecursionlimit, sys.setrecursionlimit
_MAIN_THREAD = threading.main_thread().ident


def hidden(frame):
    code = frame.f_code
    return code in _below or code.co_filename.startswith(OWN)


def visible_stack(frames, limit, innermost):
    """`Task.get_stack()`'s frames without Loopscope's; `limit` keeps the innermost ones of a running
    task's stack (`innermost`), else the first ones (a traceback's), as asyncio does."""
    frames = [frame for frame in frames if not hidden(frame)]
    if limit is None:
        return frames
    if limit <= 0:
        return []
    return frames[-limit:] if innermost else frames[:limit]


def install(below):
    """From now on the program does not see Loopscope's frames; `below`: the frame that runs its module."""
    frame, depth = below, 0
    while frame is not None:
        _below.add(frame.f_code)
        frame, depth = frame.f_back, depth + 1
    _hide_in_traceback()
    _hide_in_inspect()
    sys.getrecursionlimit, sys.setrecursionlimit = getrecursionlimit, setrecursionlimit
    # (On 3.11, `exec` entering the interpreter once more counts as a level too; from 3.12 on only
    # Python frames count.)
    add_depth(depth + (sys.version_info < (3, 12)))


def add_depth(frames):
    """`frames` more of Loopscope's are (or, negative, no longer are) below the program's code on the
    main thread: its limit moves with them, so its own room stays the same."""
    if threading.get_ident() == _MAIN_THREAD:
        limit = _plain_getrecursionlimit() - _extra[0]
        _extra[0] += frames
        _plain_setrecursionlimit(limit + _extra[0])


def getrecursionlimit():
    return _plain_getrecursionlimit() - _extra[0]


def setrecursionlimit(limit):
    if not isinstance(limit, int):
        raise TypeError(f"'{type(limit).__name__}' object cannot be interpreted as an integer")
    if limit < 1:
        raise ValueError("recursion limit must be greater or equal than 1")
    _plain_setrecursionlimit(limit + _extra[0])


for _mine, _plain in ((getrecursionlimit, _plain_getrecursionlimit), (setrecursionlimit, _plain_setrecursionlimit)):
    _mine.__doc__, _mine.__module__ = _plain.__doc__, "sys"


def _hide_in_traceback():
    plain = traceback.StackSummary._extract_from_extended_frame_gen.__func__

    def _extract_from_extended_frame_gen(klass, frame_gen, **options):
        return plain(klass, ((frame, where) for frame, where in frame_gen if not hidden(frame)), **options)

    traceback.StackSummary._extract_from_extended_frame_gen = classmethod(_extract_from_extended_frame_gen)


def _hide_in_inspect():
    plain_outer, plain_inner = inspect.getouterframes, inspect.getinnerframes

    def getouterframes(frame, context=1):
        return [info for info in plain_outer(frame, context) if not hidden(info.frame)]

    def getinnerframes(tb, context=1):
        return [info for info in plain_inner(tb, context) if not hidden(info.frame)]

    for mine, plain in ((getouterframes, plain_outer), (getinnerframes, plain_inner)):
        mine.__doc__, mine.__module__ = plain.__doc__, plain.__module__
    inspect.getouterframes, inspect.getinnerframes = getouterframes, getinnerframes
