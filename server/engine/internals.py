"""Every use of asyncio's (and concurrent.futures') private attributes, in one place.

Checked on CPython 3.11.7, 3.12.1 and 3.13.0 (`tests/test_tracer.py` traces programs
under every 3.11+ interpreter it finds and compares their output with plain runs):
- `loop._ready` is the ready deque; `_run_once`, `_call_soon`, `_add_callback`
  and 3.13's `call_soon_threadsafe` all enter it through `.append`;
- `loop._scheduled` is the timer heap (`TimerHandle._when`); `loop._thread_id`
  is the thread running the loop;
- `Handle._callback` / `_args` are what runs, `Handle._run` is the one place
  every callback (I/O ones included) is executed; the loops make every handle
  through the module attributes `asyncio.events.Handle` / `TimerHandle` and,
  from 3.14 on (gh-128340; read from the CPython source, no 3.14 here to run),
  `call_soon_threadsafe` through `asyncio.events._ThreadSafeHandle`, a Handle
  subclass with a lock around `cancel` and `_run`;
- a task step or wake-up callback's `__self__` is its task (the C
  `TaskStepMethWrapper` and the `task_wakeup` builtin carry it too);
  `STEP_WRAPPER` is the C task's step callback type;
- `Task._fut_waiter` is the future a suspended task waits on;
- `loop._task_factory`; `loop._clock_resolution`, the window within which
  `_run_once` treats timers as due; `_run_once` and `_process_events` (which queues
  I/O callbacks), wrapped by `HookedLoop`; `create_task`'s `_check_closed` and
  `Task._source_traceback`; `_UnixSelectorEventLoop` and the default policy's
  `_loop_factory`;
- `concurrent.futures.thread._WorkItem` is one job of a thread pool, made by
  `__init__(future, fn, args, kwargs)` in the thread that submits it and run by its
  `run()` in a worker thread; `_worker` is the pool threads' target (`Thread._target`);
- `asyncio.Semaphore._value` is its count of free slots (a `release()` while tasks
  wait hands the slot to the first at once, in 3.11.5+, 3.12 and 3.13: `_wake_up_next`).

Not asyncio's, but private too (checked on the same versions): the interpreter warns that a
coroutine was never awaited by calling `warnings._warn_unawaited_coroutine(coro)`, and shows
every warning, from C or Python, through `warnings._showwarnmsg(message)` (both looked up on
the `warnings` module each time; 3.11-3.13's `Python/_warnings.c` and `Objects/genobject.c`).
"""

import asyncio
import concurrent.futures.thread as _pool
import operator
import types
import warnings
from asyncio import events as _events
from asyncio import unix_events

Handle = _events.Handle
TimerHandle = _events.TimerHandle
ThreadSafeHandle = getattr(_events, "_ThreadSafeHandle", None)  # None before 3.14
plain_run = Handle._run  # asyncio's own Handle._run, which the traced one wraps
threadsafe_plain_run = ThreadSafeHandle._run if ThreadSafeHandle is not None else None  # (takes its lock)
UnixSelectorLoop = unix_events._UnixSelectorEventLoop  # what asyncio's Unix loops are


def set_run(handle_class, run):
    """Make `run(handle)` what runs every callback of `handle_class`."""
    handle_class._run = run


class HookedLoop(UnixSelectorLoop):
    """The Unix selector loop with the two private steps of `_run_once` that Loopscope wraps
    turned into plain methods for a subclass: `iteration_begins()` before each iteration,
    `io_begins()` / `io_ends()` around the queueing of a poll's I/O callbacks."""

    def iteration_begins(self):
        pass

    def io_begins(self):
        pass

    def io_ends(self):
        pass

    def _run_once(self):
        self.iteration_begins()
        super()._run_once()

    def _process_events(self, event_list):
        self.io_begins()
        try:
            super()._process_events(event_list)
        finally:
            self.io_ends()


def make_task(loop, task_class, coro, name, context):
    """What `BaseEventLoop.create_task` does without a task factory, with `task_class`."""
    loop._check_closed()
    task = task_class(coro, loop=loop, name=name, context=context)
    if task._source_traceback:
        del task._source_traceback[-1]
    return task


def make_every_loop(loop_class):
    """The default policy, `asyncio.SelectorEventLoop` and (3.13+) `asyncio.EventLoop` make `loop_class`."""
    unix_events._UnixDefaultEventLoopPolicy._loop_factory = loop_class
    unix_events.SelectorEventLoop = loop_class
    asyncio.SelectorEventLoop = loop_class
    if hasattr(asyncio, "EventLoop"):
        asyncio.EventLoop = loop_class


def replace_handle_classes(handle_class, timer_class, threadsafe_class=None):
    """Make the loops create `handle_class` / `timer_class` / `threadsafe_class` (subclasses of
    the three above) from now on."""
    _events.Handle = handle_class
    _events.TimerHandle = timer_class
    if threadsafe_class is not None:
        _events._ThreadSafeHandle = threadsafe_class


