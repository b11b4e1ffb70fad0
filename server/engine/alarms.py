"""The program's alarm clock (`signal.alarm`, `signal.setitimer(ITIMER_REAL)`) in loop time.

A real `ITIMER_REAL` counts real seconds, which a run under the virtual clock skips (a
minute's sleep takes no time): it would go off long after the program asked, or never. So
under the virtual clock `signal.alarm`, `signal.setitimer` / `getitimer` of `ITIMER_REAL` and
`signal.pause` are Loopscope's: the alarm is kept in loop time, and the program gets its
SIGALRM (`signal.raise_signal`, on its own thread, so the handler runs at once when that is
the main thread) when loop time reaches it:
- the loop is idle: time jumps to the alarm, not past it (`Idle.wait_for_io`);
- a `time.sleep` on the loop's thread is being skipped, or `signal.pause()` waits: the sleep
  stops at the alarm, the handler runs inside it and, unless it raised, the sleep goes on for
  the rest, as PEP 475 has it (`Idle.sleep`);
- a callback computes past it: the sampler's thread sends it (`check_running`), within the
  sampler's interval (10 ms of real time) of that moment, or, if the callback ends before
  the sampler looks, when the loop next waits. A callback waiting outside asyncio
  (a lock, a socket) is not interrupted, unlike in a plain run: the signal reaches the
  sampler's thread, not the waiting one (sending one to another thread is what the sandbox
  forbids), and the handler runs once the wait is over.
An alarm set while no loop runs is the kernel's own, in real time (`kernel`): outside the loop's
callbacks virtual time stands still however long the program computes; a `time.sleep` then
sleeps for real, so that the alarm can cut it short.
`ITIMER_VIRTUAL` and `ITIMER_PROF` count CPU time, which a traced program spends partly in
Loopscope: they are the kernel's under either clock, and the trace says so (`clock.note`).
"""

import operator
import signal
import threading

_real_setitimer, _real_getitimer, _real_alarm, _real_pause = (
    signal.setitimer, signal.getitimer, signal.alarm, signal.pause)
_raise_signal = signal.raise_signal
_CPU_TIMERS = {signal.ITIMER_VIRTUAL: "ITIMER_VIRTUAL", signal.ITIMER_PROF: "ITIMER_PROF"}
_CPU_TIMER_NOTE = ("setitimer({}) counts the process's CPU time, and a traced program spends part of its CPU "
                   "time in Loopscope: the signal comes earlier in the program's work than in a plain run.")
_COMPUTING_NOTE = ("The alarm fell due while a callback ran: Loopscope's sampler sent it, up to some 10 ms of real "
                   "time late, and it cuts no wait outside asyncio short (a lock, a socket).")


class Alarm:
    """The program's ITIMER_REAL in loop time (virtual clock), and notes on the CPU-time timers (either clock)."""

    def __init__(self, tracer):
        self._tracer = tracer
        self._clock = tracer.clock
        self.virtual = self._clock.name == "virtual"
        self.due = None  # loop time of the next SIGALRM, or None (read by `idle.py` and the sampler)
        self._interval = 0.0
        # Set while no loop ran: then it is the kernel's own. Outside the loop's callbacks virtual
        # time stands still however long the program computes, so a loop-time alarm would never
        # come (a program that computes with an interval timer before any loop, say).
        self.kernel = False
        self._lock = threading.Lock()
        self._noted = set()

    def install(self):
        signal.setitimer = self.setitimer
        signal.getitimer = self.getitimer
        if self.virtual:
            signal.alarm = self.alarm
            signal.pause = self.pause

    # -- the program's calls -------------------------------------------------------------

    def setitimer(self, which, seconds, interval=0.0):
        if which in _CPU_TIMERS:
            self._note(which, _CPU_TIMER_NOTE.format(_CPU_TIMERS[which]))
        if which != signal.ITIMER_REAL or not self.virtual:
            return _real_setitimer(which, seconds, interval)
        seconds, interval = float(seconds), float(interval)
        if seconds < 0 or interval < 0:
            raise signal.ItimerError(22, "Invalid argument")
        return self._set(seconds, interval)

    def getitimer(self, which):
        if which != signal.ITIMER_REAL or not self.virtual or self.kernel:
            return _real_getitimer(which)
        return self._left(), self._interval

    def alarm(self, seconds):
        seconds = operator.index(seconds)
        if seconds < 0:
            return _real_alarm(seconds)  # (its own error)
        left, _ = self._set(float(seconds), 0.0)
        whole = int(left)
        # as the kernel rounds it: to the nearest second, and never 0 while one was set
        return whole + 1 if left - whole >= 0.5 or (whole == 0 and left > 0) else whole

    def pause(self):
        """`signal.pause()`: with an alarm set, waits for it (the loop's sleep), else for any signal."""
        if self.due is None:  # (also when the kernel's alarm is set)
            return _real_pause()
        clock = self._clock
        self._tracer.idle.sleep(max(self.due - clock.peek(), 0.0))
        return None

    def _set(self, seconds, interval):
        """Arm (or, with 0 seconds, disarm) the alarm; (seconds that were left, old interval)."""
        with self._lock:
            if self.kernel:
                old = _real_setitimer(signal.ITIMER_REAL, 0)
            else:
                old = self._left(), self._interval
            self.kernel = seconds > 0 and not self._tracer.loop_queues
            if self.kernel:
                self.due, self._interval = None, 0.0
                _real_setitimer(signal.ITIMER_REAL, seconds, interval)
                return old
            self._clock.charger.catch_up()  # (from the time computed so far, as a plain run's)
            self.due = self._clock.now() + seconds if seconds > 0 else None
            self._interval = interval if seconds > 0 else 0.0
        return old

    def _left(self):
        due = self.due
        return 0.0 if due is None else max(due - self._clock.peek(), 0.0)

    def _note(self, what, text):
        if what not in self._noted:
            self._noted.add(what)
            self._tracer.hooks.timing_differs(text)

    # -- delivering it ---------------------------------------------------------------------

    def fire(self, late=False):
        """Loop time has reached the alarm: re-arm it (an interval timer), then send SIGALRM. On
        the main thread the handler runs now, and what it raises comes out of this call. `late`:
        it fell due while a callback computed, which ended before the sampler saw it."""
        if late:
            self._note("computing", _COMPUTING_NOTE)
        with self._lock:
            if self.due is None:
                return
            self.due = self.due + self._interval if self._interval > 0 else None
        _raise_signal(signal.SIGALRM)

    def check_running(self):
        """The sampler's thread: send the alarm if a computing callback has brought loop time to it."""
        if self.due is None:
            return
        clock = self._clock
        for ident in list(self._tracer.loop_queues):
            clock.charger.catch_up(ident)
        due = self.due
        if due is not None and clock.peek() >= due:
            self.fire(late=True)

    def next_look_in(self, interval):
        """Real seconds the sampler sleeps before its next look: less than `interval` if the alarm
        may fall due sooner (in loop time, which a computing callback moves about as fast)."""
        due = self.due
        if due is None:
            return interval
        return min(interval, max(due - self._clock.peek(), 0.001))
