"""The tracer: hooks the event loop calls, each turning one thing it does into an event.

Like trio's Instrument: the loop (see `loop.py`) calls `on_ready`, `on_timer`,
`on_cancel`, `before_handle` / `after_handle`, `idle.wait_for_io`, ... and the
tracer only *observes*: it never schedules a callback or creates a task, so a
traced program runs its callbacks in exactly the order a plain one does.
A hook that fails reports once and switches tracing off; the program goes on.
"""

import asyncio
import itertools
import sys
import threading
import time
import weakref

from ..events import CODES
from . import internals
from .describe import Describer, label_of, outcome
from .idle import Idle

_real_perf = time.perf_counter
_thread_id = threading.get_ident

_SCHEDULE, _CANCEL, _ITERATION = CODES["handle.schedule"], CODES["handle.cancel"], CODES["loop.iteration"]
_BEGIN, _END, _SUSPEND = CODES["handle.begin"], CODES["handle.end"], CODES["task.suspend"]

# Coroutines asyncio.run() starts for its own shutdown: shown, but marked internal.
INTERNAL_COROS = {"BaseEventLoop.shutdown_asyncgens", "BaseEventLoop.shutdown_default_executor"}


class Scheduled:
    """One stay of a handle in the ready queue or timer heap, and its run."""

    __slots__ = ("hid", "handle", "task", "tid", "label", "when", "v0", "r0", "hook0", "outer", "sleep",
                 "samples")

    def __init__(self, hid, handle, task, tid, label, when):
        self.hid, self.handle, self.task, self.tid, self.label, self.when = hid, handle, task, tid, label, when
        self.sleep = None  # (total seconds, longest, its line) of time.sleep calls during the run
        self.samples = None  # {line: count} from the sampler, for long runs


class FutureRecord:
    __slots__ = ("fid", "future", "waiting", "timer", "thread")

    def __init__(self, fid, future):
        self.fid, self.future = fid, future
        self.waiting = []  # ids of the tasks awaiting it
        self.timer = None  # the Scheduled timer that will resolve it (asyncio.sleep)
        self.thread = False  # resolved by a worker thread (run_in_executor)


