"""The loop's clock: virtual (deterministic, the default) or real.

Virtual time stands still while code runs and jumps ahead when the loop has nothing
to do, so a program that sleeps for minutes is traced in milliseconds and the trace is
the same on every run. It moves only when:
- the loop is idle and nothing outside it is working: it jumps to when a real loop would
  wake (`idle.py`: the selector's timeout, rounded up to whole milliseconds as epoll
  takes it), or to the program's alarm (`alarms.py`) if that comes first;
- code on the loop's thread calls `time.sleep(s)`: it moves by `s`, at once;
- a callback computes: it is charged the time it ran, in whole milliseconds
  (`charge.py`), also part way through when the program reads its clock meanwhile
  (so CPU-bound work shows up in loop time, and timers fall due meanwhile as in a real run);
- the program waits on its own clock (see below);
- threads are working (executor jobs, user threads): it follows the wall clock
  1:1, because their results must arrive in the same order as in a real run.

A program that reads its clock over and over within one callback (a busy wait,
`while time.perf_counter() < end`) is waiting for real time to pass: after
`SPIN_READS` reads, time flows with the wall clock until that callback ends, so
the wait takes as long as in a plain run (not a million nanosecond steps).

Like a real clock it never returns the same value twice: each read moves it on
by one nanosecond. Timers set one after another therefore fall due in the order
they were set (a heap does not keep ties in order), and a chain of short sleeps
ends a little after one long sleep of the same total, as on real hardware.
Events read it with `peek()`, which does not move it. Packed events carry
`peek()` as is; the wire's `origin` (see `server.events.Decoder`) turns it into
seconds since the run started.
"""

import functools
import operator
import time

from .charge import Charger

_real_monotonic = time.monotonic
TICK = 1e-9  # seconds each read of the virtual clock moves it on
SPIN_READS = 1000  # the program's reads within one callback past which it is taken to wait on the clock


class VirtualClock:
    """`peek()` (read for every event) is a C-level callable while time stands still:
    a Python method call there cost about as much as the event itself."""

    name = "virtual"
    origin = 0.0  # loop time when the run started

    def __init__(self):
        self._cell = [0.0]  # the time, while not following the wall clock
        self._frozen_peek = functools.partial(operator.getitem, self._cell, 0)
        self.peek = self._frozen_peek  # loop time, without moving it
        self.frozen = True  # not following the wall clock (an attribute: read for every callback)
        self._base = 0.0  # time when following began
        self._anchor = 0.0  # real time when following began
        self.reads = 0  # the program's reads since the current callback began (the tracer resets it)
        self.spun = False  # following the wall clock because the program waits on it (see read)
        self.charger = Charger(self)  # what computing callbacks are charged (`hooks.handle_run` calls it)

    def now(self):
        """Loop time. Also what the program's `time.monotonic()` returns."""
        cell = self._cell
        if self.frozen:
            cell[0] += TICK
            return cell[0]
        return self._base + (_real_monotonic() - self._anchor)

    def read(self):
        """The program's `time.monotonic()`, `time.perf_counter()`, ...: `now()`, except that a
        program spinning on the clock gets real time (see the module's docstring)."""
        if self.frozen:
            self.reads += 1
            if self.reads > SPIN_READS:
                self.follow()
                self.spun = True
            else:
                self.charger.catch_up()  # time passes while a callback computes, as it reads
        return self.now()

    def _following_peek(self):
        return self._base + (_real_monotonic() - self._anchor)

    def elapsed(self):
        return self.peek()

    def since_start(self, when):
        return when

    def follow(self):
        """Let loop time flow with the wall clock (threads are working)."""
        if self.frozen:
            self._base = self._cell[0]
            self._anchor = _real_monotonic()
            self.frozen = False
            self.peek = self._following_peek

    def freeze(self):
        self.spun = False
        if not self.frozen:
            self._cell[0] = self._following_peek()
            self.frozen = True
            self.peek = self._frozen_peek

    def advance(self, seconds):
        if seconds > 0 and self.frozen:
            self._cell[0] += seconds

    def jump_to(self, when):
        """The loop is idle until `when`: skip the wait."""
        if self.frozen and when > self._cell[0]:
            self._cell[0] = when


class RealClock:
    name = "real"

    def __init__(self):
        self.origin = _real_monotonic()
        # Instance attributes, as on VirtualClock: the tracer reads them for every callback,
        # and Python 3.11 speeds up reading an instance's own attribute, not a class's.
        self.now = self.peek = self.read = _real_monotonic  # loop time is the monotonic clock itself
        self.frozen = False
        self.reads, self.spun = 0, False  # (as on VirtualClock; real time never needs to spin)
        self.charger = None  # (real time needs no charging)

    def elapsed(self):
        return _real_monotonic() - self.origin

    def since_start(self, when):
        return when - self.origin

    def follow(self):
        pass

    def freeze(self):
        pass

    def advance(self, seconds):
        pass

    def jump_to(self, when):
        pass


def make(name):
    if name == "virtual":
        return VirtualClock()
    if name == "real":
        return RealClock()
    raise ValueError(f"unknown clock {name!r}: use 'virtual' or 'real'")
