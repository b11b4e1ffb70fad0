"""Where loop time moves: the loop waiting for I/O or timers, and the program's `time.sleep`.

Under the virtual clock an idle loop jumps to its next timer — unless something
outside it (a worker thread, a thread-pool job) may still make progress, in which
case time must flow for real so results arrive in the order a real run sees.
"""

import math
import threading
import time

from ..events import CODES
from . import internals

_real_sleep = time.sleep
_IDLE = CODES["loop.idle"]
_NAN = float("nan")  # null, for a packed float


class Idle:
    def __init__(self, tracer):
        self._tracer = tracer
        self._clock = tracer.clock
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
                    if self._tracer.enabled:
                        self._tracer.emitter.line(_IDLE, until)  # the virtual clock's times are its own
                    clock.jump_to(until)
                    return []
        if self._tracer.enabled:
            self._tracer.emitter.line(_IDLE, _NAN if until is None else clock.since_start(until))
            self._tracer.emitter.flush()
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
            if thread is me or thread in self._tracer.helper_threads or internals.is_idle_pool_thread(thread):
                continue
            return True
        return False

    def sleep(self, seconds):
        """`time.sleep` for the program: noted as blocking; virtual when time stands still."""
        handle = self._tracer.current_record()
        on_loop = handle is not None or threading.current_thread() is threading.main_thread()
        if handle is not None and isinstance(seconds, (int, float)):
            total, longest, line = getattr(handle, "_loopscope_sleeps", None) or (0.0, -1.0, None)
            if seconds > longest:
                longest, line = seconds, self._tracer.user_line_here()
            handle._loopscope_sleeps = (total + seconds, longest, line)
        valid = isinstance(seconds, (int, float)) and math.isfinite(seconds) and seconds >= 0
        if on_loop and valid and self._clock.frozen and not self.outside_work():
            self._clock.advance(seconds)
            return None
        return _real_sleep(seconds)
