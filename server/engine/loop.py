"""The instrumented event loop: CPython's own selector loop, with hooks that report to the tracer.

Every loop the program makes is this one: `asyncio.run()`, `new_event_loop()`,
the default policy and code that builds `SelectorEventLoop()` by hand all get
it. Only observation is added: the loop runs the same callbacks, in the same
order, as the plain one. Each hook is called through `_HOOKS` (see `instrument.py`),
before or after what asyncio's own method does, which happens whatever the hook did.
"""

import asyncio
import collections
import selectors
import time

from . import frames, hooks, internals, objects
from .record import SLOTS

# Loopscope's frames a callback runs below, besides asyncio's own: this run_forever, the hooked
# `_run_once` (internals.HookedLoop) and the handle's traced `_run` (hooks.handle_run).
LOOP_FRAMES = 3
_TRACER = None  # set by install(); loops made later report to it
_HOOKS = None  # ... through its guarded hooks (instrument.Hooks)
VIRTUAL_DUE_WINDOW = 0.001


class ReadyQueue(collections.deque):
    """The ready deque: every way into it (call_soon, threadsafe, due timers, I/O) is `append`,
    which `install` makes the tracer's (`hooks.ready_append`)."""

    # Slots: the tracer reads them for every callback (and Python 3.11 reads a slot fastest).
    __slots__ = ("loop", "calm", "running")

    def __init__(self, items, loop):
        super().__init__(items)
        self.loop = loop
        # The thread whose appends are plain `call_soon`s: the loop's own, while it is not
        # handling I/O (`Tracer.source` sets it, the loop clears it). Saves the tracer
        # working that out for every callback.
        self.calm = None
        self.running = None  # the handle of the loop's callback that runs now (see hooks.handle_run)


def _traced_cancel(plain_cancel):
    """A handle class's `cancel`: reports the cancel, then does all that `plain_cancel` does
    (a timer's also tells its loop, which purges cancelled timers from its heap)."""

    def cancel(handle):
        _HOOKS.handle_cancelled(handle)
        plain_cancel(handle)

    return cancel


class Handle(internals.Handle):
    """asyncio's Handle, carrying what the tracer keeps about it (named alike: reprs read as usual).

    Slots, like asyncio's own fields (see `record.SLOTS`): no per-handle dict or record
    object, and it all sits in the handle itself, which the loop touches anyway.
    """

    __slots__ = SLOTS
    cancel = _traced_cancel(internals.Handle.cancel)  # (install() puts the tracer's run in)


class TimerHandle(internals.TimerHandle):
    __slots__ = SLOTS
    cancel = _traced_cancel(internals.TimerHandle.cancel)


if internals.ThreadSafeHandle is not None:  # call_soon_threadsafe's own class (3.14+)

    class ThreadSafeHandle(internals.ThreadSafeHandle):
        __slots__ = SLOTS
        cancel = _traced_cancel(internals.ThreadSafeHandle.cancel)

else:
    ThreadSafeHandle = None


class TracingSelector(selectors.DefaultSelector):
    """Reports the loop waiting; under the virtual clock, skips waits nobody would notice."""

    loop = None

    def select(self, timeout=None):
        if (timeout is not None and timeout <= 0) or self.loop is None:
            return super().select(timeout)
        # Also when tracing has stopped: the virtual clock still needs its jumps.
        return _TRACER.idle.wait_for_io(self.loop, super().select, timeout)


class Task(asyncio.Task):
    """asyncio's C Task, plus reports of renames and cancel requests.

    Named `Task` so that the program's `repr(task)` reads as in a plain run.
    """

    # Slots (unset until the tracer sets them), so they sit in the task object itself, which
    # the loop touches anyway. The task keeps its `__dict__` for the program.
    __slots__ = (
        "_loopscope_tid",  # its id in the trace, once announced
        "_loopscope_step_label",  # string id of its step's label (None: made anew at the next step)
        # while it runs (`describe._keep_frame`): its coroutine, that coroutine's frame and code
        "_loopscope_coro", "_loopscope_coro_frame", "_loopscope_coro_code",
        # where it waited last (`describe._remember`): its frame's instruction then, the type
        # and `__qualname__` of what it awaited, and the site found for that
        "_loopscope_wait_lasti", "_loopscope_wait_type", "_loopscope_wait_name", "_loopscope_wait_site",
    )

    def set_name(self, value):
        super().set_name(value)
        _HOOKS.task_renamed(self)

    def get_stack(self, *, limit=None):
        """asyncio's, without Loopscope's frames (`print_stack()` asks it too)."""
        coro = self.get_coro()
        running = any(getattr(coro, name, None) is not None for name in ("cr_frame", "gi_frame", "ag_frame"))
        return frames.visible_stack(super().get_stack(), limit, innermost=running)

    def cancel(self, msg=None):
        _HOOKS.task_cancel_requested(self, msg)
        return super().cancel(msg)


