"""Finds where a long callback spends its time, by sampling the loop thread's stack and CPU time.

A callback that computes (rather than calls `time.sleep`) gives no other sign
of where it is; looking at its stack every few milliseconds does. How busy its
thread is tells computing from waiting: a thread blocked in a lock, a
`queue.Queue`, a socket or `select` neither runs nor waits for a CPU (the stack
alone cannot tell: `sum(range(10**9))` and `sock.recv(1024)` are both a C call
from the program's line). Busy is the time on a CPU plus the time waiting for
one (Linux's per-thread schedstat): on a loaded machine a computing thread may
get a fifth of a CPU, and its CPU time alone would read as waiting. The sampler also pushes buffered events out: every interval
under the real clock, and whenever a callback holds the loop, so a run killed
for taking too long still shows the step it was stuck in; and while one
callback holds the loop, after `STALL_AFTER` seconds and every `STALL_EVERY` more it says so (`loop.stalled`),
so the page shows a stuck loop while it is stuck. Under the virtual clock it also sends
the program's alarm to a callback that computes past it (`alarms.Alarm.check_running`).
"""

import os
import sys
import time

from . import helper_thread
from .instrument import guard

_real_time = time.monotonic  # (the real one: the program's may be virtual)
_real_sleep = time.sleep
_cpu_clock, _cpu_time = time.pthread_getcpuclockid, time.clock_gettime  # (kept: the program may replace them)

INTERVAL = 0.01  # seconds between looks
AFTER = 0.02  # a callback is sampled once it has run this long
STALL_AFTER = 0.1  # real seconds a callback runs before its first `loop.stalled` report (twice the threshold;
# under the virtual clock seconds of CPU, or STALL_AFTER_WAITING real ones: see `_not_stalled_yet`)
STALL_AFTER_WAITING = 0.3
STALL_EVERY = 0.25  # ... and between the next ones
WAITING = 0.25  # a callback whose thread was busy less than this share of the time it was sampled waited
# Modules whose functions, called from the program's line, wait rather than compute: with them a
# larger busy share still counts as waiting (a waiter that wakes often, to poll, is busy a little).
_WAITING_MODULES = ("threading", "queue", "socket", "selectors", "ssl", "subprocess", "concurrent.futures")
_OWN_PACKAGE = __name__.rpartition(".engine.")[0] + "."  # Loopscope's modules: never named as a call


class Samples:
    """What the sampler saw of one callback: program lines, the calls they were in, how busy its thread was."""

    __slots__ = ("lines", "calls", "busy", "wall", "last", "ident", "schedstat", "clock", "next_stall", "stalled")

    def __init__(self, ident, native_id, now, started):
        self.lines = {}  # line -> looks that found the program there
        self.calls = {}  # the function the program's line was in -> looks
        self.busy = self.wall = 0.0  # busy and real seconds between the first look and the latest
        self.ident = ident
        self.schedstat = f"/proc/self/task/{native_id}/schedstat" if native_id else None
        self.clock = None
        busy = self._busy_seconds()
        self.last = None if busy is None else (busy, now)
        self.next_stall = started + STALL_AFTER
        self.stalled = False  # reported as stalled already

    def _busy_seconds(self):
        """Seconds the thread has spent on a CPU or waiting for one (schedstat), else on a CPU
        (its CPU clock, where there is no schedstat), else None (the thread is gone)."""
        if self.schedstat is not None:
            try:
                fd = os.open(self.schedstat, os.O_RDONLY)
                try:
                    running, waiting = os.read(fd, 128).split()[:2]
                finally:
                    os.close(fd)
                return (int(running) + int(waiting)) / 1e9
            except (OSError, ValueError):
                self.schedstat = None
        try:
            if self.clock is None:
                self.clock = _cpu_clock(self.ident)
            return _cpu_time(self.clock)
        except (OSError, OverflowError):
            return None

    def measure(self, now):
        if self.last is None:
            return
        busy = self._busy_seconds()
        if busy is None:
            self.last = None
            return
        self.busy += busy - self.last[0]
        self.wall += now - self.last[1]
        self.last = (busy, now)

    def line(self):
        return max(self.lines, key=self.lines.get) if self.lines else None

    def call(self):
        return max(self.calls, key=self.calls.get) if self.calls else None

    def waited(self):
        """The callback's thread mostly waited (rather than computed) while it was sampled."""
        if self.wall < INTERVAL:
            return False
        share = self.busy / self.wall
        call = self.call() or ""
        return share < WAITING or (share < 2 * WAITING and call.startswith(_WAITING_MODULES))


