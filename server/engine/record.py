"""What the tracer keeps about one handle, from the moment it is queued until its run ends.

It hangs on the handle itself (`handle._loopscope`) and, while the callback
runs, on its loop's ready queue (`loop.ReadyQueue.running`). A list rather than
an object: one is made for every callback, and building a class instance cost
more than the rest of the bookkeeping together.
"""

HID = 0  # the handle's id in the trace
TASK = 1  # the task whose step or wake-up it is, or None
TID = 2  # that task's id, or 0
LABEL = 3  # string id (see Emitter.string) of its readable label
WHEN = 4  # loop time it is due (timers), else NaN
IN_HEAP = 5  # a timer still waiting in the heap
R0 = 6  # while it runs: real time at its begin (the real `time.monotonic()`)
SLEEP = 7  # ... its time.sleep calls: (total, longest, line of the longest), or None
SAMPLES = 8  # ... the sampler's {line: count}, or None
QUEUE = 9  # the ready queue it entered (its loop's), whose `running` it is while it runs


def new_record(hid, task, tid, label, when, queue):
    # (Tracer.ready_append writes this list out for task steps: keep the two alike.)
    return [hid, task, tid, label, when, False, 0.0, None, None, queue]
