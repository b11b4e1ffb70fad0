"""Where loop time moves: the loop waiting for I/O or timers, and the program's `time.sleep`.

Under the virtual clock an idle loop jumps to its next timer — unless something
outside it (a worker thread, a thread-pool job) may still make progress, in which
case time must flow for real so results arrive in the order a real run sees.
All of that goes on once tracing has stopped; only the hooks (`before_idle`, `before_sleep`) stop.
"""

import math
import threading
import time

from . import internals

_real_sleep = time.sleep
_thread_id = threading.get_ident
_NAN = float("nan")  # null, for a packed float


class Idle:
    def __init__(self, tracer):
        self._tracer = tracer
        self._clock = tracer.clock
        self._hooks = tracer.hooks
        self._jobs = 0
        self._jobs_lock = threading.Lock()

    def wait_for_io(self, loop, select, timeout):
        """The loop is about to poll its selector with `timeout` (not 0)."""
        clock = self._clock
        until = internals.next_timer(loop)
        if self._tracer.raw_output is not None:
            self._tracer.raw_output.drain()  # what was written straight to fd 1 so far comes first
        if clock.name == "virtual":
            events = select(0)
            if events:
                return events
            if self.outside_work():
                clock.follow()
            else:
                clock.freeze()
                if until is not None:
                    self._hooks.before_idle(until)  # the virtual clock's times are its own
                    clock.jump_to(until)
                    return []
        self._hooks.before_idle(_NAN if until is None else clock.since_start(until))
        self._tracer.emitter.flush()  # (the program's output, too, once tracing has stopped)
        return select(timeout)

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
        if on_loop and valid and self._clock.frozen and not self.outside_work():
            self._clock.advance(seconds)
            return None
        return _real_sleep(seconds)
