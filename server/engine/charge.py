"""What a callback that computes is charged on the virtual clock.

Virtual time stands still while code runs, but a computation takes time in a plain run, and
timers fall due meanwhile: so each callback is charged the time it *ran*, in whole milliseconds.

- Ran, not waited for a CPU: its real duration less the time its thread spent runnable but
  off the CPU (Linux's per-thread schedstat, second field, which the kernel updates when the
  thread is put back on a CPU: exact when the thread reads its own). On a loaded machine a
  callback that was merely descheduled is charged what it ran, so the trace does not depend
  on the machine's load. A wait outside asyncio (a lock, a `queue.Queue`, a socket) is not
  time waiting for a CPU: it is charged as it lasts, as a plain run spends it. But a wait of
  less than `SHORT_WAIT` in all is not (the callback is charged its CPU time, then): that is
  what the interpreter's lock costs when Loopscope's sampler thread takes it (every 10 ms; on
  a busy machine the loop's thread may then wait milliseconds to get it back), and no plain
  run has it. Where there is no schedstat, the real duration is charged.
- Whole milliseconds, rounded to the nearest (`QUANTUM`): the same work takes a few percent
  more or less CPU from run to run (more on a busy machine), and charged exactly, a timer
  that falls due during a run of small chunks would fall due after another chunk each time.
  Rounded, a chunk of 1.6 to 2.4 ms is charged 2 ms every time, so 100 such chunks are 200 ms
  in every run. A callback that ran less than 1.5 ms is charged nothing (`FREE_BELOW`), as
  before: asyncio's own steps are a few microseconds, but with Loopscope's work in them
  (announcing tasks, printing, the first descriptions) they reach a millisecond on a busy
  machine, where rounding to the nearest would charge them 0 or 1 ms from run to run (and
  change the scenarios' golden traces). Remainders are not carried over: that
  would make the sum exact, but the moment it ticks over another millisecond would differ
  from run to run, which is what rounding is for.
- As it goes: the program's reads of its clock inside a long callback bring the charge up to
  date first (`catch_up`), so that time passes while it computes, as in a plain run.

The run delay at a callback's start is read only every `MARK_EVERY` of real time (`mark`,
from `hooks.handle_run`): reading schedstat is a system call (2 µs here), and a callback's
own measurement (`settle`) happens only for callbacks that lasted `FREE_BELOW`.
"""

import math
import os
import threading
import time

_real_time = time.monotonic  # (the real one: the program's may be virtual)
_thread_id, _native_id = threading.get_ident, threading.get_native_id
_cpu_time = time.thread_time  # (kept: the program may replace it)
_cpu_clock_of, _clock_gettime = time.pthread_getcpuclockid, time.clock_gettime  # (another thread's CPU time)
_pread = os.pread

QUANTUM = 0.001  # charged time is a whole number of these seconds
FREE_BELOW = 0.0015  # callbacks that ran less than this are charged nothing (and not measured)
# Uncharged callbacks that took at least NOTED_FROM (real time: computing, most likely) add up;
# once NOTE_AFTER of them have taken NOTE_TOTAL in all, the trace says so, once (a `clock.note`):
# a plain run's clock would have moved by about that much, Loopscope's did not.
NOTED_FROM, NOTE_AFTER, NOTE_TOTAL = 0.0005, 10, 0.010
SHORT_WAIT = 0.02  # a callback's waits (neither running nor runnable) shorter than this in all are not charged
# Real seconds after which the next callback's start reads the run delay anew. Runnable time
# between that reading and the start is wrongly taken off the callback: at most this much.
MARK_EVERY = 0.00025


def whole(seconds):
    """What `seconds` of running is charged: 0 below `FREE_BELOW`, else the nearest whole `QUANTUM` (half up)."""
    return 0.0 if seconds < FREE_BELOW else max(math.floor(seconds / QUANTUM + 0.5), 1) * QUANTUM


def _thread_cpu_time(ident):
    return _clock_gettime(_cpu_clock_of(ident))


