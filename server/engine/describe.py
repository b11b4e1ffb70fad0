"""Readable words for what the loop holds: callbacks, waits, outcomes.

Nothing here may contain a memory address: traces must be the same from run
to run, so reprs are cleaned of ` at 0x...`.
"""

import asyncio
import functools
import re
from types import AsyncGeneratorType, CoroutineType, GeneratorType

from . import internals

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")

# asyncio's internal callbacks, in words a learner can follow.
_LABELS = {
    "_set_result_unless_cancelled": "sleep timer fires",
    "_run_until_complete_cb": "stop the loop (main coroutine done)",
    "_release_waiter": "wake the waiter",
    "_SelectorSocketTransport._read_ready": "socket readable",
    "_SelectorSocketTransport._write_ready": "socket writable",
    "BaseSelectorEventLoop._accept_connection": "accept a connection",
    "gather.<locals>._done_callback": "gather: one of its awaitables finished",
    "_chain_future.<locals>._set_state": "hand a thread's result to the loop",
}

# What some asyncio coroutines are waiting for, said plainly.
_WAITS = {
    "TaskGroup.__aexit__": "its TaskGroup's tasks (end of `async with`)",
    "Timeout.__aexit__": "the end of `async with asyncio.timeout()`",
}

_NO_WAITER = {"kind": "none"}
_IO_MODULES = ("asyncio.streams", "asyncio.selector_events", "asyncio.base_events")


def readable(value, limit=200):
    if type(value) in (int, float):
        return repr(value)
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a broken __repr__ is the program's business
        text = f"<{type(value).__name__}>"
    text = _ADDRESS.sub("", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def label_of(callback):
    func = callback.func if isinstance(callback, functools.partial) else callback
    name = getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or type(func).__name__
    return _LABELS.get(name, name)


def user_line_of_traceback(tb, filename):
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def outcome(future, filename):
    """(state, detail, line) of a finished future or task, without marking its exception retrieved."""
    state, result, exception, message = internals.settled(future)
    if state == "CANCELLED":
        return "cancelled", message if message is not None else "cancelled", None
    if exception is not None:
        line = user_line_of_traceback(exception.__traceback__, filename)
        return "exception", f"{type(exception).__name__}: {exception}", line
    return "result", readable(result), None


def _callee_text(frame, cache={}):  # noqa: B006 - a deliberate per-process cache, keyed by code object
    code = frame.f_code
    text = cache.get(code)
    if text is None:
        name = getattr(code, "co_qualname", code.co_name)
        module = frame.f_globals.get("__name__", "")
        if name in _WAITS:
            text = _WAITS[name]
        elif module.startswith("asyncio"):
            text = f"asyncio.{name}()" if "." not in name else f"{name}()"
        else:
            text = f"{name}()"
        cache[code] = text
    if text == "asyncio.sleep()":
        return f"asyncio.sleep({readable(frame.f_locals.get('delay'))})"
    if text == "asyncio.to_thread()":
        return f"asyncio.to_thread({getattr(frame.f_locals.get('func'), '__qualname__', '…')})"
    return text


class Describer:
    def __init__(self, tracer):
        self._tracer = tracer
        self._filename = tracer.filename

    def _where(self, task):
        """(line of the innermost frame in the program, frame of the call it waits in).

        The call is the first frame below the program's with a public name, so
        `async with semaphore` reads as `Semaphore.acquire()`, not the mixin's `__aenter__`.
        """
        line, below = None, []
        filename = self._filename
        coro = task.get_coro()
        for _ in range(100):  # the chain of awaits, from the task's coroutine down
            kind = type(coro)
            if kind is CoroutineType:
                frame, next_coro = coro.cr_frame, coro.cr_await
            elif kind is GeneratorType:
                frame, next_coro = coro.gi_frame, coro.gi_yieldfrom
            elif kind is AsyncGeneratorType:
                frame, next_coro = coro.ag_frame, coro.ag_await
            else:
                break
            if frame is None:
                break
            if frame.f_code.co_filename == filename:
                line, below = frame.f_lineno, []
            else:
                below.append(frame)
            coro = next_coro
        for frame in below:
            name = getattr(frame.f_code, "co_qualname", frame.f_code.co_name)
            if name in _WAITS or not name.rpartition(".")[2].startswith("_"):
                return line, frame
        return line, below[0] if below else None

    def line_of(self, task):
        return self._where(task)[0]

    def wait(self, task, tid):
        """(line, awaiting text, waiter object) for a task that just suspended."""
        tracer = self._tracer
        line, callee = self._where(task)
        said = _callee_text(callee) if callee is not None else None
        waiter = internals.waiter_of(task)
        if waiter is None:
            return line, said or "the next loop iteration", _NO_WAITER
        if isinstance(waiter, asyncio.Task):
            other = f"task {waiter.get_name()}"
            return line, f"{said} → {other}" if said else other, {"kind": "task", "task": tracer.task_id(waiter)}
        record = tracer.future_record(waiter)
        record.waiting.append(tid)
        fid = record.fid
        timer = record.timer
        if timer is not None:
            when = tracer.clock.since_start(timer.when)
            waits_for = {"kind": "timer", "future": fid, "handle": timer.hid, "when": when}
            return line, said or f"a timer due at t={when:g}", waits_for
        if record.thread:
            kind = "thread"
        elif callee is not None and callee.f_globals.get("__name__", "") in _IO_MODULES:
            kind = "io"
        else:
            kind = "future"
        if said is None:
            said = "asyncio.gather(…)" if type(waiter).__name__ == "_GatheringFuture" else f"future #{fid}"
        return line, said, {"kind": kind, "future": fid}
