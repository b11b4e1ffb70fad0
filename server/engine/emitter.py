"""Writes events to the event pipe as JSON lines, buffered.

The hot kinds (schedule, begin, end, suspend, ...) go in the compact wire form
of `server.events` (`[code, t, values...]`), formatted by hand: a dict plus
`json.dumps` per event was most of the cost of a naive tracer. The runner, in
another process, expands them to the documented objects and checks them.
"""

import collections
import json
import os
import threading

from ..events import CODES

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode


def jstr(value):
    """JSON text of a string (or null)."""
    return "null" if value is None else _dumps(value)


def jint(value):
    return "null" if value is None else str(value)


def jnum(value):
    return "null" if value is None else repr(value)


class Emitter:
    def __init__(self, fd, clock, live=False):
        self._fd = fd
        self._now = clock.elapsed
        # A deque: appends from several threads (call_soon_threadsafe, prints) are atomic
        # and keep their order without a lock on this hot path.
        self._buffer = collections.deque()
        self._flush_lock = threading.Lock()
        self.live = live  # real clock: events go out promptly, the page streams them

    def line(self, code, values):
        """Emit a hot event: `code` from `CODES`, `values` its fields' JSON, comma-separated, in schema order."""
        buffer = self._buffer
        buffer.append(f"[{code},{self._now()!r},{values}]\n")
        if len(buffer) >= 1024:
            self.flush()

    def emit(self, kind, **fields):
        """Emit any event from keyword fields (for the kinds that are not hot)."""
        body = _dumps(fields)[1:-1]
        self._buffer.append(f'{{"t":{self._now()!r},"kind":"{kind}"{"," if body else ""}{body}}}\n')
        if len(self._buffer) >= 1024:
            self.flush()

    def flush(self):
        with self._flush_lock:
            buffer = self._buffer
            count = len(buffer)
            if not count:
                return
            data = "".join([buffer.popleft() for _ in range(count)]).encode("utf-8", "replace")
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
