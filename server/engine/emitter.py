"""Writes events as JSON lines to the event pipe, buffered.

The hot kinds (schedule, begin, end, suspend) are formatted by hand: a dict
plus `json.dumps` per event was most of the cost of a naive tracer. Every line
still parses as JSON and is checked against `server.events` by the runner.
"""

import json
import os
import threading

from ..events import VERSION

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode


def jstr(value):
    """JSON text of a string (or null)."""
    return "null" if value is None else _dumps(value)


def jint(value):
    return "null" if value is None else str(value)


def jnum(value):
    return "null" if value is None else repr(round(value, 6))


class Emitter:
    def __init__(self, fd, clock, live=False):
        self._fd = fd
        self._clock = clock
        self._buffer = []
        self._seq = 0
        # Worker threads emit too (call_soon_threadsafe, prints): one writer at a time.
        self._lock = threading.Lock()
        self.live = live  # real clock: events go out promptly, the page streams them

    def line(self, kind, body=""):
        """Emit an event whose fields (after the common ones) are the JSON members `body`."""
        with self._lock:
            seq = self._seq
            self._seq = seq + 1
            t = round(self._clock.elapsed(), 6)
            sep = "," if body else ""
            self._buffer.append(f'{{"v":{VERSION},"seq":{seq},"t":{t!r},"kind":"{kind}"{sep}{body}}}\n')
            if len(self._buffer) >= 512:
                self._flush_locked()

    def emit(self, kind, **fields):
        """Emit any event from keyword fields (for the kinds that are not hot)."""
        self.line(kind, _dumps(fields)[1:-1] if fields else "")

    def flush(self):
        with self._lock:
            self._flush_locked()

    def _flush_locked(self):
        if not self._buffer:
            return
        data = "".join(self._buffer).encode("utf-8", "replace")
        self._buffer.clear()
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
