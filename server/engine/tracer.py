"""The tracer: hooks the event loop calls, each turning one thing it does into an event.

Like trio's Instrument: the loop (see `loop.py`) runs the tracer's ready-queue
`append` and `Handle._run` (closures from `ready_append` and `handle_run`) and
calls `on_timer`, `on_cancel`, `idle.wait_for_io`, ... and the tracer only
*observes*: it never schedules a callback or creates a task, so a traced program
runs its callbacks in exactly the order a plain one does. A hook that fails
reports once and switches tracing off; the program goes on.

The two closures run for nearly every callback: they are written for as few
Python operations as they can, which is why they read more tersely than the rest.
"""

import asyncio
import collections
import itertools
import sys
import threading
import time
import weakref

from ..events import CODES, WIRE_CODES, enum_index, packer
from . import internals
from .describe import Describer, label_of, outcome
from .idle import Idle

_real_time = time.monotonic  # (the real one: the program's may be virtual)
_thread_id = threading.get_ident
_callback_of, _args_of, _loop_thread = internals.callback_of, internals.args_of, internals.loop_thread
_STEP_WRAPPER = internals.STEP_WRAPPER
_waiter_of = internals.waiter_of
_deque_append = collections.deque.append
_NAN = float("nan")
_task_done = asyncio.Task.done  # (called as a function: Python 3.11 speeds that up, not `task.done()`)

_SCHEDULE, _CANCEL, _ITERATION = CODES["handle.schedule"], CODES["handle.cancel"], CODES["loop.iteration"]
_TASK_NEW, _TASK_DONE = CODES["task.new"], CODES["task.done"]
_BEGIN, _END, _SUSPEND = CODES["handle.begin"], CODES["handle.end"], CODES["task.suspend"]
_SUSPENDED = WIRE_CODES["task.suspend+handle.end"]
_SUSPENDED_IDLE, _STEP_SCHEDULE = WIRE_CODES["task.suspend+handle.end:no-waiter"], WIRE_CODES["handle.schedule:step"]
_pack_suspended_idle = packer("task.suspend+handle.end:no-waiter").pack
_pack_step_schedule = packer("handle.schedule:step").pack
_pack_schedule, _pack_begin, _pack_end, _pack_suspend, _pack_suspended = (
    packer(name).pack for name in ("handle.schedule", "handle.begin", "handle.end", "task.suspend",
                                   "task.suspend+handle.end"))
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


class FutureRecord:
    __slots__ = ("fid", "future", "waiting", "timer", "delay", "thread")

    def __init__(self, fid, future):
        self.fid, self.future = fid, future
        self.waiting = []  # ids of the tasks awaiting it
        self.timer = None  # the handle of the timer that will resolve it (asyncio.sleep)
        self.delay = None  # that timer's call_later delay
        self.thread = False  # resolved by a worker thread (run_in_executor)


# Under the virtual clock, a callback that computes for this long or longer is charged the time it
# took (shorter ones are free, so that traces stay the same from run to run): as in a plain run,
# timers fall due while it computes. (The blocking threshold, for `loop.blocked`, is another.)
CHARGE_AFTER = 0.005


