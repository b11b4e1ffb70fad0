"""The program's warnings name the program's lines, never Loopscope's files.

Python warns "coroutine 'fetch' was never awaited" when the coroutine object is
destroyed, naming whatever frame runs at that moment. For `fetch()` as a statement
of its own that is the program's line; for one kept a while (`pending = fetch()`)
it is wherever the last reference went: in a plain run asyncio's `events.py`, here
the tracer (which holds a task's frame while it runs). The warning names instead the
program's line that dropped it, when the program's own frame was running then; else
the one line of the program that makes such a coroutine and keeps it unawaited
(`pending = fetch()`, read in the program's source when a warning comes: see
`kept_unawaited`); else the program's innermost frame on the stack. (A coroutine
could remember the line it was made on, with `sys.set_coroutine_origin_tracking_depth(1)`,
but that cost every coroutine made about 1,500 CPU instructions: 5% more per traced
callback of `bench/engine.py`'s workload, 14% of a plain one's. When the program turns
it on itself, as asyncio's debug mode does, that line is used.) Any other warning
attributed to one of Loopscope's files (a resource collected while the tracer ran, say)
is moved to the program's innermost frame on the stack, or to `sys:1` as Python says
when it has no frame.

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
    internals.replace_unawaited_warning(_unawaited(program, tracer, internals.unawaited_warning()))
    internals.replace_warning_display(_displayed(program, internals.warning_display()))


def _unawaited(program, tracer, plain):
    def _warn_unawaited_coroutine(coro):
        try:
            filename, line, where, known = _site(program, coro, sys._getframe(1))
            text = _text(coro)
        except Exception:  # noqa: BLE001 - whatever went wrong, Python still warns as it would
            return plain(coro)
        tracer.hooks.coroutine_unawaited(coro, line if known else None)
        module = where.get("__name__") if where is not _NO_FRAME else "sys"
        registry = where.setdefault("__warningregistry__", {}) if where is not _NO_FRAME else _NO_FRAME
        warnings.warn_explicit(text, RuntimeWarning, filename, line, module=module, registry=registry, source=coro)

    return _warn_unawaited_coroutine


def _site(program, coro, running):
    """(file name, line, globals of its frame, whether that is the program's line that made or dropped
    the coroutine) to name for a coroutine never awaited (see above)."""
    for filename, line, _ in coro.cr_origin or ():
        if filename == program.filename:
            return filename, line, program.globals, True
    if running is not None and running.f_globals is program.globals:
        return program.filename, running.f_lineno, program.globals, True
    line = kept_unawaited(program, coro.__name__)
    if line is not None:
        return program.filename, line, program.globals, True
    site = _program_site(program, running)
    if site[2] is _NO_FRAME and running is not None and not _own(running.f_code.co_filename):
        return running.f_code.co_filename, running.f_lineno, running.f_globals, False
    return (*site, False)


def kept_unawaited(program, name, found={}):  # noqa: B006 - a per-process cache, keyed by the program
    """The line of the one call in `program` of a function `name` (a coroutine function) whose result is
    kept (assigned, put in a list, ...) rather than awaited, handed to a call, returned or dropped; None
    when there is no such call or more than one."""
    key = (program.filename, name)
    if key not in found:
        import ast  # (asyncio imports it anyway)

        tree = ast.parse(program.source)
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        lines = set()
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or getattr(node.func, "id", getattr(node.func, "attr", None)) != name:
                continue
            parent = parents.get(node)
            if isinstance(parent, ast.Starred):
                parent = parents.get(parent)
            if not isinstance(parent, (ast.Await, ast.Call, ast.keyword, ast.Expr, ast.Return, ast.Yield,
                                       ast.YieldFrom)):
                lines.add(node.lineno)
        found[key] = lines.pop() if len(lines) == 1 else None
    return found[key]


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