class Charger:
    def __init__(self, clock):
        self._clock = clock
        self.marked = -math.inf  # real time of the latest `mark` (read for every callback)
        self._mark_thread = None
        self._mark_delay = None
        self._mark_cpu = 0.0  # this thread's CPU time at the mark
        self._files = {}  # thread ident -> fd of its schedstat, or None (none to read)
        self._lock = threading.Lock()  # (the sampler catches up a callback too: see alarms.py)
        self._charged_for = None  # real start of the callback charged part of its time already ...
        self._charged = 0.0  # ... and how much
        self.uncharged = 0.0  # seconds the callbacks between NOTED_FROM and FREE_BELOW took in all
        self.uncharged_callbacks = 0
        self.noted = False
        # The real start of the callback running on thread `ident` (None: this one), or None.
        # `loop.install` gives the tracer's; without it nothing is caught up.
        self.started_on = lambda ident=None: None

    def mark(self):
        """Read this thread's run delay (a callback is about to start on it)."""
        ident = _thread_id()
        _, self._mark_delay, self.marked = self._reading(ident)  # (from after it: see _reading)
        self._mark_cpu = _cpu_time()
        self._mark_thread = ident

    def _reading(self, ident):
        """(real time just before, run delay of thread `ident`, real time just after). The delay goes
        with the real time next to it: read apart, a preemption in between would count in one and not
        the other (a whole time slice, milliseconds). Reading it lets other threads take the
        interpreter's lock (a system call), so this thread may wait for it afterwards: not the
        program's time, and not in the delay. So an interval is measured from just after a reading
        to just before the next."""
        before = _real_time()
        delay = self._delay(ident)
        return before, delay, _real_time()

    def _delay(self, ident):
        """Seconds thread `ident` has been runnable but off a CPU so far, or None (no schedstat).
        A thread opens its own file, which another may then read too."""
        fd = self._files.get(ident, -1)
        if fd == -1:
            if ident != _thread_id():
                return None
            try:
                fd = os.open(f"/proc/self/task/{_native_id()}/schedstat", os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                fd = None
            self._files[ident] = fd
        if fd is None:
            return None
        try:
            return int(_pread(fd, 96, 0).split()[1]) / 1e9
        except (OSError, ValueError, IndexError):  # e.g. the program closed it
            self._files[ident] = None
            return None

    def _ran(self, ident, started, ended, real, waits=True):
        """Of the `real` seconds that the callback on thread `ident` took from `started` to `ended`,
        those it ran: the run delay since the mark taken off, measured over the same interval."""
        if self._mark_thread != ident or self._mark_delay is None:
            return real
        now, delay, _ = self._reading(ident)
        if delay is None:
            return real
        # from the mark (if taken as this callback began) to this reading, as the delay was
        span = real + (now - ended) - max(self.marked - started, 0.0)
        ran = span - (delay - self._mark_delay)
        if ident != _thread_id():  # (the sampler, for alarms.py: another thread's CPU time is not at hand)
            return ran
        # At least its CPU time: on this machine the delay has been seen to grow by more than the
        # real time between two readings (a virtual machine's clocks), a few milliseconds at a time.
        cpu = _cpu_time() - self._mark_cpu
        return ran if waits and ran - cpu >= SHORT_WAIT else min(cpu, span)

    def cpu_so_far(self, ident):
        """CPU seconds thread `ident` has used since the latest mark (its running callback's start, or
        at most MARK_EVERY of real time before it), or None: the mark is another thread's. Another
        thread's CPU time is exact at any moment, where its run delay is not (schedstat is brought
        up to date only when that thread gets a CPU back)."""
        if self._mark_thread != ident:
            return None
        try:
            return _thread_cpu_time(ident) - self._mark_cpu
        except (OSError, OverflowError):
            return None

    def settle(self, started, ended, real):
        """The callback on this thread that ran from real `started` to `ended` took `real` seconds of
        that (Loopscope's own emitting taken out): charge what is owed of the time it ran."""
        ran = self._ran(_thread_id(), started, ended, real)
        with self._lock:
            already = self._charged if self._charged_for == started else 0.0
            self._charged_for = None
            owed = whole(ran) - already
            if owed > 0:
                self._clock.advance(owed)

    def left_uncharged(self, real):
        """A callback took `real` seconds, at least NOTED_FROM, and was charged nothing: True once,
        when such callbacks first add up to what the trace must mention (`uncharged_note`)."""
        self.uncharged += real
        self.uncharged_callbacks += 1
        if self.noted or self.uncharged_callbacks < NOTE_AFTER or self.uncharged < NOTE_TOTAL:
            return False
        self.noted = True
        return True

    def uncharged_note(self):
        return (f"{self.uncharged_callbacks} callbacks so far ran under {FREE_BELOW * 1000:g} ms each "
                f"({self.uncharged * 1000:.0f} ms in all) and were charged nothing: the virtual clock stood "
                "still where a plain run's moves on (--clock real times them)")

    def catch_up(self, ident=None):
        """Charge the callback running on thread `ident` (None: this one) what it has run so far."""
        started = self.started_on(ident)
        if started is None or not self._clock.frozen:
            return
        now = _real_time()
        if now - started < FREE_BELOW:
            return
        # Its CPU time only, on its own thread: its waits so far may be Loopscope's (the emitter
        # writing to a full pipe), which only `settle` can take out.
        ran = self._ran(_thread_id() if ident is None else ident, started, now, now - started, waits=False)
        with self._lock:
            already = self._charged if self._charged_for == started else 0.0
            owed = whole(ran) - already
            if owed > 0:
                self._clock.advance(owed)
                self._charged_for, self._charged = started, already + owed