class Tracer:
    def __init__(self, emitter, clock, filename, threshold=0.05):
        self.emitter = emitter
        self.clock = clock
        self.filename = filename
        self.program_globals = {}  # the program's module namespace, once it runs (tells its frames apart)
        self.program_names = set()  # qualified names of every function its file defines
        self.threshold = threshold
        self.enabled = True
        self.output = None  # set by the child: flushes a task's partial print line
        self.untidy = False  # something to tidy after the callback: a partial print line, self.resolved
        self.sampler_thread = None
        # thread ident -> the ready queue (loop.ReadyQueue) of the loop running there, whose
        # `running` is the handle of the callback running now (read by the sampler)
        self.loop_queues = {}
        self.describe = Describer(self)
        self.task_class = None  # loop.Task (set by loop.install): reports its renames as they happen
        self._names = {}  # task id -> its name as last reported, for tasks of other classes
        self.idle = Idle(self)
        self._hot, self._string = emitter.hot, emitter.string
        self._hids = itertools.count(1)
        self._tids = itertools.count(1)
        self._fids = itertools.count(1)
        self._task_ids = weakref.WeakKeyDictionary()  # tasks that cannot carry an attribute
        # id(future) -> FutureRecord, for futures somebody waits on, until they are done.
        # (Plain dicts: weak ones cost more than all the rest of a suspension.)
        self.futures = {}
        self.resolved = []  # keys to forget once the callback that resolved them ends
        self._io_thread = None
        self._iteration = 0

    # -- ids and names -------------------------------------------------------------

    def task_id(self, task):
        tid = getattr(task, "_loopscope_id", None)
        if tid is None:
            tid = self._task_ids.get(task)
            if tid is None:
                tid = self._announce(task)
        return tid

    def _announce(self, task):
        tid = next(self._tids)
        try:
            task._loopscope_id = tid
        except AttributeError:
            self._task_ids[task] = tid
        coro = task.get_coro()
        coro_name = getattr(coro, "__qualname__", None) or type(coro).__name__
        name = task.get_name()
        if type(task) is not self.task_class:
            self._names[tid] = name
        string = self._string
        self.emitter.line(_TASK_NEW, tid, string(name), string(coro_name), self.current_task_id() or 0,
                          self.user_line_here() or 0, coro_name in INTERNAL_COROS)
        return tid

    def task_renamed(self, task):
        """A `task_class` task was renamed (it says so itself)."""
        task._loopscope_label = None  # made anew at its next step
        self.emitter.emit("task.rename", task=self.task_id(task), name=task.get_name())

    def task_label(self, task, role):
        """String id of the label of `task`'s "step" or "wake-up" callback. For a task that does
        not report its renames (not a `task_class` one), this is where a new name is noticed."""
        name = task.get_name()
        if type(task) is not self.task_class:  # e.g. from the program's own task factory
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
            task._loopscope_label = label
        return label

    def future_record(self, future):
        record = self.futures.get(id(future))
        if record is None or record.future is not future:
            record = self.futures[id(future)] = FutureRecord(next(self._fids), future)
        return record

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
        program = self.program_globals
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
        future = args[0] if args and asyncio.isfuture(args[0]) else None
        if future is not None and future.done() and not isinstance(future, asyncio.Task):
            self.future_resolved(future)  # its done-callbacks are being scheduled
        task, role = internals.task_of_callback(callback)
        if task is not None:
            tid = self.task_id(task)
            label = self.task_label(task, role)
            owner = 0
        else:
            tid, label = 0, self._string(label_of(callback))
            owner = self._owner(future) if future is not None else 0
        handle._loopscope_hid, handle._loopscope_task, handle._loopscope_tid = next(self._hids), task, tid
        handle._loopscope_label, handle._loopscope_when, handle._loopscope_in_heap = label, when, False
        handle._loopscope_sleeps = handle._loopscope_samples = None  # (an earlier run's, if queued again)
        handle._loopscope = queue
        return owner

    def _owner(self, future):
        """Id of the first task waiting on `future`, which a callback with it will resolve, or 0."""
        record = self.futures.get(id(future))
        if record is not None and record.future is future and record.waiting:
            return record.waiting[0]
        return 0

    def ready_append(self, timer_class):
        """The traced ready queue's `append` (see `loop.ReadyQueue`): reports the handle entering it.

        A closure, so the hook costs no method call of its own: it runs for every callback.
        `timer_class` is the loop's timer handle class: the one kind that is due, not new.
        """
        tracer = self
        hot, hids, clock = self._hot, self._hids, self.clock

        def append(queue, handle):
            _deque_append(queue, handle)
            if not tracer.enabled:
                return
            try:
                if type(handle) is timer_class:
                    # (no `_loopscope`: made while tracing was off)
                    if getattr(handle, "_loopscope", None) is not None and handle._loopscope_in_heap:
                        tracer.timer_due(handle)  # a timer became due
                        return
                ident = _thread_id()
                source = _CALL_SOON if ident == queue.calm else tracer.source(queue, ident)
                callback = _callback_of(handle)
                if type(callback) is _STEP_WRAPPER:  # a task's step: nearly every callback, so kept short
                    task = callback.__self__
                    try:
                        tid, label = task._loopscope_id, task._loopscope_label
                    except AttributeError:  # its first step
                        tid, label = tracer.task_id(task), None
                    if label is None:  # (also: its first step since it was renamed)
                        label = tracer.step_label(task)
                    hid = next(hids)
                    # what `Tracer._record` fills in, as much as a step needs (see `record`)
                    handle._loopscope_hid, handle._loopscope_task, handle._loopscope_tid = hid, task, tid
                    handle._loopscope_label = label
                    handle._loopscope = queue
                    peek = clock.peek  # (read, then called: `clock.peek()` is not sped up)
                    hot(_pack_step_schedule(_STEP_SCHEDULE, peek(), hid, tid, label, source))
                else:
                    tracer.queued(handle, source, queue)
            except Exception as exc:  # noqa: BLE001 - tracing must never break the program
                tracer.fail("on_ready", exc)

        return append

    def source(self, queue, ident):
        """How a handle entered `queue` from thread `ident`, when that is not the usual way."""
        owner = _loop_thread(queue._loop)
        if owner is not None and ident != owner:
            return _THREADSAFE
        if ident == self._io_thread:
            return _IO
        if owner is not None:
            queue.calm = ident  # the loop's thread, outside I/O: the usual way, until either changes
        return _CALL_SOON

    def timer_due(self, timer):
        timer._loopscope_in_heap = False
        args = _args_of(timer)
        owner = self._owner(args[0]) if args and not timer._loopscope_tid else 0
        self._hot(_pack_schedule(_SCHEDULE, self.clock.peek(), timer._loopscope_hid, _READY, timer._loopscope_when,
                                 timer._loopscope_tid, timer._loopscope_label, _FROM_TIMER, owner))

    def on_timer(self, timer, delay, queue):
        when = self.clock.since_start(internals.when_of(timer))
        self._record(timer, when, queue)
        timer._loopscope_in_heap = True
        args = _args_of(timer)
        if args and asyncio.isfuture(args[0]):
            future = self.future_record(args[0])
            future.timer, future.delay = timer, delay
        self._hot(_pack_schedule(_SCHEDULE, self.clock.peek(), timer._loopscope_hid, _TIMERS, when,
                                 timer._loopscope_tid, timer._loopscope_label, _CALL_AT, 0))
        self.emitter.flush_if_full()

    def on_cancel(self, handle):
        if not handle.cancelled():
            handle._loopscope = None
            self.emitter.line(_CANCEL, handle._loopscope_hid, handle._loopscope_tid)

    def io_begin(self):
        self._io_thread = threading.get_ident()

    def io_end(self):
        self._io_thread = None

    def on_iteration(self):
        self._iteration += 1
        self.emitter.line(_ITERATION, self._iteration)

    # -- running a callback -------------------------------------------------------------

    def handle_run(self, plain_run):
        """The traced handles' `Handle._run` (see `loop.Handle`): runs one callback with
        `plain_run` (asyncio's `_run` of the class), reporting its begin, its end and what its
        task did.

        One closure, with few calls of its own on the usual path: it runs for every callback,
        and each Python call here cost a noticeable share of the callback it traces.
        """
        tracer = self
        hot, clock, describe = self._hot, self.clock, self.describe
        emitter, where, threshold = self.emitter, self.describe.where, self.threshold
        charge_after = min(CHARGE_AFTER, threshold)
        real_clock = clock.name == "real"  # (then a callback's begin is its real time already)

        def _run(handle):
            if not tracer.enabled:
                return plain_run(handle)
            try:
                try:
                    queue = handle._loopscope  # (what the tracer keeps on a handle: see `record`)
                except AttributeError:  # a slot never set
                    queue = None
                if queue is None:  # never reported (e.g. queued before tracing began): now, just before it runs
                    queue = tracer.queued(handle, _CALL_SOON, None)
                handle._loopscope = None  # an I/O handle is queued again and again: each time anew
                hid, tid = handle._loopscope_hid, handle._loopscope_tid
                peek = clock.peek
                begin = peek()
                hot(_pack_begin(_BEGIN, begin, hid, tid))
                spent = emitter.spent
                clock.reads = 0
                handle._loopscope_started = begin if real_clock else _real_time()
                outer = queue.running  # a callback this one runs inside of (a loop run by hand)
                queue.running = handle  # (where the sampler looks, once its start time is set)
            except Exception as exc:  # noqa: BLE001 - tracing must never break the program
                tracer.fail("before_handle", exc)
                return plain_run(handle)
            try:
                plain_run(handle)
            finally:
                if tracer.enabled:
                    try:
                        if clock.frozen:  # virtual time: code that computes is charged what it took
                            # (the emitter's own time, encoding and writing, is not the callback's)
                            real = _real_time() - handle._loopscope_started - (emitter.spent - spent)
                            if real >= charge_after:
                                clock.advance(real)
                        elif clock.spun:  # it waited on the clock, which followed real time meanwhile
                            clock.freeze()
                        peek = clock.peek
                        end = peek()
                        duration = end - begin
                        queue.running = outer
                        if tracer.untidy:
                            tracer.tidy_after_callback()
                        task = handle._loopscope_task
                        if task is not None and duration < threshold and not _task_done(task):
                            # the usual end of a step: one packed record for both events
                            try:  # where it waits: the same place as last time? (see Describer.where)
                                awaited = task._loopscope_coro.cr_await
                                if (type(awaited) is task._loopscope_awaited
                                        and task._loopscope_frame.f_lasti == task._loopscope_lasti
                                        and awaited.__qualname__ == task._loopscope_name):
                                    site = task._loopscope_site
                                else:
                                    site = where(task)
                            except AttributeError:  # nothing remembered (its frame is not kept)
                                site = where(task)
                            waiter = _waiter_of(task)
                            if waiter is None:  # e.g. asyncio.sleep(0): nothing to name but the site
                                hot(_pack_suspended_idle(_SUSPENDED_IDLE, end, hid, tid, duration, site[0] or 0,
                                                         site[3]))
                            else:
                                hot(_pack_suspended(_SUSPENDED, end, hid, tid, duration,
                                                    *describe.waiting(task, tid, site, waiter)))
                        else:
                            tracer.ended(handle, duration)
                    except Exception as exc:  # noqa: BLE001
                        tracer.fail("after_handle", exc)

        return _run

    def queued(self, handle, source, queue):
        """Report `handle` entering the ready queue `queue` (any callback but a task's step);
        the queue. `queue` None: the one of the loop running on this thread, if any."""
        if queue is None:
            queue = self.loop_queues.get(_thread_id()) or _Unlisted()
        owner = self._record(handle, _NAN, queue)
        self._hot(_pack_schedule(_SCHEDULE, self.clock.peek(), handle._loopscope_hid, _READY, _NAN,
                                 handle._loopscope_tid, handle._loopscope_label, source, owner))
        self.emitter.flush_if_full()  # e.g. a callback that calls call_soon in a loop
        return queue

    def tidy_after_callback(self):
        self.untidy = False
        if self.output is not None:
            self.output.flush_partial()
        if self.resolved:
            for key in self.resolved:
                self.futures.pop(key, None)
            self.resolved.clear()

    def ended(self, handle, duration):
        """A callback ended that is not a task step ending at an `await` in good time."""
        task = handle._loopscope_task
        if task is not None:
            self._task_finished(task, handle._loopscope_tid)
        if duration >= self.threshold:
            self._blocked(handle, duration)
        self._hot(_pack_end(_END, self.clock.peek(), handle._loopscope_hid, handle._loopscope_tid, duration))
        self.emitter.flush_if_full()

    def _task_finished(self, task, tid):
        """The step of `task` ended: it is done, or suspended."""
        if task.done():
            self._task_done(task, tid)
        else:
            self._hot(_pack_suspend(_SUSPEND, self.clock.peek(), tid, *self.describe.wait(task, tid)))

    def _task_done(self, task, tid):
        if getattr(task, "_loopscope_frame", None) is not None:
            task._loopscope_frame = task._loopscope_coro = None  # its frame (see Describer) may go now
        self._names.pop(tid, None)
        state, detail, line = outcome(task, self.filename)
        self.emitter.line(_TASK_DONE, tid, enum_index("state", state), self._string(detail), line or 0)

    def _blocked(self, handle, duration):
        sleep = getattr(handle, "_loopscope_sleeps", None)
        samples = getattr(handle, "_loopscope_samples", None)
        if sleep is not None and sleep[0] >= duration / 2:
            cause, line = "sleep", sleep[2]
        else:
            cause, line = "cpu", None
            if samples:
                line = max(samples, key=samples.get)
            elif handle._loopscope_task is not None:
                line = self.describe.line_of(handle._loopscope_task)
        self.emitter.emit("loop.blocked", duration=duration, task=handle._loopscope_tid or None, line=line,
                          handle=handle._loopscope_hid, cause=cause)

    def future_resolved(self, future):
        """`future` is done and its done-callbacks are being scheduled: report it once."""
        record = self.future_record(future)
        if record.fid < 0:
            return
        state, detail, _ = outcome(future, self.filename)
        self.emitter.emit("future.done", future=record.fid, state=state, detail=detail, waiters=record.waiting)
        record.fid = -record.fid  # reported; the record goes when this callback ends
        self.resolved.append(id(future))
        self.untidy = True

    def on_loop_exception(self, context):
        exception = context.get("exception")
        task = context.get("task") or context.get("future")
        tid = self.task_id(task) if isinstance(task, asyncio.Task) else None
        self.emitter.emit(
            "loop.exception", message=str(context.get("message")), task=tid,
            exception=None if exception is None else f"{type(exception).__name__}: {exception}",
        )

    def fail(self, where, exc):
        """A hook failed: say so once, then stop tracing (the program keeps running)."""
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
