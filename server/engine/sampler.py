"""Finds the line a long callback spends its time on, by sampling the loop thread's stack.

A callback that computes (rather than calls `time.sleep`) gives no other sign
of where it is; looking at its stack every few milliseconds does. The sampler
also pushes buffered events out: every interval under the real clock, and
whenever a callback holds the loop, so a run killed for taking too long still
shows the step it was stuck in.
"""

import sys
import time

from . import helper_thread
from .instrument import guard

_real_time = time.monotonic  # (the real one: the program's may be virtual)
_real_sleep = time.sleep

INTERVAL = 0.01  # seconds between looks
AFTER = 0.02  # a callback is sampled once it has run this long


def start(tracer):
    helper_thread.start(_sample_forever, tracer)


def _sample_forever(tracer):
    look = guard(tracer, "sample_long_callback", _look)  # (the hook "sample_long_callback" of instrument.HOOKS)
    emitter = tracer.emitter
    while tracer.enabled or emitter.live:
        _real_sleep(INTERVAL)
        if emitter.live:
            emitter.flush()  # a live view gets events within one interval (output too, once tracing stops)
        look(tracer)


def _look(tracer):
    """One look at each loop's running callback: counts the line of the program it is on, if it has run long."""
    filename = tracer.program.filename
    now = _real_time()
    frames = None
    for ident, queue in list(tracer.loop_queues.items()):
        handle = queue.running  # (what the tracer keeps on it: see engine/record.py)
        if handle is None or now - handle._loopscope_started < AFTER:
            continue
        if frames is None:
            frames = sys._current_frames()
            tracer.emitter.flush()  # show the callback that holds the loop, even if it never ends
        frame = frames.get(ident)
        while frame is not None and frame.f_code.co_filename != filename:
            frame = frame.f_back
        if frame is not None:
            samples = getattr(handle, "_loopscope_samples", None)
            if samples is None:
                samples = handle._loopscope_samples = {}
            samples[frame.f_lineno] = samples.get(frame.f_lineno, 0) + 1