# C-level getters: these run for every callback, where a Python function call shows.
callback_of = operator.attrgetter("_callback")
args_of = operator.attrgetter("_args")
when_of = operator.attrgetter("_when")
loop_thread = operator.attrgetter("_thread_id")


class _ProbeLoop:
    """Just enough of an event loop for a Task to schedule its first step on."""

    def __init__(self):
        self.scheduled = []

    def get_debug(self):
        return False

    def call_soon(self, callback, *args, context=None):
        self.scheduled.append(callback)

    def call_exception_handler(self, context):
        pass  # "Task was destroyed but it is pending": the probe task is dropped on purpose


def _step_wrapper_type():
    """The type of the C task's step callback (None with the pure-Python Task).

    Found with a stand-in loop: a real one would cost every run a selector and a socket pair.
    """

    async def probe():
        pass

    loop, coro = _ProbeLoop(), probe()
    asyncio.Task(coro, loop=loop, name="loopscope-probe")  # named: leaves "Task-N" numbering alone
    coro.close()
    kind = type(loop.scheduled[0])
    return kind if kind.__name__ == "TaskStepMethWrapper" else None


STEP_WRAPPER = _step_wrapper_type()
_BUILTIN_METHOD, _BOUND_METHOD = types.BuiltinMethodType, types.MethodType


def replace_ready_queue(loop, queue_class):
    queue = queue_class(loop._ready)
    loop._ready = queue
    return queue


def next_timer(loop):
    """Due time of the earliest timer, or None (`_run_once` drops cancelled heads before it polls)."""
    return loop._scheduled[0]._when if loop._scheduled else None


def set_due_window(loop, seconds):
    loop._clock_resolution = seconds


def has_task_factory(loop):
    return loop._task_factory is not None


# The names of the callbacks by which a task runs, other than the C task's step (a `STEP_WRAPPER`):
# the C task's wake-up (a built-in method of the task), the pure-Python task's `__step` and
# `__wakeup` (bound methods; the names as written, unmangled). Checked by running 3.11.7, 3.12.1
# and 3.13.0. Any other bound method of a task (`task.cancel`, handed to `call_later`) is a
# plain callback, whose task is none.
_TASK_CALLBACKS = {"task_wakeup": "wake-up", "__wakeup": "wake-up", "__step": "step"}


def task_of_callback(callback):
    """(task, "step" | "wake-up") when `callback` drives a task, else (None, None). (The program's
    callback may be any object: it is read only through asyncio's own types.)"""
    kind = type(callback)
    if kind is STEP_WRAPPER:
        return callback.__self__, "step"
    if kind is not _BUILTIN_METHOD and kind is not _BOUND_METHOD:
        return None, None
    owner = callback.__self__
    if not issubclass(type(owner), asyncio.Task):
        return None, None
    try:  # (a bound method reads `__name__` from its function, which may be any callable)
        name = callback.__name__
    except BaseException:  # noqa: BLE001 - the program's attribute hooks: not asyncio's callback
        return None, None
    role = _TASK_CALLBACKS.get(name) if type(name) is str else None
    return (owner, role) if role is not None else (None, None)


waiter_of = operator.attrgetter("_fut_waiter")  # C Task and Python Task alike


def patch_work_items(started, finished, submitted, began, ended):
    """Count thread-pool jobs in flight (`started`, `finished`: they decide whether virtual time
    may jump), and report them: `submitted(item, fn, future)` where a job is handed over,
    `began(item)` and `ended(item)` in the worker thread, around the job."""
    original_init = _pool._WorkItem.__init__
    original_run = _pool._WorkItem.run

    def __init__(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        started()
        if len(args) >= 2:  # (future, fn, args, kwargs), as the pool makes them
            submitted(self, args[1], args[0])

    def run(self):
        began(self)
        try:
            original_run(self)
        finally:
            ended(self)
            finished()

    _pool._WorkItem.__init__ = __init__
    _pool._WorkItem.run = run


def is_idle_pool_thread(thread):
    """A thread-pool worker (it counts as busy only while a job runs)."""
    return getattr(thread, "_target", None) is _pool._worker


def settled(future):
    """(state, result, exception, cancel message) read without marking the exception retrieved."""
    return future._state, future._result, future._exception, future._cancel_message


def unawaited_warning():
    return warnings._warn_unawaited_coroutine


def replace_unawaited_warning(function):
    """`function(coro)` warns from now on that `coro` was never awaited."""
    warnings._warn_unawaited_coroutine = function


def warning_display():
    return warnings._showwarnmsg


def replace_warning_display(function):
    """`function(message)` (a `warnings.WarningMessage`) shows every warning from now on."""
    warnings._showwarnmsg = function


def semaphore_free(semaphore):
    """The free slots of an `asyncio.Semaphore`, as asyncio counts them."""
    return semaphore._value
