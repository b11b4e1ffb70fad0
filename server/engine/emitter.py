"""Buffers events and writes them to the event pipe in batches.

Events are kept as tuples (the hot kinds: `(code, t, field values...)` in the
order `server.events` lists the fields, `code` indexing its KINDS) or dicts (the
rest), and a whole batch becomes one JSON line, encoded by the json module's C
encoder. Formatting each event in Python was most of a naive tracer's cost; the
runner, in another process, expands and checks them (`server.events.decode`).
"""

import collections
import json
import os
import threading

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode

_BATCH = 512  # events per line at most
_TEXT = 256 * 1024  # characters of printed text per line at most


class Emitter:
    def __init__(self, fd, clock, live=False):
        self._fd = fd
        self._now = clock.elapsed
        # A deque: appends from several threads (call_soon_threadsafe, prints) are atomic
        # and keep their order without a lock on this hot path.
        self._buffer = collections.deque()
        self._text = 0
        self._flush_lock = threading.Lock()
        self.live = live  # real clock: events go out promptly, the page streams them

    def line(self, code, *values):
        """Emit a hot event: `code` from `CODES`, then its fields' values in schema order."""
        buffer = self._buffer
        buffer.append((code, self._now(), *values))
        if len(buffer) >= _BATCH:
            self.flush()

    @property
    def hot(self):
        """(append, now) for the tracer's busiest hooks, which build wire tuples themselves and
        leave the batch check to `flush_if_full` once per callback: a method call per event
        cost more than everything else the event needs."""
        return self._buffer.append, self._now

    def flush_if_full(self):
        if len(self._buffer) >= _BATCH or self._text >= _TEXT:
            self.flush()

    def emit(self, kind, **fields):
        """Emit any event from keyword fields (for the kinds that are not hot)."""
        self._buffer.append({"t": self._now(), "kind": kind, **fields})
        text = fields.get("text")
        if text is not None:
            self._text += len(text)
        self.flush_if_full()

    def flush(self):
        with self._flush_lock:
            buffer = self._buffer
            count = len(buffer)
            if not count:
                return
            self._text = 0
            data = (_encode([buffer.popleft() for _ in range(count)]) + "\n").encode("utf-8", "surrogatepass")
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
