"""The program's warnings name the program's lines, never Loopscope's files.

Python warns "coroutine 'fetch' was never awaited" when the coroutine object is
destroyed, naming whatever frame runs at that moment. For `fetch()` as a statement
of its own that is the program's line; for one kept a while (`pending = fetch()`)
it is wherever the last reference went: in a plain run asyncio's `events.py`, here
the tracer (which holds a task's frame while it runs). So every coroutine the
program's thread creates remembers the line it was created on
(`sys.set_coroutine_origin_tracking_depth(1)`: one frame, about 4% on a loop that
does nothing but create coroutines; measured with `bench/engine.py`), and the
warning names that line (or the line that dropped it, when the program's own frame
was running then). Any other warning attributed to one of Loopscope's files (a
resource collected while the tracer ran, say) is moved to the program's innermost
frame on the stack, or to `sys:1` as Python says when it has no frame.

Not a hook (see `instrument.py`): this is the program's output, and it stays right
once tracing is off. Only the `coroutine.unawaited` event is a hook's.
"""

import linecache
import os
import sys
import traceback
import warnings

from . import internals

_OWN = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep  # Loopscope's `server/`
_NO_FRAME = {}  # the registry of warnings attributed to no frame (Python uses `sys`'s)


def install(program, tracer):
    """From now on, warnings name `program`'s lines (a `ProgramFile`); `tracer` hears of each
    coroutine never awaited (its hook `coroutine_unawaited`)."""
    sys.set_coroutine_origin_tracking_depth(1)
    internals.replace_unawaited_warning(_unawaited(program, tracer, internals.unawaited_warning()))
    internals.replace_warning_display(_displayed(program, internals.warning_display()))


def _unawaited(program, tracer, plain):
    def _warn_unawaited_coroutine(coro):
        try:
            filename, line, where = _site(program, coro, sys._getframe(1))
            text = _text(coro)
        except Exception:  # noqa: BLE001 - whatever went wrong, Python still warns as it would
            return plain(coro)
        tracer.hooks.coroutine_unawaited(coro, line if filename == program.filename else None)
        module = where.get("__name__") if where is not _NO_FRAME else "sys"
        registry = where.setdefault("__warningregistry__", {}) if where is not _NO_FRAME else _NO_FRAME
        warnings.warn_explicit(text, RuntimeWarning, filename, line, module=module, registry=registry, source=coro)

    return _warn_unawaited_coroutine


def _site(program, coro, running):
    """(file name, line, globals of its frame) to name for a coroutine never awaited: the program's
    line that created it; else the program's frame running now (the line that dropped it); else
    the frame running now if it is not Loopscope's (as Python names it); else as `_program_site`."""
    for filename, line, _ in coro.cr_origin or ():
        if filename == program.filename:
            return filename, line, program.globals
    if running is not None and (running.f_globals is program.globals or not _own(running.f_code.co_filename)):
        return running.f_code.co_filename, running.f_lineno, running.f_globals
    return _program_site(program, running)


def _program_site(program, frame):
    """(file name, line, globals) of the program's innermost frame from `frame` outwards, or `sys:1`."""
    while frame is not None:
        if frame.f_globals is program.globals:
            return program.filename, frame.f_lineno, program.globals
        frame = frame.f_back
    return "sys", 1, _NO_FRAME


def _text(coro):
    """Python's wording; with the lines it was created on when the program tracks more than one
    frame of origin (asyncio's debug mode does), Loopscope's frames left out."""
    text = f"coroutine '{coro.__qualname__}' was never awaited\n"
    origin = coro.cr_origin or ()
    if len(origin) > 1:
        frames = [(filename, line, name, linecache.getline(filename, line))
                  for filename, line, name in reversed(origin) if not _own(filename)]
        text += "Coroutine created at (most recent call last)\n" + "".join(traceback.format_list(frames))
    return text.rstrip("\n")


def _displayed(program, show):
    def _showwarnmsg(message):
        try:
            if _own(message.filename):
                message.filename, message.lineno, _ = _program_site(program, sys._getframe(1))
                message.line = None  # (read from the new place)
        except Exception:  # noqa: BLE001 - the warning is still shown, as it came
            pass
        show(message)

    return _showwarnmsg


def _own(filename):
    return isinstance(filename, str) and filename.startswith(_OWN)
