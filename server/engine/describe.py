"""Readable words for what the loop holds: callbacks, waits, outcomes.

Nothing here may contain a memory address: traces must be the same from run
to run, so reprs are cleaned of ` at 0x...`.
"""

import asyncio
import functools
import re
from types import AsyncGeneratorType, CoroutineType, GeneratorType, TracebackType

from ..events.wire import enum_index, shorten
from . import internals
from .repr_prefix import repr_prefix

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
# Characters of a text made of one of the program's objects (a message, a repr): the runner cuts
# each string to as many (`sandbox.Limits.text`), but counts what came against the output limit.
# Cut here, the same way, so a megabyte message costs a plain run nothing and the trace no more.
TEXT_LIMIT = 200

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

_NONE, _TASK, _TIMER, _FUTURE, _THREAD, _IO = (
    enum_index("waiter", kind) for kind in ("none", "task", "timer", "future", "thread", "io"))
_NAN = float("nan")
_SLEEP = "asyncio.sleep()"
_waiter_of = internals.waiter_of
_IO_MODULES = ("asyncio.streams", "asyncio.selector_events", "asyncio.base_events")
# What a task keeps while it runs, as attributes (slots of `loop.Task`: they sit in the task
# object, which the loop touches anyway, so reading them fetches little memory): its
# coroutine's frame, that frame's code, the coroutine, and where it waited last, when that
# can be remembered: the instruction, the awaited object's type, its name, the site found.


def _keep_frame(task, frame, coro):
    """Remember `task`'s own frame (False when the task cannot carry attributes)."""
    try:
        task._loopscope_coro_frame, task._loopscope_coro_code, task._loopscope_coro = frame, frame.f_code, coro
        task._loopscope_wait_type = None  # it has waited nowhere yet
    except AttributeError:
        return False
    return True


def _remember(task, lasti, kind, name, site):
    """`task` waits at `site` while its own frame is at instruction `lasti`, awaiting an object of
    type `kind` whose `__qualname__` is `name` (read back by `hooks.handle_run`)."""
    task._loopscope_wait_lasti, task._loopscope_wait_type, task._loopscope_wait_name, task._loopscope_wait_site = (
        lasti, kind, name, site)


_STAND_IN = object()


def shown(value, convert=repr, default=_STAND_IN):
    """`convert(value)` (repr or str) of one of the program's objects, or a stand-in when its
    `__repr__` / `__str__` raises, whatever it raises (even SystemExit: a plain run would never
    have called it, so the program must not see it), or returns something that is not a string.
    With a `default`, `convert` may read anything (e.g. an attribute a property computes) and
    `default` stands in when it raises."""
    try:
        text = convert(value)
        if default is not _STAND_IN or type(text) is str:
            return text
    except BaseException:  # noqa: BLE001 - see above
        if default is not _STAND_IN:
            return default
    return f"<{type(value).__name__} object>"


def _cut(text):
    """`text` without addresses, cut to `TEXT_LIMIT` as the runner cuts names (saying how long it was)."""
    if len(text) > 4 * TEXT_LIMIT:  # (the addresses past the cut are not looked for)
        return shorten(_ADDRESS.sub("", text[: 4 * TEXT_LIMIT]) + text[4 * TEXT_LIMIT:], TEXT_LIMIT)
    return shorten(_ADDRESS.sub("", text), TEXT_LIMIT)


def said(value):
    """`str(value)` of one of the program's objects (see `shown`), cut (`_cut`)."""
    return _cut(shown(value, str))


def exception_text(exception):
    """"Name: message" of one of the program's exceptions, cut (`_cut`)."""
    return _cut(f"{type(exception).__name__}: {shown(exception, str)}")


def readable(value, limit=TEXT_LIMIT):
    if type(value) in (int, float):
        return repr(value)
    # (made only as far as is shown, for built-in containers: see repr_prefix; addresses are taken out)
    text = _ADDRESS.sub("", shown(value, lambda v: repr_prefix(v, 4 * limit))[: 4 * limit])
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _name_of_callable(func, default=None):
    """`__qualname__` (or `__name__`) of the program's callable `func`, or `default` (None: its
    type's name) when it has no such string, whatever its attribute hooks do (see `shown`)."""
    try:
        name = getattr(func, "__qualname__", None) or getattr(func, "__name__", None)
    except BaseException:  # noqa: BLE001 - see `shown`
        name = None
    if type(name) is str:
        return name
    return type(func).__name__ if default is None else default


def label_of(callback):
    func = callback.func if type(callback) is functools.partial else callback  # (a subclass: its own name)
    name = _name_of_callable(func)
    return _LABELS.get(name, name)


