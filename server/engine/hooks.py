"""The two hooks that run for nearly every callback: the ready queue's `append` and `Handle._run`.

`loop.install` puts them in place; they report to the `Tracer` (`tracer.py`), which
does all the rest. They are closures, so a hook costs no method call of its own. What
they still do in place, rather than through a `Tracer` method, was measured at the
run's 50,000-event cap (`bench/engine.py`, instructions per callback): a task step
entering the queue recorded here (without it a traced callback costs 37,100 CPU
instructions, not 27,400) and a step's suspension packed with its end. Tunings worth
less than their obscurity were turned back (README, Benchmarks). For the same reason they are the hooks of `instrument.HOOKS` (`handle_queued`,
`before_callback`, `after_callback`) that are guarded in place rather than through
`instrument.guard`: a `try` around the whole body is free until it raises, a wrapper
would be one more Python call per callback; the `except` is the guard's, `Tracer.fail`.
"""

import asyncio
import collections
import threading
import time

from ..events.wire import CODES, WIRE_CODES, enum_index, packer
from . import internals
from .charge import FREE_BELOW, MARK_EVERY, NOTED_FROM

_real_time = time.monotonic  # (the real one: the program's may be virtual)
_thread_id = threading.get_ident
_callback_of = internals.callback_of
_STEP_WRAPPER = internals.STEP_WRAPPER
_waiter_of = internals.waiter_of
_deque_append = collections.deque.append
_BEGIN = CODES["handle.begin"]
_SUSPENDED = WIRE_CODES["task.suspend+handle.end"]
_SUSPENDED_IDLE, _STEP_SCHEDULE = WIRE_CODES["task.suspend+handle.end:no-waiter"], WIRE_CODES["handle.schedule:step"]
_pack_begin = packer("handle.begin").pack
_pack_suspended = packer("task.suspend+handle.end").pack
_pack_suspended_idle = packer("task.suspend+handle.end:no-waiter").pack
_pack_step_schedule = packer("handle.schedule:step").pack
_CALL_SOON = enum_index("source", "call_soon")


def ready_append(tracer, timer_class):
    """The traced ready queue's `append` (see `loop.ReadyQueue`): reports the handle entering it
    to `tracer`. `timer_class` is the loop's timer handle class: the one kind that is due, not new.
    """
    hot, hids, clock = tracer.hot, tracer.hids, tracer.clock

    def append(queue, handle):
        _deque_append(queue, handle)
        if not tracer.enabled:
            return
        try:
            if type(handle) is timer_class:
                # (no `_loopscope_queue`: made while tracing was off)
                if getattr(handle, "_loopscope_queue", None) is not None and handle._loopscope_in_heap:
                    tracer.timer_came_due(handle)  # a timer became due
                    return
            ident = _thread_id()
            source = _CALL_SOON if ident == queue.calm else tracer.source(queue, ident)
            callback = _callback_of(handle)
            if type(callback) is _STEP_WRAPPER:  # a task's step: nearly every callback, so kept short
                task = callback.__self__
                try:
                    tid, label = task._loopscope_tid, task._loopscope_step_label
                except AttributeError:  # its first step
                    tid, label = tracer.task_id(task), None
                if label is None:  # (also: its first step since it was renamed)
                    label = tracer.step_label(task)
                hid = next(hids)
                # what `Tracer._record` fills in, as much as a step needs (see `record`)
                handle._loopscope_hid, handle._loopscope_task, handle._loopscope_tid = hid, task, tid
                handle._loopscope_label = label
                handle._loopscope_queue = queue
                hot(_pack_step_schedule(_STEP_SCHEDULE, clock.peek(), hid, tid, label, source))
            else:
                tracer.callback_queued(handle, source, queue)
        except Exception as exc:  # noqa: BLE001 - the guard (see instrument.guard): tracing stops, not the program
            tracer.fail("handle_queued", exc)

    return append