class Tracer:
    def __init__(self, emitter, clock, filename, threshold=0.05):
        self.emitter = emitter
        self._append, self._now = emitter.hot
        self.clock = clock
        self.filename = filename
        self.threshold = threshold
        self.enabled = True
        self.output = None  # set by the child: flushes a task's partial print line
        self.output_pending = False  # a partial print line waits in self.output
        self.sampler_thread = None
        self.running = {}  # thread ident -> Scheduled now running there (read by the sampler)
        # Seconds spent in queue hooks: subtracted from a callback's measured time, so the
        # tracer's own cost never makes a callback look blocking.
        self.hook_time = 0.0
        self.describe = Describer(self)
        self.idle = Idle(self)
        self._queued = {}  # id(handle) -> Scheduled while it waits in a queue
        self._hids = itertools.count(1)
        self._tids = itertools.count(1)
        self._fids = itertools.count(1)
        self._task_ids = weakref.WeakKeyDictionary()  # tasks that cannot carry an attribute
        # id(future) -> FutureRecord, for futures somebody waits on, until they are done.
        # (Plain dicts: weak ones cost more than all the rest of a suspension.)
        self.futures = {}
        self._resolved = []  # keys to forget once the callback that resolved them ends
        self._local = threading.local()
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
        self.emitter.emit(
            "task.new", task=tid, name=task.get_name(), coro=coro_name, parent=self.current_task_id(),
            line=self.user_line_here(), internal=coro_name in INTERNAL_COROS,
        )
        return tid

    def future_record(self, future):
        record = self.futures.get(id(future))
        if record is None or record.future is not future:
            record = self.futures[id(future)] = FutureRecord(next(self._fids), future)
        return record

    def current_entry(self):
        return getattr(self._local, "entry", None)

    def current_task_id(self):
        entry = getattr(self._local, "entry", None)
        return entry.tid if entry is not None else None

    def user_line_here(self):
        """Line of the innermost frame of the program's file on this thread's stack."""
        frame = sys._getframe(1)
        filename = self.filename
        while frame is not None:
            if frame.f_code.co_filename == filename:
                return frame.f_lineno
            frame = frame.f_back
        return None

    # -- queues ----------------------------------------------------------------------

    def _enter(self, handle, when):
        callback = internals.callback_of(handle)
        task, role = internals.task_of_callback(callback)
        args = internals.args_of(handle)
        if args and asyncio.isfuture(args[0]) and args[0].done() and not isinstance(args[0], asyncio.Task):
            self.future_resolved(args[0])  # its done-callbacks are being scheduled
        if task is not None:
            tid = self.task_id(task)
            label = f"{role} {task.get_name()}"
        else:
            tid, label = None, label_of(callback)
        entry = Scheduled(next(self._hids), handle, task, tid, label, when)
        self._queued[id(handle)] = entry
        return entry

    def _schedule(self, entry, queue, source):
        owner = None
        if entry.tid is None:
            args = internals.args_of(entry.handle)
            if args:
                record = self.futures.get(id(args[0]))
                if record is not None and record.future is args[0] and record.waiting:
                    owner = record.waiting[0]
        when = None if entry.when is None else self.clock.since_start(entry.when)
        self._append((_SCHEDULE, self._now(), entry.hid, queue, when, entry.tid, entry.label, source, owner))

    def on_ready(self, handle, loop):
        """A handle was appended to `loop`'s ready queue."""
        entry = self._queued.get(id(handle))
        if entry is not None and entry.handle is handle:  # a timer became due
            self._schedule(entry, "ready", "timer")
            return
        ident = threading.get_ident()
        owner_thread = internals.loop_thread(loop)
        if owner_thread is not None and ident != owner_thread:
            source = "threadsafe"
        else:
            source = "io" if ident == self._io_thread else "call_soon"
        self._schedule(self._enter(handle, None), "ready", source)

    def on_timer(self, timer):
        entry = self._enter(timer, internals.when_of(timer))
        args = internals.args_of(timer)
        if args and asyncio.isfuture(args[0]):
            self.future_record(args[0]).timer = entry
        self._schedule(entry, "timers", "call_at")

    def on_cancel(self, handle):
        entry = self._queued.get(id(handle))
        if entry is not None and entry.handle is handle and not handle.cancelled():
            del self._queued[id(handle)]
            self.emitter.line(_CANCEL, entry.hid, entry.tid)

    def io_begin(self):
        self._io_thread = threading.get_ident()

    def io_end(self):
        self._io_thread = None

    def on_iteration(self):
        self._iteration += 1
        self.emitter.line(_ITERATION, self._iteration)

    # -- running a callback -------------------------------------------------------------

    def before_handle(self, handle):
        entry = self._queued.pop(id(handle), None)
        if entry is None or entry.handle is not handle:  # queued before tracing began
            entry = self._enter(handle, None)
            del self._queued[id(handle)]
            self._schedule(entry, "ready", "call_soon")
        local = self._local
        entry.outer = getattr(local, "entry", None)
        local.entry = entry
        self._append((_BEGIN, self._now(), entry.hid, entry.tid))
        entry.v0 = self.clock.peek()
        entry.r0 = _real_perf()
        entry.hook0 = self.hook_time
        self.running[_thread_id()] = entry
        return entry

    def after_handle(self, entry):
        real = _real_perf() - entry.r0 - (self.hook_time - entry.hook0)
        clock = self.clock
        if clock.frozen and real > self.threshold:
            clock.advance(real)  # CPU-bound blocking: charge what it really took
        duration = clock.peek() - entry.v0
        self._local.entry = entry.outer
        if entry.outer is None:
            self.running.pop(_thread_id(), None)
        else:
            self.running[_thread_id()] = entry.outer
        if self.output_pending:
            self.output.flush_partial(self)
        if self._resolved:
            for key in self._resolved:
                self.futures.pop(key, None)
            self._resolved.clear()
        task = entry.task
        if task is not None:
            if task.done():
                self._task_done(task, entry.tid)
            else:
                self._suspend(task, entry.tid)
        if duration >= self.threshold:
            self._blocked(entry, duration)
        self._append((_END, self._now(), entry.hid, entry.tid, duration))
        self.emitter.flush_if_full()

    def _suspend(self, task, tid):
        line, awaiting, waiter = self.describe.wait(task, tid)
        self._append((_SUSPEND, self._now(), tid, line, awaiting, waiter))

    def _task_done(self, task, tid):
        state, detail, line = outcome(task, self.filename)
        self.emitter.emit("task.done", task=tid, state=state, detail=detail, line=line)

    def _blocked(self, entry, duration):
        if entry.sleep is not None and entry.sleep[0] >= duration / 2:
            cause, line = "sleep", entry.sleep[2]
        else:
            cause, line = "cpu", None
            if entry.samples:
                line = max(entry.samples, key=entry.samples.get)
            elif entry.task is not None:
                line = self.describe.line_of(entry.task)
        self.emitter.emit(
            "loop.blocked", duration=duration, task=entry.tid, line=line, handle=entry.hid, cause=cause
        )

    def future_resolved(self, future):
        """`future` is done and its done-callbacks are being scheduled: report it once."""
        key = id(future)
        record = self.futures.get(key)
        if record is None or record.future is not future:
            record = self.futures[key] = FutureRecord(next(self._fids), future)
        elif record.fid < 0:
            return
        state, detail, _ = outcome(future, self.filename)
        self.emitter.emit("future.done", future=record.fid, state=state, detail=detail, waiters=record.waiting)
        record.fid = -record.fid  # reported; the record goes when this callback ends
        self._resolved.append(key)

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
