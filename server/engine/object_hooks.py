"""The tracer's hooks for what the loop's queues do not show: thread-pool jobs, the program's
semaphores, queues and shields (whose methods `objects.py` wraps), and its interval timers where
their timing cannot be a plain run's (`alarms.py`).

A part of `Tracer` (it is a base class of it), kept apart because it is one concept: the
objects asyncio is made of, each with an id of its own in the trace. Like every hook, each is
called through the guard (`instrument.HOOKS`).
"""

import asyncio
import itertools
import threading
import weakref

from . import internals
from .describe import job_label, readable, shown


class ObjectHooks:
    def start_objects(self):
        # id(object) -> (weak reference, id in the trace) of the program's semaphores and queues
        self._objects = {}
        self._oids = itertools.count(1)
        self._work = {}  # id(work item) -> (job id, label, submitting task id, its concurrent future)
        self._jids = itertools.count(1)

    def job_submitted(self, item, fn, future):
        """A thread-pool job, `fn`, is handed over on this thread; `future` (a concurrent one) gets its result."""
        self._work[id(item)] = (next(self._jids), job_label(fn), self.current_task_id(), future)

    def job_began(self, item):
        """A worker thread (this one) starts the job `item`."""
        job = self._work.get(id(item))
        if job is not None:
            self.emitter.emit("job.start", job=job[0], thread=threading.current_thread().name, label=job[1],
                              task=job[2])

    def job_ended(self, item):
        job = self._work.pop(id(item), None)
        if job is None:
            return
        future = job[3]
        if future.cancelled():
            state = "cancelled"
        else:
            state = "exception" if future.done() and future.exception(timeout=0) is not None else "result"
        self.emitter.emit("job.end", job=job[0], thread=threading.current_thread().name, state=state)

    def shielded(self, outer, inner):
        """`asyncio.shield(inner)` returned `outer`, the future its caller awaits."""
        task = self.task_id(inner) if isinstance(inner, asyncio.Task) else None
        self.emitter.emit("shield.new", future=self.future_record(outer).fid, task=task, line=self.user_line_here())

    def _object_id(self, thing):
        """The trace's id of the program's semaphore or queue `thing`, or None when it was never announced."""
        entry = self._objects.get(id(thing))
        return entry[1] if entry is not None and entry[0]() is thing else None

    def _announce_object(self, thing):
        key, oid = id(thing), next(self._oids)
        self._objects[key] = (weakref.ref(thing, lambda _, key=key: self._objects.pop(key, None)), oid)
        return oid

    def semaphore_made(self, semaphore, value):
        if type(value) is int:  # (a count of another type is the program's business; not drawn)
            self.emitter.emit("semaphore.new", semaphore=self._announce_object(semaphore), value=value,
                              line=self.user_line_here())

    def semaphore_changed(self, semaphore, action):
        """A task waits for a slot of `semaphore`, got one, gave up waiting, or released one (`action`)."""
        sid = self._object_id(semaphore)
        free = internals.semaphore_free(semaphore)
        if sid is not None and type(free) is int:
            self.emitter.emit("semaphore.change", semaphore=sid, action=action, task=self.current_task_id(),
                              free=free)

    def timing_differs(self, text):
        """What the program does with time cannot be timed as in a plain run (`text` says what):
        `clock.note`, at the program's line where it did it (none on the sampler's thread)."""
        self.emitter.emit("clock.note", text=text, line=self.user_line_here())

    def queue_made(self, queue, maxsize):
        if type(maxsize) is int:
            self.emitter.emit("queue.new", queue=self._announce_object(queue), maxsize=maxsize,
                              line=self.user_line_here())

    def queue_changed(self, queue, action, item):
        """An item went into or out of `queue`, or a task waits on it or gave up waiting (`action`)."""
        qid = self._object_id(queue)
        if qid is None:
            return
        size = shown(queue, lambda q: q.qsize(), None)  # (a subclass's qsize is the program's code)
        self.emitter.emit("queue.change", queue=qid, action=action, task=self.current_task_id(),
                          item=readable(item, 60) if action in ("put", "get") else None,
                          size=size if type(size) is int else 0)
