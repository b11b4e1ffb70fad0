"""The tracer: hooks the event loop calls, each turning one thing it does into an event.

Like trio's Instrument: the loop (see `loop.py`) runs the ready queue's `append`
and `Handle._run` that `hooks.py` makes (the two that run for nearly every
callback) and calls `timer_scheduled`, `handle_cancelled`, `before_idle`, ... and the tracer only
*observes*: it never schedules a callback or creates a task, so a traced program
runs its callbacks in exactly the order a plain one does. `instrument.HOOKS` lists
every hook; the loop calls them through `self.hooks`, which guards each: a hook that
fails reports once (`fail`) and switches tracing off; the program goes on.
"""

import asyncio
import itertools
import sys
import threading
import weakref

from ..events.wire import CODES, enum_index, packer
from . import internals
from .describe import Describer, coroutine_name, exception_text, label_of, outcome, said, shown, task_name
from .future_records import FutureRecords
from .idle import Idle
from .instrument import Hooks
from .object_hooks import ObjectHooks

_thread_id = threading.get_ident
_callback_of, _args_of, _loop_thread = internals.callback_of, internals.args_of, internals.loop_thread
_NAN = float("nan")
_FUTURE = asyncio.Future  # (the C class, which every asyncio future and task is)
_future_done = asyncio.Future.done  # (not the method a program's subclass may put in its place)
_coro_of = asyncio.Task.get_coro

_SCHEDULE, _CANCEL, _ITERATION = CODES["handle.schedule"], CODES["handle.cancel"], CODES["loop.iteration"]
_TASK_NEW, _TASK_DONE, _IDLE = CODES["task.new"], CODES["task.done"], CODES["loop.idle"]
_END, _SUSPEND = CODES["handle.end"], CODES["task.suspend"]
_pack_schedule, _pack_end, _pack_suspend = (
    packer(name).pack for name in ("handle.schedule", "handle.end", "task.suspend"))
_READY, _TIMERS = enum_index("queue", "ready"), enum_index("queue", "timers")
_CALL_SOON, _THREADSAFE, _FROM_TIMER, _IO, _CALL_AT = (
    enum_index("source", name) for name in ("call_soon", "threadsafe", "timer", "io", "call_at"))

# Coroutines asyncio.run() starts for its own shutdown: shown, but marked internal.
INTERNAL_COROS = {"BaseEventLoop.shutdown_asyncgens", "BaseEventLoop.shutdown_default_executor"}


class _Unlisted:
    """Stands in for the ready queue of a handle run by a loop that is not Loopscope's."""

    __slots__ = ("running",)

    def __init__(self):
        self.running = None