def job_label(fn):
    """What a thread-pool job runs, named: `asyncio.to_thread(f, ...)` hands the pool
    `functools.partial(context.run, f, ...)`, which is `f`'s job."""
    if type(fn) is functools.partial and fn.args and _name_of_callable(fn.func) == "Context.run":
        fn = fn.args[0]
    return label_of(fn)


def task_name(task):
    """The name of a task of the program's own class (whose `get_name` may be anything)."""
    name = shown(task, lambda t: t.get_name(), None)
    return name if type(name) is str else f"<{type(task).__name__} object>"


def coroutine_name(coro):
    """`__qualname__` of a task's coroutine, which may be any object asyncio takes for one."""
    return _name_of_callable(coro)


def user_line_of_traceback(tb, filename):
    line = None
    if type(tb) is not TracebackType:  # (an exception class's own `__traceback__` property)
        return None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def outcome(future, filename):
    """(state, detail, line) of a finished future or task, without marking its exception retrieved."""
    state, result, exception, message = internals.settled(future)
    if state == "CANCELLED":
        return "cancelled", said(message) if message is not None else "cancelled", None
    if exception is not None:
        line = user_line_of_traceback(shown(exception, lambda e: e.__traceback__, None), filename)
        return "exception", exception_text(exception), line
    return "result", readable(result), None


def module_of(frame):
    """The `__name__` of the module `frame` runs in, or "" (code the program `exec`s may give its
    globals any `__name__`, or a dict subclass: only asyncio's and the program's modules are named)."""
    name = dict.get(frame.f_globals, "__name__", "")
    return name if type(name) is str else ""


def _callee_text(frame, name, cache={}):  # noqa: B006 - a deliberate per-process cache
    module = module_of(frame)
    text = cache.get((name, module))
    if text is None:
        if name in _WAITS:
            text = _WAITS[name]
        elif module.startswith("asyncio"):
            text = f"asyncio.{name}()" if "." not in name else f"{name}()"
        else:
            text = f"{name}()"
        cache[name, module] = text
    if text == "asyncio.to_thread()":
        return f"asyncio.to_thread({_name_of_callable(frame.f_locals.get('func'), '…')})"
    return text


def _frame_of(awaitable):
    """(frame, what it awaits) of a coroutine or generator in an await chain; (None, None) for anything else.

    `cr_frame` and friends raise an audit event (the sandbox's hook runs for each), so
    callers read as few as they can: see `Describer.where`.
    """
    kind = type(awaitable)
    if kind is CoroutineType:
        return awaitable.cr_frame, awaitable.cr_await
    if kind is GeneratorType:
        return awaitable.gi_frame, awaitable.gi_yieldfrom
    if kind is AsyncGeneratorType:
        return awaitable.ag_frame, awaitable.ag_await
    return None, None


def _awaited(awaitable):
    """What a coroutine or generator awaits (no audit event)."""
    kind = type(awaitable)
    if kind is CoroutineType:
        return awaitable.cr_await
    if kind is GeneratorType:
        return awaitable.gi_yieldfrom
    if kind is AsyncGeneratorType:
        return awaitable.ag_await
    return None


