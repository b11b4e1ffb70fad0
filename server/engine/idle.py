"""Where loop time moves: the loop waiting for I/O or timers, and the program's `time.sleep`.

Under the virtual clock an idle loop jumps to when a real one would wake — unless something
outside it (a worker thread, a thread-pool job) may still make progress, in which
case time must flow for real so results arrive in the order a real run sees.
A real loop asks epoll to wait the time to its next timer rounded *up* to whole milliseconds
(`selectors.EpollSelector.select`: run on 3.11 here, the same in 3.12's source), then runs every timer due by the time it
woke: timers less than a millisecond apart fire in one iteration or in two depending on where
that rounding lands. The jump lands there too (`wake_after`), so they fire as they would in a
plain run (a real loop also wakes some tens of microseconds late, which no jump copies).
The program's alarm (`alarms.py`) stops a jump, a skipped sleep or `signal.pause()` when it is due.
All of that goes on once tracing has stopped; only the hooks (`before_idle`, `before_sleep`) stop.
"""

import math
import threading
import time

from . import internals

_real_sleep = time.sleep
_thread_id = threading.get_ident
_NAN = float("nan")  # null, for a packed float


def wake_after(timeout):
    """Seconds a real loop waits when it polls with `timeout`: epoll's whole milliseconds, rounded up
    (as `selectors.EpollSelector.select` rounds it, and `select.epoll.poll` once more)."""
    return math.ceil(timeout * 1e3) * 1e-3


class Idle:
    def __init__(self, tracer):
        self._tracer = tracer
        self._clock = tracer.clock
        self._hooks = tracer.hooks
        self._jobs = 0
        self._jobs_lock = threading.Lock()
        self.alarm = None  # the program's alarm in loop time (alarms.Alarm, virtual clock; `loop.install`)

    def wait_for_io(self, loop, select, timeout):
        """The loop is about to poll its selector with `timeout` (not 0)."""
        clock = self._clock
        until = internals.next_timer(loop)
        alarm_first = False  # (the wait ends at the program's alarm, not a timer)
        if self._tracer.raw_output is not None:
            self._tracer.raw_output.drain()  # what was written straight to fd 1 so far comes first
        if clock.name == "virtual":
            # Whether threads work is asked before the selector is looked at: a thread-pool job
            # hands its result over (call_soon_threadsafe, the self-pipe written) before it counts
            # as finished, so one that finishes after this question is seen by the look below.
            # Asked after, a job could finish in between, unseen, and the clock jump past it.
            working = self.outside_work()
            events = select(0)
            if events:
                return events
            alarm = self.alarm.due
            if working:
                clock.follow()
            else:
                clock.freeze()
                if until is not None or alarm is not None:
                    self._hooks.before_idle(_NAN if until is None else until)  # the virtual clock's times are its own
                    wake = None
                    if until is not None:
                        wake = until if timeout is None else max(until, clock.now() + wake_after(timeout))
                    if alarm is not None and (wake is None or alarm < wake):
                        late = alarm < clock.peek()  # (passed while a callback computed)
                        clock.jump_to(alarm)
                        self.alarm.fire(late)  # the handler runs here, as when SIGALRM interrupts epoll_wait
                        return select(0)  # (a handler set with loop.add_signal_handler woke the loop)
                    clock.jump_to(wake)
                    return []
            if alarm is not None:  # following the wall clock: the alarm is due in real seconds
                left = max(alarm - clock.now(), 0.0)
                if timeout is None or left < timeout:
                    timeout, alarm_first = left, True
        self._hooks.before_idle(_NAN if until is None else clock.since_start(until))
        self._tracer.emitter.flush()  # (the program's output, too, once tracing has stopped)
        events = select(timeout)
        if alarm_first and not events:
            self.alarm.fire()
        return events

    def job_started(self):
        with self._jobs_lock:
            self._jobs += 1

    def job_finished(self):
        with self._jobs_lock:
            self._jobs -= 1

    def outside_work(self):
        """Is anything besides this loop able to make progress (so time must flow)?"""
        if self._jobs > 0:
            return True
        me = threading.current_thread()
        for thread in threading.enumerate():
            if thread is me or internals.is_idle_pool_thread(thread):
                continue
            return True
        return False

    def sleep(self, seconds):
        """`time.sleep` for the program: noted as blocking; virtual when time stands still."""
        self._hooks.before_sleep(seconds)
        # on a loop's thread (running a loop, or the main thread): the one time.sleep holds up
        on_loop = threading.current_thread() is threading.main_thread() or _thread_id() in self._tracer.loop_queues
        valid = isinstance(seconds, (int, float)) and math.isfinite(seconds) and seconds >= 0
        clock = self._clock
        if self.alarm is not None and self.alarm.kernel:  # (set while no loop ran: see alarms.py)
            return _real_sleep(seconds)
        if not (valid and on_loop) or self.alarm is None or self.alarm.due is None:
            if on_loop and valid and clock.frozen and not self.outside_work():
                clock.advance(seconds)
                return None
            return _real_sleep(seconds)
        # An alarm is set: the sleep stops when it is due, its handler runs (raising out of the
        # sleep, if it raises), and the sleep goes on for the rest (PEP 475), virtually or not.
        virtual = clock.frozen and not self.outside_work()
        clock.charger.catch_up()  # (the alarm may be due already, from what the callback computed)
        end = clock.peek() + seconds
        while self.alarm.due is not None and self.alarm.due <= end:
            if virtual:
                clock.jump_to(self.alarm.due)
            elif self.alarm.due > clock.now():
                _real_sleep(self.alarm.due - clock.now())
            self.alarm.fire()
        if virtual:
            clock.jump_to(end)
        elif end > clock.now():
            _real_sleep(end - clock.now())
        return None
