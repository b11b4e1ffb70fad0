"""The tracer's hooks, listed once, and the one guard they are all called through.

As in trio's Instrument, a hook is where the instrumented loop, its tasks and handles, the
program's output and its `time.sleep` tell the tracer what they just did (or are about to
do). A hook only observes. One that raises reports a single `error` event
(`Tracer.fail`: "Loopscope's tracer failed in <hook> ..."), and tracing switches off: no
hook runs after that, and each caller carries on with what asyncio (or Python) does
without Loopscope, so the program goes on as a plain run would.

`HOOKS` is the table. Program-facing code calls a hook through `tracer.hooks` (a
`Hooks`: one guarded callable per entry, and nothing else), so a hook left out of the
table cannot be called, and none is called unguarded (`tests/test_hook_guard.py` breaks
each in turn, and checks that the engine calls the tracer in no other way). The entries
in `IN_PLACE` run their guard themselves, with the same `fail`: the ready queue's
`append` and `Handle._run` (`hooks.py`) run for nearly every callback, where a wrapper
would add a Python call to each one, while a `try` around the hook's body costs nothing
(CPython 3.11+) until it raises; the sampler's thread (`sampler.py`) wraps its look in
`guard` itself (it is a function of its own, not a `Tracer` method).

Not hooks, and they keep working once tracing is off (the program relies on them): the
clock (`clock.py`: the loop's time, its jumps in `idle.py`, a callback's CPU time charged
in `hooks.py`), the count of thread-pool jobs (`idle.py`), and the program's output,
which still reaches the page as `stdout` events (`output.py`). Writing those events can
fail only when the event pipe does, and then the program's `print` fails as a plain one
does when its stdout is a closed pipe.
"""

# Named as trio names its instruments: what just happened (`task_renamed`), or what is about
# to (`before_idle`). name: who calls it, and when.
HOOKS = {
    # the loop's cycle (asyncio's `_run_once`)
    "iteration_began": "TracingEventLoop._run_once: a loop iteration begins",
    "before_idle": "TracingSelector.select (idle.py): the loop is about to wait, until a timer (or for I/O)",
    "before_io_callbacks": "TracingEventLoop._process_events: the loop starts queueing the I/O callbacks of a poll",
    "after_io_callbacks": "TracingEventLoop._process_events: ... and is done with them",
    "loop_started": "TracingEventLoop.run_forever: a loop starts running on this thread",
    "loop_stopped": "TracingEventLoop.run_forever: ... and stops",
    "loop_exception": "TracingEventLoop.call_exception_handler: before the loop's exception handler runs",
    # handles: queued, timed, run, cancelled
    "handle_queued": "ReadyQueue.append (hooks.py): a handle enters a ready queue (call_soon, a timer that is "
                     "due, I/O, call_soon_threadsafe); a future's done-callbacks being queued are its "
                     "resolution. Its slow paths: Tracer.timer_came_due, Tracer.callback_queued",
    "timer_scheduled": "TracingEventLoop.call_at (call_later, asyncio.sleep): a timer went into the heap",
    "before_callback": "Handle._run (hooks.py): a callback is about to run",
    "after_callback": "Handle._run (hooks.py): a callback ended; its task suspended or finished. Its slow "
                      "paths: Tracer.callback_ended, Tracer.tidy_after_callback",
    "handle_cancelled": "Handle.cancel, TimerHandle.cancel: a handle is cancelled, before asyncio's cancel",
    # tasks and futures
    "task_renamed": "Task.set_name: after the task took its new name",
    "task_cancel_requested": "Task.cancel: something asks a task to cancel, before asyncio's cancel",
    "executor_future": "TracingEventLoop.run_in_executor (asyncio.to_thread): a future a worker thread resolves",
    # worker threads (internals.patch_work_items): a thread pool's jobs
    "job_submitted": "concurrent.futures' _WorkItem.__init__: a job is handed to a thread pool (run_in_executor, "
                     "asyncio.to_thread, executor.submit), in the thread that submits it",
    "job_began": "_WorkItem.run: a worker thread starts the job",
    "job_ended": "_WorkItem.run: ... and is done with it",
    # the program's asyncio objects (objects.py)
    "shielded": "asyncio.shield: an outer future now shields a task (or future)",
    "semaphore_made": "asyncio.Semaphore.__init__ (BoundedSemaphore's too): a semaphore with its slots",
    "semaphore_changed": "asyncio.Semaphore.acquire / release: a task waits for a slot, gets one, gives up "
                         "waiting, or a slot comes back",
    "queue_made": "asyncio.Queue.__init__ (PriorityQueue's and LifoQueue's too): a queue with its size limit",
    "queue_changed": "asyncio.Queue.put_nowait / get_nowait (put() and get() call them), put / get: an item "
                     "goes in or out, a task waits on a full or empty queue, or gives up waiting",
    # the program
    "before_sleep": "time.sleep (idle.py): the program sleeps, maybe inside a callback, before the sleep",
    "before_output": "sys.stdout / sys.stderr write (output.py): the program prints; returns which task prints",
    "sample_long_callback": "the sampler's thread (sampler.py): a look at the stack of a callback that runs long",
    "callback_stalled": "the sampler's thread (sampler.py): a callback has held the loop for a while and still "
                        "runs (reported again every quarter second)",
    "coroutine_unawaited": "warnings._warn_unawaited_coroutine (warn.py): Python is about to warn that a "
                           "coroutine was never awaited, at the program's line it found",
    "timing_differs": "signal.setitimer, the sampler's thread (alarms.py): the program did something with "
                      "time that a traced run cannot time as a plain one does (said once per kind of thing)",
}

IN_PLACE = ("handle_queued", "before_callback", "after_callback", "sample_long_callback")


def guard(tracer, name, hook):
    """`hook`, called only while `tracer` traces; if it raises, `tracer.fail(name, ...)`. The
    guarded call returns what `hook` returned, or None (tracing off, or the hook failed).

    `Exception`, not `BaseException`: a KeyboardInterrupt or SystemExit that arrives while a
    hook runs (a signal's, say) is the program's own, and must go on to the program.
    """

    def guarded(*args):
        if tracer.enabled:
            try:
                return hook(*args)
            except Exception as exc:  # noqa: BLE001 - a hook never breaks the program
                tracer.fail(name, exc)
        return None

    guarded.__name__ = guarded.__qualname__ = name
    return guarded


class Hooks:
    """The guarded hooks of one tracer: for each entry of `HOOKS` not in `IN_PLACE`, an
    attribute of that name that calls the `Tracer` method of that name through `guard`."""

    def __init__(self, tracer):
        for name in HOOKS:
            if name not in IN_PLACE:
                setattr(self, name, guard(tracer, name, getattr(tracer, name)))