class Describer:
    def __init__(self, tracer):
        self._tracer = tracer
        self._string = tracer.emitter.string
        self._program_names = tracer.program.names
        self._sites = {}  # (id of code, f_lasti, awaited type, its name) -> what `where` found there (and the code)

    def where(self, task):
        """Where `task` waits: (line of the innermost frame in the program, text of the call it
        waits in or None, whether that call is in asyncio's I/O modules, string id of what to
        say when it waits for no future, the code of the task's own frame, string id of the
        program's own coroutines the wait passes through, as `task.suspend.via`, or 0).

        The call is the first frame below the program's with a public name, so
        `async with semaphore` reads as `Semaphore.acquire()`, not the mixin's `__aenter__`.
        Reading a coroutine's frame or code raises an audit event (the sandbox's hook runs
        for each), which made this the tracer's costliest step; so frames are told apart by
        their globals, the task's own frame is kept on the task, the walk stops at the first
        public call inside asyncio (whose own awaits are not the program's business), and
        the usual case, a program frame awaiting such a call directly, is remembered per
        (code, instruction, awaited function's name) — for names the program does not
        define itself, so that a function of its own never passes for asyncio's — and, for
        a task that waits at the same place again and again (a loop), on the task itself
        (`_remember`), which is looked at first.
        """
        try:
            coro = task._loopscope_coro
            awaited = coro.cr_await
        except AttributeError:  # its frame is not known yet (or it is done)
            return self._walk(task, task.get_coro(), False)
        kind = type(awaited)
        try:  # the same place as last time (a task that waits in a loop)?
            if (kind is task._loopscope_wait_type and task._loopscope_coro_frame.f_lasti == task._loopscope_wait_lasti
                    and awaited.__qualname__ == task._loopscope_wait_name):
                return task._loopscope_wait_site
        except AttributeError:  # it waited nowhere yet
            pass
        if kind is CoroutineType or kind is GeneratorType:
            # keyed by the code's id (hashing a code object costs more than all the rest)
            code = task._loopscope_coro_code
            key = (id(code), task._loopscope_coro_frame.f_lasti, kind, awaited.__qualname__)
            site = self._sites.get(key)
            if site is not None and site[4] is code:
                _remember(task, *key[1:], site)
                return site
        return self._walk(task, coro, True)

    def _walk(self, task, coro, kept):
        """`where`, the long way; `kept`: `task` carries its frame already."""
        program = self._tracer.program.globals
        if kept:
            frame, awaited = task._loopscope_coro_frame, _awaited(coro)
        else:
            frame, awaited = _frame_of(coro)
            kept = frame is not None and type(coro) is CoroutineType and _keep_frame(task, frame, coro)
        top_code = task._loopscope_coro_code if kept else None  # (f_code would raise an audit event)
        line = first = public = None
        depth, in_asyncio = 0, False
        nested = []  # the program's own frames the wait passes through: (name, line)
        # The chain of awaits, from the task's coroutine down, all of it (however deep: a cutoff would
        # name the wrong line); `depth` counts the frames above the one looked at.
        while frame is not None:
            if frame.f_globals is program:
                line, first, public = frame.f_lineno, None, None
                nested.append((coro.__qualname__, line))
            else:
                name = coro.__qualname__
                if first is None:
                    first = (frame, name)
                if public is None and (name in _WAITS or not name.rpartition(".")[2].startswith("_")):
                    public = (frame, name)
                    if module_of(frame).startswith("asyncio."):
                        in_asyncio = True
                        break
            coro = awaited
            frame, awaited = _frame_of(coro)
            depth += 1
        # the 6th: the string id of the nesting (0: the task's own coroutine waits itself)
        via = (self._string(" → ".join(f"{name.rpartition('<locals>.')[2]}() line {at}" for name, at in nested))
               if len(nested) > 1 else 0)
        callee = public or first
        if callee is None:
            return line, None, False, self._string("the next loop iteration"), None, via
        said = _callee_text(*callee)
        # the 4th: the string id of what it awaits when it waits for no future (e.g. sleep(0))
        site = (line, said, module_of(callee[0]) in _IO_MODULES,
                self._string("asyncio.sleep(0)" if said == _SLEEP else said), top_code, via)
        name = callee[1]
        if (depth == 1 and in_asyncio and line is not None and kept and name != "to_thread"
                and name not in self._program_names):
            # the program's frame awaits an asyncio call directly: the same next time
            key = (id(top_code), task._loopscope_coro_frame.f_lasti, type(coro), name)
            self._sites[key] = site
            _remember(task, *key[1:], site)
        return site

    def line_of(self, task):
        return self.where(task)[0]

    def wait(self, task, tid):
        """A task just suspended: the `task.suspend` fields after `task`, in wire form (see
        `server.events.wire.PACKED`): line, awaiting text, waiter kind, task, future, handle, when."""
        site = self.where(task)
        waiter = _waiter_of(task)
        if waiter is None:  # e.g. asyncio.sleep(0) (a delay <= 0): one trip round the loop
            return site[0] or 0, site[3], _NONE, 0, 0, 0, _NAN, site[5]
        return self.waiting(task, tid, site, waiter)

    def waiting(self, task, tid, site, waiter):
        """`wait` for a task whose `_fut_waiter` is `waiter` (not None); `site` from `where`."""
        line, said, in_io, _, _, via = site
        tracer = self._tracer
        if isinstance(waiter, asyncio.Task):  # (a task: the C class or a subclass, `_fut_waiter` is one)
            name = waiter.get_name() if type(waiter) is tracer.task_class else task_name(waiter)
            other = f"task {name}"
            return (line or 0, self._string(f"{said} → {other}" if said else other), _TASK,
                    tracer.task_id(waiter), 0, 0, _NAN, via)
        record = tracer.future_record(waiter)
        record.waiting.append(tid)
        fid = record.fid
        if said == _SLEEP:  # its delay as the program gave it (reading the frame's locals costs more)
            said = f"asyncio.sleep({readable(record.delay)})"
        if record.timer_hid is not None:
            when = record.timer_when
            return (line or 0, self._string(said or f"a timer due at t={when:g}"), _TIMER, 0, fid,
                    record.timer_hid, when, via)
        if record.thread:
            kind = _THREAD
        elif in_io:
            kind = _IO
        else:
            kind = _FUTURE
        if said is None:
            said = "asyncio.gather(…)" if type(waiter).__name__ == "_GatheringFuture" else f"future #{fid}"
        return line or 0, self._string(said), kind, 0, fid, 0, _NAN, via
