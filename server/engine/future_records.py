"""What the tracer knows of a future somebody waits on, kept so that the future can still go.

A plain run lets a future go the moment nothing refers to it: a task nobody references, waiting
on a future nobody will resolve, is collected ("Task was destroyed but it is pending!"). So the
tracer never refers to a program's future itself: the record rides on asyncio's own future (an
attribute of the C `Future`, which has an instance dict but no `__dict__` to show it; checked on
3.11.7, 3.12.1, 3.13.0) and goes with it; a future of any other class (the program's subclasses,
gather's, future-likes, which could hook attribute access) is found through a dict of weak
references instead. A record refers to nothing of the program's (not even its timer's handle,
whose arguments hold the future).
"""

import asyncio
import itertools
import weakref

_PLAIN_FUTURE = asyncio.Future  # (the C class: no attribute hooks of the program's can run)
_NO_RECORD = None


class FutureRecord:
    __slots__ = ("fid", "waiting", "timer_hid", "timer_when", "delay", "thread")

    def __init__(self, fid):
        self.fid = fid  # its id in the trace; negated once `future.done` was reported
        self.waiting = []  # ids of the tasks awaiting it
        self.timer_hid = None  # the handle id of the timer that will resolve it (asyncio.sleep)...
        self.timer_when = None  # ... the loop time that timer is due
        self.delay = None  # that timer's call_later delay
        self.thread = False  # resolved by a worker thread (run_in_executor)


class FutureRecords:
    def __init__(self):
        self._fids = itertools.count(1)
        # id(future) -> (weak reference to it, or the future itself when it takes none; its record),
        # for futures that are not asyncio's own
        self._others = {}

    def get(self, future):
        """The record of `future`, or None."""
        if type(future) is _PLAIN_FUTURE:
            return getattr(future, "_loopscope_record", None)
        entry = self._others.get(id(future))
        if entry is not None and (entry[0]() if type(entry[0]) is weakref.ref else entry[0]) is future:
            return entry[1]
        return None

    def of(self, future):
        """The record of `future`, made if it has none yet (for each suspension on a future: kept short)."""
        if type(future) is _PLAIN_FUTURE:
            record = getattr(future, "_loopscope_record", None)
            if record is None:
                record = future._loopscope_record = FutureRecord(next(self._fids))
            return record
        record = self.get(future)
        if record is None:
            record = FutureRecord(next(self._fids))
            key = id(future)
            try:
                held = weakref.ref(future, lambda _, key=key: self._others.pop(key, None))
            except TypeError:  # it takes no weak reference: held until it is forgotten
                held = future
            self._others[key] = (held, record)
        return record

    def forget(self, future):
        if type(future) is _PLAIN_FUTURE:
            future._loopscope_record = _NO_RECORD
        else:
            self._others.pop(id(future), None)