class Tracer(ObjectHooks):
    def __init__(self, emitter, clock, program, streams=(), raw_output=None, task_class=None, threshold=0.05):
        """`emitter` writes the events; `clock` is the loop time; `program` the `ProgramFile` traced;
        `streams` the program's `ProgramOutput`s (each asks `before_output` who writes; the tracer
        flushes a partial line after each callback); `raw_output` the `RawOutput` of its fd 1,
        drained before the loop waits; `task_class` Loopscope's `loop.Task`, which reports its
        own renames and cancels; `threshold` the seconds from which a callback blocks the loop."""
        self.emitter = emitter
        self.clock = clock
        self.program = program
        self.streams = streams
        self.raw_output = raw_output
        self.task_class = task_class
        self.threshold = threshold
        self.enabled = True
        self.untidy = False  # something to tidy after the callback: a partial print line, self.resolved
        # thread ident -> the ready queue (loop.ReadyQueue) of the loop running there, whose
        # `running` is the handle of the callback running now (read by the sampler)
        self.loop_queues = {}
        self.native_ids = {}  # thread ident -> the kernel's id of that thread (the sampler reads its schedstat)
        self.describe = Describer(self)
        self._names = {}  # task id -> its name as last reported, for tasks of other classes
        self.hooks = Hooks(self)  # what the loop calls: every hook of instrument.HOOKS, guarded
        for stream in streams:
            stream.ask_who_writes(self.hooks.before_output)
        self._failing = threading.Lock()  # (hooks run on several threads: one of them reports)
        self.idle = Idle(self)
        self.hot, self._string = emitter.hot, emitter.string  # (hot: see Emitter; used by the hooks too)
        self.hids = itertools.count(1)  # handle ids
        self._tids = itertools.count(1)
        self._task_ids = weakref.WeakKeyDictionary()  # tasks that cannot carry an attribute
        # what is known of the futures somebody waits on, until they are done (held weakly)
        self.futures = FutureRecords()
        self.future_record = self.futures.of  # the record of a future, made if need be (no call of its own)
        self.resolved = []  # futures to forget once the callback that resolved them ends
        self.start_objects()  # (ObjectHooks)
        self._io_thread = None
        self._iteration = 0

    # -- ids and names -------------------------------------------------------------

    def task_id(self, task):
        tid = getattr(task, "_loopscope_tid", None)
        if tid is None:
            tid = self._task_ids.get(task)
            if tid is None:
                tid = self._announce(task)
        return tid

    def _announce(self, task):
        tid = next(self._tids)
        try:
            task._loopscope_tid = tid
        except AttributeError:
            self._task_ids[task] = tid
        coro_name = coroutine_name(task.get_coro() if type(task) is self.task_class else shown(task, _coro_of, None))
        if type(task) is self.task_class:
            name = task.get_name()
        else:  # (the program's own class, from its task factory: its methods may do anything)
            name = self._names[tid] = task_name(task)
        string = self._string
        self.emitter.line(_TASK_NEW, tid, string(name), string(coro_name), self.current_task_id() or 0,
                          self.user_line_here() or 0, coro_name in INTERNAL_COROS)
        return tid

    def task_renamed(self, task):
        """A `task_class` task was renamed (it says so itself): reported once it is announced."""
        if getattr(task, "_loopscope_tid", None) is not None:
            task._loopscope_step_label = None  # made anew at its next step
            self.emitter.emit("task.rename", task=task._loopscope_tid, name=task.get_name())

    def task_cancel_requested(self, task, msg):
        """Something asks `task` (a `task_class` one) to cancel: reported unless it is done."""
        if not task.done():
            self.emitter.emit("task.cancel", task=self.task_id(task), by=self.current_task_id(),
                              msg=None if msg is None else said(msg))

    def task_label(self, task, role):
        """String id of the label of `task`'s "step" or "wake-up" callback. For a task that does
        not report its renames (not a `task_class` one), this is where a new name is noticed."""
        if type(task) is self.task_class:
            name = task.get_name()
        else:  # e.g. from the program's own task factory
            name = task_name(task)
            tid = self.task_id(task)
            if self._names.get(tid, name) != name:  # renamed: nothing else tells
                self.emitter.emit("task.rename", task=tid, name=name)
            self._names[tid] = name
        return self._string(f"{role} {name}")

    def step_label(self, task):
        """String id of `task`'s step's label; kept on a `task_class` task (forgotten when it is
        renamed), made for each step of any other (which is how their renames are noticed)."""
        label = self.task_label(task, "step")
        if type(task) is self.task_class:
            task._loopscope_step_label = label
        return label

    def current_record(self):
        """The handle of the callback running on this thread (see `record`), or None."""
        queue = self.loop_queues.get(_thread_id())
        return None if queue is None else queue.running

    def current_task_id(self):
        handle = self.current_record()
        return handle._loopscope_tid or None if handle is not None else None

    def user_line_here(self):
        """Line of the innermost frame of the program's file on this thread's stack."""
        frame = sys._getframe(1)
        program = self.program.globals
        while frame is not None:
            if frame.f_globals is program:  # not f_code: reading that raises an audit event
                return frame.f_lineno
            frame = frame.f_back
        return None

    # -- queues ----------------------------------------------------------------------

    def _record(self, handle, when, queue):
        """Fill in what the tracer keeps on `handle` (see `record`), just queued (or put in the
        heap) in `queue`'s loop; the id of the task that the callback will resolve, or 0."""
        callback = _callback_of(handle)
        args = _args_of(handle)
        # (asyncio's futures only, told by their type: a plain run reads no attribute of an argument)
        future = args[0] if args and issubclass(type(args[0]), _FUTURE) else None
        if future is not None and _future_done(future) and not issubclass(type(future), asyncio.Task):
            self.future_resolved(future)  # its done-callbacks are being scheduled
        task, role = internals.task_of_callback(callback)
        if task is not None:
            tid = self.task_id(task)
            label = self.task_label(task, role)
            owner = 0
        else:
            tid, label = 0, self._string(label_of(callback))
            owner = self._owner(future) if future is not None else 0
        handle._loopscope_hid, handle._loopscope_task, handle._loopscope_tid = next(self.hids), task, tid
        handle._loopscope_label, handle._loopscope_when, handle._loopscope_in_heap = label, when, False
        handle._loopscope_sleeps = handle._loopscope_samples = None  # (an earlier run's, if queued again)
        handle._loopscope_queue = queue
        return owner

    def _owner(self, future):
        """Id of the first task waiting on `future`, which a callback with it will resolve, or 0."""
        record = self.futures.get(future)
        return record.waiting[0] if record is not None and record.waiting else 0

    def source(self, queue, ident):
        """How a handle entered `queue` from thread `ident`, when that is not the usual way."""
        owner = _loop_thread(queue.loop)
        if owner is not None and ident != owner:
            return _THREADSAFE
        if ident == self._io_thread:
            return _IO
        if owner is not None:
            queue.calm = ident  # the loop's thread, outside I/O: the usual way, until either changes
        return _CALL_SOON

    def timer_came_due(self, timer):
        timer._loopscope_in_heap = False
        args = _args_of(timer)
        owner = self._owner(args[0]) if args and not timer._loopscope_tid else 0
        self.hot(_pack_schedule(_SCHEDULE, self.clock.peek(), timer._loopscope_hid, _READY, timer._loopscope_when,
                                timer._loopscope_tid, timer._loopscope_label, _FROM_TIMER, owner))

    def timer_scheduled(self, timer, delay, queue):
        when = self.clock.since_start(internals.when_of(timer))
        self._record(timer, when, queue)
        timer._loopscope_in_heap = True
        args = _args_of(timer)
        if args and issubclass(type(args[0]), _FUTURE):
            future = self.future_record(args[0])
            future.timer_hid, future.timer_when, future.delay = timer._loopscope_hid, when, delay
        self.hot(_pack_schedule(_SCHEDULE, self.clock.peek(), timer._loopscope_hid, _TIMERS, when,
                                timer._loopscope_tid, timer._loopscope_label, _CALL_AT, 0))
        self.emitter.flush_if_full()

    def handle_cancelled(self, handle):
        """`handle` is being cancelled: reported if it waits to run (in a ready queue or the heap)."""
        if getattr(handle, "_loopscope_queue", None) is not None and not handle.cancelled():
            handle._loopscope_queue = None
            self.emitter.line(_CANCEL, handle._loopscope_hid, handle._loopscope_tid)

    def executor_future(self, future):
        """`future` is resolved by a thread-pool job (`run_in_executor`, `asyncio.to_thread`)."""
        self.future_record(future).thread = True

    def before_io_callbacks(self, queue):
        """The loop whose ready queue is `queue` queues its I/O callbacks (`source` tells them apart)."""
        queue.calm = None
        self._io_thread = threading.get_ident()

    def after_io_callbacks(self):
        self._io_thread = None

    def iteration_began(self):
        self._iteration += 1
        self.emitter.line(_ITERATION, self._iteration)

    def before_idle(self, until):
        """The loop is about to wait: until loop time `until`, or NaN (no timer: I/O only)."""
        self.emitter.line(_IDLE, until)

    def loop_started(self, queue):
        """A loop, whose ready queue is `queue`, starts running on this thread; the queue of the
        loop it runs inside of (a loop run from a callback, where a program allows that), or None."""
        queue.calm = None  # which thread runs the loop is found again
        ident = _thread_id()
        outer = self.loop_queues.get(ident)
        self.loop_queues[ident] = queue
        self.native_ids[ident] = threading.get_native_id()
        return outer

    def loop_stopped(self, outer):
        """The loop running on this thread stopped; `outer` is what `loop_started` returned."""
        if outer is None:
            self.loop_queues.pop(_thread_id(), None)
        else:
            self.loop_queues[_thread_id()] = outer

    def before_sleep(self, seconds):
        """The program calls `time.sleep(seconds)`: kept on the callback running on this thread,
        if any, so that a callback blocked by sleeping says so (see `_blocked`)."""
        handle = self.current_record()
        if handle is not None and isinstance(seconds, (int, float)):
            total, longest, line = getattr(handle, "_loopscope_sleeps", None) or (0.0, -1.0, None)
            if seconds > longest:
                longest, line = seconds, self.user_line_here()
            handle._loopscope_sleeps = (total + seconds, longest, line)

    def before_output(self):
        """The program writes to its sys.stdout or sys.stderr: the id of the task writing (None
        outside tasks). A partial line is sent once the callback ends (`tidy_after_callback`)."""
        self.untidy = True
        return self.current_task_id()

    # -- running a callback -------------------------------------------------------------

    def callback_queued(self, handle, source, queue):
        """Report `handle` entering the ready queue `queue` (any callback but a task's step);
        the queue. `queue` None: the one of the loop running on this thread, if any."""
        if queue is None:
            queue = self.loop_queues.get(_thread_id()) or _Unlisted()
        owner = self._record(handle, _NAN, queue)
        self.hot(_pack_schedule(_SCHEDULE, self.clock.peek(), handle._loopscope_hid, _READY, _NAN,
                                handle._loopscope_tid, handle._loopscope_label, source, owner))
        self.emitter.flush_if_full()  # e.g. a callback that calls call_soon in a loop
        return queue

    def tidy_after_callback(self):
        self.untidy = False
        for stream in self.streams:
            stream.flush_partial()
        if self.resolved:
            forget = self.futures.forget
            for future in self.resolved:
                forget(future)
            self.resolved.clear()

    def callback_ended(self, handle, duration):
        """A callback ended that is not a task step ending at an `await` in good time."""
        task = handle._loopscope_task
        if task is not None:
            self._task_finished(task, handle._loopscope_tid)
        if duration >= self.threshold:
            self._blocked(handle, duration)
        self.hot(_pack_end(_END, self.clock.peek(), handle._loopscope_hid, handle._loopscope_tid, duration))
        self.emitter.flush_if_full()

    def _task_finished(self, task, tid):
        """The step of `task` ended: it is done, or suspended."""
        if task.done():
            self._task_done(task, tid)
        else:
            self.hot(_pack_suspend(_SUSPEND, self.clock.peek(), tid, *self.describe.wait(task, tid)))

    def _task_done(self, task, tid):
        if getattr(task, "_loopscope_coro_frame", None) is not None:
            task._loopscope_coro_frame = task._loopscope_coro = None  # its frame (see Describer) may go now
        self._names.pop(tid, None)
        state, detail, line = outcome(task, self.program.filename)
        self.emitter.line(_TASK_DONE, tid, enum_index("state", state), self._string(detail), line or 0)

    def _blocked(self, handle, duration):
        samples = getattr(handle, "_loopscope_samples", None)
        cause, call = self.cause_of(handle, samples, duration)
        if cause == "sleep":
            line = handle._loopscope_sleeps[2]
        else:
            line = samples.line() if samples is not None else None
            if line is None and handle._loopscope_task is not None:
                line = self.describe.line_of(handle._loopscope_task)
        self.emitter.emit("loop.blocked", duration=duration, task=handle._loopscope_tid or None, line=line,
                          handle=handle._loopscope_hid, cause=cause, call=call)

    def cause_of(self, handle, samples, duration):
        """(cause, call) of a callback that has held the loop for `duration` seconds (see `loop.blocked`):
        asleep if `time.sleep` took half of it, waiting if its thread used little CPU while sampled."""
        sleep = getattr(handle, "_loopscope_sleeps", None)
        if sleep is not None and sleep[0] >= duration / 2:
            return "sleep", "time.sleep"
        if samples is None:
            return "cpu", None
        return "wait" if samples.waited() else "cpu", samples.call()

    def callback_stalled(self, handle, samples, running):
        """The sampler's thread: `handle`'s callback has held the loop for `running` real seconds and
        still runs (`samples`: what the sampler saw of it)."""
        cause, call = self.cause_of(handle, samples, running)
        line = handle._loopscope_sleeps[2] if cause == "sleep" else samples.line()
        self.emitter.emit("loop.stalled", handle=handle._loopscope_hid, task=handle._loopscope_tid or None,
                          line=line, running=round(running, 3), cause=cause, call=call)

    def coroutine_unawaited(self, coro, line):
        """Python warns that `coro` was never awaited, at the program's `line` (or None)."""
        self.emitter.emit("coroutine.unawaited", coro=shown(coro, lambda c: c.__qualname__), line=line)

    def future_resolved(self, future):
        """`future` is done and its done-callbacks are being scheduled: report it once."""
        record = self.future_record(future)
        if record.fid < 0:
            return
        state, detail, _ = outcome(future, self.program.filename)
        self.emitter.emit("future.done", future=record.fid, state=state, detail=detail, waiters=record.waiting)
        record.fid = -record.fid  # reported; the record goes when this callback ends
        self.resolved.append(future)
        self.untidy = True

    def loop_exception(self, context):
        if type(context) is not dict:  # (the program's own call: what its handler makes of it is its business)
            return
        exception = context.get("exception")
        task = context.get("task")
        if task is None:
            task = context.get("future")
        tid = self.task_id(task) if issubclass(type(task), asyncio.Task) else None
        self.emitter.emit(
            "loop.exception", message=said(context.get("message")), task=tid,
            exception=None if exception is None else exception_text(exception),
        )

    def fail(self, where, exc):
        """The hook `where` (see `instrument.HOOKS`) raised `exc`: say so once, then stop
        tracing (the program keeps running)."""
        with self._failing:
            if not self.enabled:
                return
            self.enabled = False
        try:
            self.emitter.emit(
                "error", message=f"Loopscope's tracer failed in {where} ({type(exc).__name__}: {exc}); "
                "the trace stops here, the program goes on.", line=None, traceback="",
            )
        except Exception:  # noqa: BLE001 - the writer itself is broken: nothing left to report with
            pass