def handle_run(tracer, plain_run):
    """The traced handles' `Handle._run` (see `loop.Handle`): runs one callback with
    `plain_run` (asyncio's `_run` of the class), reporting its begin, its end and what its
    task did.

    One closure, with few calls of its own on the usual path: it runs for every callback,
    and each Python call here cost a noticeable share of the callback it traces.
    """
    hot, clock, describe = tracer.hot, tracer.clock, tracer.describe
    emitter, where, threshold = tracer.emitter, tracer.describe.where, tracer.threshold
    charge_after = min(FREE_BELOW, threshold)  # (shorter callbacks are charged nothing: see charge.py)
    real_clock = clock.name == "real"  # (then a callback's begin is its real time already)
    charger = clock.charger

    def run_untraced(handle):
        """`plain_run`, with what the virtual clock needs of each callback (as `_run` does it
        below, whatever its hooks do): time goes on as before once tracing has stopped."""
        clock.reads = 0
        if _real_time() - charger.marked > MARK_EVERY:
            charger.mark()
        started = _real_time()
        try:
            plain_run(handle)
        finally:
            if clock.frozen:
                ended = _real_time()
                if ended - started >= charge_after:
                    charger.settle(started, ended, ended - started)
            elif clock.spun:
                clock.freeze()

    untraced = plain_run if real_clock else run_untraced  # (the real clock needs nothing)

    def _run(handle):
        if not tracer.enabled:
            return untraced(handle)
        try:
            try:
                queue = handle._loopscope_queue  # (what the tracer keeps on a handle: see `record`)
            except AttributeError:  # a slot never set
                queue = None
            if queue is None:  # never reported (e.g. queued before tracing began): now, just before it runs
                queue = tracer.callback_queued(handle, _CALL_SOON, None)
            handle._loopscope_queue = None  # an I/O handle is queued again and again: each time anew
            hid, tid = handle._loopscope_hid, handle._loopscope_tid
            begin = clock.peek()
            hot(_pack_begin(_BEGIN, begin, hid, tid))
            spent = emitter.spent
            clock.reads = 0
            if real_clock:
                started = begin
            else:
                started = _real_time()
                if started - charger.marked > MARK_EVERY:  # (the run delay, read now and then: see charge.py)
                    charger.mark()
            handle._loopscope_started = started
            outer = queue.running  # a callback this one runs inside of (a loop run by hand)
            queue.running = handle  # (where the sampler looks, once its start time is set)
        except Exception as exc:  # noqa: BLE001 - the guard (see instrument.guard)
            tracer.fail("before_callback", exc)
            return untraced(handle)
        try:
            plain_run(handle)
        finally:
            # The clock's part: not a hook's (see instrument.py), so also when a hook failed meanwhile.
            if clock.frozen:  # virtual time: code that computes is charged what it ran (charge.py)
                # (the emitter's own time, encoding and writing, is not the callback's)
                ended = _real_time()
                real = ended - started - (emitter.spent - spent)
                if real >= charge_after:
                    # (the sampler may look while settle reads the run delay: the callback is over)
                    queue.running = outer
                    charger.settle(started, ended, real)
                elif real >= NOTED_FROM and charger.left_uncharged(real) and tracer.enabled:
                    tracer.hooks.timing_differs(charger.uncharged_note())
            elif clock.spun:  # it waited on the clock, which followed real time meanwhile
                clock.freeze()
            if tracer.enabled:
                try:
                    end = clock.peek()
                    duration = end - begin
                    queue.running = outer
                    if tracer.untidy:
                        tracer.tidy_after_callback()
                    task = handle._loopscope_task
                    if task is not None and duration < threshold and not task.done():
                        # the usual end of a step, its task suspended at an await: one packed record for both events
                        site = where(task)
                        waiter = _waiter_of(task)
                        if waiter is None:  # e.g. asyncio.sleep(0): nothing to name but the site
                            hot(_pack_suspended_idle(_SUSPENDED_IDLE, end, hid, tid, duration, site[0] or 0,
                                                     site[3], site[5]))
                        else:
                            hot(_pack_suspended(_SUSPENDED, end, hid, tid, duration,
                                                *describe.waiting(task, tid, site, waiter)))
                    else:
                        tracer.callback_ended(handle, duration)
                except Exception as exc:  # noqa: BLE001 - the guard (see instrument.guard)
                    tracer.fail("after_callback", exc)

    return _run
