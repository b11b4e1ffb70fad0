"""What the tracer keeps about one handle, from the moment it is queued until its run ends.

It is kept on the handle itself, in slots that Loopscope's handle classes add
(`loop.Handle` and its kin), named in `SLOTS`. Not in an object of its own: one
would be made for every callback, and even a list cost about 700 CPU
instructions each time (of some 27,000 a traced callback takes), where setting
a handle's slots costs a few dozen. While the callback runs, the handle is also
its loop's ready queue's `running` (`loop.ReadyQueue`), where the sampler and
`Tracer.current_record` find it.

A task step's handle is new each time, so only its first five fields are set
for it; the others are set for the handles that need them (timers, callbacks
other than task steps, which an I/O handle is, queued again and again), or when
they happen (`time.sleep` calls, samples): read those with `getattr(handle,
name, None)`.
"""

SLOTS = (
    "_loopscope_queue",  # while it waits to run: the ready queue (loop.ReadyQueue) it was reported in; else None
    "_loopscope_hid",  # the handle's id in the trace
    "_loopscope_task",  # the task whose step or wake-up it is, or None
    "_loopscope_tid",  # that task's id, or 0
    "_loopscope_label",  # string id (see Emitter.string) of its readable label
    "_loopscope_when",  # timers: loop time it is due
    "_loopscope_in_heap",  # timers: still waiting in the heap
    "_loopscope_started",  # while it runs: real time (the real time.monotonic()) at its begin
    "_loopscope_sleeps",  # ... its time.sleep calls: (total, longest, line of the longest)
    "_loopscope_samples",  # ... what the sampler saw of it (sampler.Samples: lines, calls, CPU time)
)