def start(tracer):
    helper_thread.start(_sample_forever, tracer)


def _sample_forever(tracer):
    look = guard(tracer, "sample_long_callback", _look)  # (the hook "sample_long_callback" of instrument.HOOKS)
    emitter = tracer.emitter
    while tracer.enabled or emitter.live:
        _real_sleep(tracer.idle.alarm.next_look_in(INTERVAL))
        if emitter.live:
            emitter.flush()  # a live view gets events within one interval (output too, once tracing stops)
        look(tracer)


def _look(tracer):
    """One look at each loop's running callback, if it has run long: counts the line of the
    program it is on and the call it is in, measures its CPU time, reports it if it stalls.
    Also sends the program's alarm if a computing callback has run past it (alarms.py)."""
    tracer.idle.alarm.check_running()
    program = tracer.program.globals
    now = _real_time()
    frames = None
    for ident, queue in list(tracer.loop_queues.items()):
        handle = queue.running  # (what the tracer keeps on it: see engine/record.py)
        if handle is None or now - handle._loopscope_started < AFTER:
            continue
        if frames is None:
            frames = sys._current_frames()
            tracer.emitter.flush()  # show the callback that holds the loop, even if it never ends
        samples = getattr(handle, "_loopscope_samples", None)
        if samples is None:
            samples = handle._loopscope_samples = Samples(ident, tracer.native_ids.get(ident), now,
                                                          handle._loopscope_started)
        else:
            samples.measure(now)
        frame, called = frames.get(ident), None
        while frame is not None and frame.f_globals is not program:  # (f_globals: f_code raises an audit event)
            frame, called = frame.f_back, frame
        if frame is not None:
            samples.lines[frame.f_lineno] = samples.lines.get(frame.f_lineno, 0) + 1
            name = _name_of(called)
            if name is not None:
                samples.calls[name] = samples.calls.get(name, 0) + 1
        if now >= samples.next_stall:
            wait = _not_stalled_yet(tracer, ident, samples, now - handle._loopscope_started)
            if wait:
                samples.next_stall = now + wait
                continue
            samples.next_stall = now + STALL_EVERY
            samples.stalled = True
            tracer.hooks.callback_stalled(handle, samples, now - handle._loopscope_started)
            tracer.emitter.flush()  # at once: the page is to see it now


def _not_stalled_yet(tracer, ident, samples, running):
    """Under the virtual clock, before a callback's first `loop.stalled`: the seconds to look again
    after, while it has computed less than STALL_AFTER and run less than STALL_AFTER_WAITING in
    real time; else 0 (report it). The clock charges a callback the time it ran, not the time its
    thread waited for a CPU (charge.py): on a busy machine one that computed 30 ms may take 150 ms,
    and a stall reported then came with no `loop.blocked` after it (a held loop the trace itself
    says was never held, and a trace that differed from run to run). Another thread's CPU time is
    exact; its waits for a CPU are not known until it runs again, so a callback that waits (a
    lock, `time.sleep`) is reported after STALL_AFTER_WAITING of real time."""
    charger = tracer.clock.charger
    if charger is None or samples.stalled:
        return 0.0
    cpu = charger.cpu_so_far(ident)
    if cpu is None or cpu >= STALL_AFTER or running >= STALL_AFTER_WAITING:
        return 0.0
    return max(INTERVAL, min(STALL_AFTER - cpu, STALL_AFTER_WAITING - running))


def _name_of(frame):
    """`module.Qualified.name` of the function `frame` runs (the one the program's line called),
    or None: no frame (the program's own code, or a built-in), or one of Loopscope's."""
    if frame is None:
        return None
    module = frame.f_globals.get("__name__")
    if not isinstance(module, str) or module.startswith(_OWN_PACKAGE):
        return None
    return f"{module}.{frame.f_code.co_qualname}"
