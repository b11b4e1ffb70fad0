"""The loop's clock: virtual (deterministic, the default) or real.

Virtual time stands still while code runs and jumps to the next timer when the
loop has nothing to do, so a program that sleeps for minutes is traced in
milliseconds and the trace is the same on every run. It moves only when:
- the loop is idle and nothing outside it is working: it jumps to the next timer;
- code on the loop's thread calls `time.sleep(s)`: it moves by `s`, at once;
- a callback computes for longer than the blocking threshold: it is charged the
  measured duration (so CPU-bound blocking shows up in loop time);
- threads are working (executor jobs, user threads): it follows the wall clock
  1:1, because their results must arrive in the same order as in a real run.

Like a real clock it never returns the same value twice: each read moves it on
by one nanosecond. Timers set one after another therefore fall due in the order
they were set (a heap does not keep ties in order), and a chain of short sleeps
ends a little after one long sleep of the same total, as on real hardware.
Events read it with `peek()`, which does not move it.
"""

import time

_real_monotonic = time.monotonic
TICK = 1e-9  # seconds each read of the virtual clock moves it on


class VirtualClock:
    name = "virtual"

    def __init__(self):
        self._value = 0.0
        self._following = False
        self.frozen = True  # not following the wall clock (an attribute: read for every callback)
        self._anchor = 0.0  # real time when following began

    def now(self):
        """Loop time. Also what the program's `time.monotonic()` returns."""
        if self._following:
            return self._value + (_real_monotonic() - self._anchor)
        self._value += TICK
        return self._value

    def peek(self):
        if self._following:
            return self._value + (_real_monotonic() - self._anchor)
        return self._value

    elapsed = peek

    def since_start(self, when):
        return when

    def follow(self):
        """Let loop time flow with the wall clock (threads are working)."""
        if not self._following:
            self._anchor = _real_monotonic()
            self._following = True
            self.frozen = False

    def freeze(self):
        if self._following:
            self._value = self.peek()
            self._following = False
            self.frozen = True

    def advance(self, seconds):
        if seconds > 0 and not self._following:
            self._value += seconds

    def jump_to(self, when):
        """The loop is idle until `when`: skip the wait."""
        if not self._following and when > self._value:
            self._value = when


class RealClock:
    name = "real"

    def __init__(self):
        self._origin = _real_monotonic()

    frozen = False

    def now(self):
        return _real_monotonic()

    peek = now

    def elapsed(self):
        return _real_monotonic() - self._origin

    def since_start(self, when):
        return when - self._origin

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