class TracingEventLoop(internals.HookedLoop):
    def __init__(self, selector=None):
        if selector is None:
            selector = TracingSelector()
            selector.loop = self
        super().__init__(selector)
        self._loopscope_tracer = _TRACER
        self._loopscope_queue = internals.replace_ready_queue(self, lambda items: ReadyQueue(items, self))
        self._loopscope_delay = None  # the delay of the call_later running now (asyncio.sleep's, shown as is)
        if _TRACER.clock.name == "virtual":
            # A real loop polls epoll in whole milliseconds and wakes a little late, so
            # timers due within about a millisecond of each other fire in the same
            # iteration. Jumping exactly to a timer would split them; this keeps them together.
            internals.set_due_window(self, VIRTUAL_DUE_WINDOW)

    def time(self):
        return self._loopscope_tracer.clock.read()  # (the program may wait on it too: see VirtualClock.read)

    def call_later(self, delay, callback, *args, context=None):
        self._loopscope_delay = delay
        try:
            return super().call_later(delay, callback, *args, context=context)
        finally:
            self._loopscope_delay = None

    def call_at(self, when, callback, *args, context=None):
        timer = super().call_at(when, callback, *args, context=context)
        _HOOKS.timer_scheduled(timer, self._loopscope_delay, self._loopscope_queue)
        return timer

    def create_task(self, coro, *, name=None, context=None):
        if internals.has_task_factory(self):
            return super().create_task(coro, name=name, context=context)
        return internals.make_task(self, Task, coro, name, context)

    def set_task_factory(self, factory):
        name = getattr(factory, "__qualname__", "") or getattr(getattr(factory, "func", None), "__qualname__", "")
        if "eager_task_factory" in name:
            # Eager tasks run their first step inside create_task, outside any callback.
            raise RuntimeError("Loopscope does not trace eager tasks (asyncio.eager_task_factory) yet")
        super().set_task_factory(factory)

    def run_in_executor(self, executor, func, *args):
        future = super().run_in_executor(executor, func, *args)
        _HOOKS.executor_future(future)
        return future

    def run_forever(self):
        outer = _HOOKS.loop_started(self._loopscope_queue)
        frames.add_depth(LOOP_FRAMES)
        try:
            super().run_forever()
        finally:
            frames.add_depth(-LOOP_FRAMES)
            _HOOKS.loop_stopped(outer)

    def io_begins(self):
        _HOOKS.before_io_callbacks(self._loopscope_queue)

    def io_ends(self):
        _HOOKS.after_io_callbacks()

    def iteration_begins(self):
        _HOOKS.iteration_began()

    def call_exception_handler(self, context):
        _HOOKS.loop_exception(context)
        super().call_exception_handler(context)


# The program may print these classes or their instances: they read as asyncio's own.
for _class, _asyncios in ((Handle, internals.Handle), (TimerHandle, internals.TimerHandle),
                          (ThreadSafeHandle, internals.ThreadSafeHandle), (Task, asyncio.Task),
                          (TracingEventLoop, internals.UnixSelectorLoop)):
    if _class is not None:
        _class.__module__, _class.__name__, _class.__qualname__ = (
            _asyncios.__module__, _asyncios.__name__, _asyncios.__qualname__)


def install(tracer):
    """Make every event loop of this process a traced one, reporting to `tracer`."""
    global _TRACER, _HOOKS
    _TRACER, _HOOKS = tracer, tracer.hooks
    ReadyQueue.append = hooks.ready_append(tracer, TimerHandle)
    traced_run = hooks.handle_run(tracer, internals.plain_run)
    internals.set_run(Handle, traced_run)
    internals.set_run(TimerHandle, traced_run)
    if ThreadSafeHandle is not None:
        internals.set_run(ThreadSafeHandle, hooks.handle_run(tracer, internals.threadsafe_plain_run))
    internals.replace_handle_classes(Handle, TimerHandle, ThreadSafeHandle)
    internals.patch_work_items(tracer.idle.job_started, tracer.idle.job_finished, tracer.hooks.job_submitted,
                               tracer.hooks.job_began, tracer.hooks.job_ended)
    objects.install(tracer)
    internals.make_every_loop(TracingEventLoop)
    if tracer.clock.name == "virtual":
        _virtualise_time(tracer)
    time.sleep = tracer.idle.sleep


def _virtualise_time(tracer):
    """The program's clocks follow loop time, so measured durations match the trace."""
    clock = tracer.clock
    wall_origin = time.time()
    time.monotonic = clock.read
    time.perf_counter = clock.read
    time.time = lambda: wall_origin + clock.read()
    time.monotonic_ns = lambda: int(clock.read() * 1e9)
    time.perf_counter_ns = lambda: int(clock.read() * 1e9)
    time.time_ns = lambda: int((wall_origin + clock.read()) * 1e9)
