"""Buffers events and writes them to the event pipe in batches.

The busiest kinds (see `server.wire.PACKED`) are packed with `struct` the
moment they happen, straight onto the end of one growing buffer; the rest are
dicts. A batch is a few frames (`server.events.wire` documents it): each run
of dicts one JSON list, each run of packed events their bytes as they are.
Turning each event into JSON in Python, or even with the C encoder, cost more
than the callback it described; the runner, in another process, does the
unpacking and checking. (Keeping each packed event as its own bytes object and
joining them at the batch's end cost a third of the tracer's cache misses with
a thousand tasks: by then they were scattered and cold. One buffer stays hot.)
"""

import itertools
import json
import os
import threading
import time

from ..events import wire

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode

BATCH = 1024  # events sent as JSON per batch at most (packed ones are counted in bytes: _PACKED)
_PACKED = 32 * 1024  # bytes of packed events per batch at most (about a thousand events)
# The packed buffer starts with this many bytes that are never sent: with them, taking the
# events out never shrinks the buffer's memory (CPython frees a bytearray's spare room once
# it is less than half full), so it does not grow back by reallocating, which moved and
# copied it over and over. Events between two checks of the batch size take less.
_FLOOR = 1024 * 1024
_IOV_MAX = 512  # buffers per os.writev, well under every system's limit
_TEXT = 256 * 1024  # characters of printed text per batch at most
_perf = time.perf_counter  # the real one (the program's may be virtual)
_STRING_HEAD = wire.STRING_HEAD.pack


class Emitter:
    def __init__(self, fd, clock, live=False):
        self._fd = fd
        self._clock = clock
        # Packed events not yet sealed into an item, one after another. A bytearray: appends
        # from several threads (call_soon_threadsafe, worker prints) are atomic and keep their
        # order. The tracer's busiest hooks extend it directly; its length is checked (_PACKED)
        # on the tracer's colder paths and once per loop iteration.
        self.pending = bytearray(_FLOOR)
        self.hot = self.pending.extend
        self._items = [{"origin": float(clock.origin)}]
        self._sealed = 0  # dicts in self._items
        self._sealed_bytes = 0  # bytes of packed events in self._items
        self._text = 0
        # Seconds spent emitting events that are not packed, and writing batches: the
        # tracer takes them out of a callback's measured time, so its own cost never
        # makes a callback look blocking.
        self.spent = 0.0
        self._strings = {}
        # String ids, each taken in one step: a signal handler that prints while one is being defined
        # (same thread: the lock lets it in) must not take the same id.
        self._string_ids = itertools.count(1)
        self._lock = threading.RLock()
        self.live = live  # real clock: events go out promptly, the page streams them
        self._packers = {wire.WIRE_CODES[name]: wire.packer(name).pack for name in wire.PACKED}

    def line(self, code, *values):
        """Emit a packed event from its code and field values (already in wire form)."""
        self.hot(self._packers[code](code, self._clock.peek(), *values))
        self.flush_if_full()

    def string(self, text):
        """The id of `text` for packed events; defined on the wire the first time it is used."""
        sid = self._strings.get(text)
        if sid is None:
            with self._lock:
                sid = self._strings.get(text)
                if sid is None:
                    sid = next(self._string_ids)
                    encoded = text.encode("utf-8", "surrogatepass")
                    self.hot(_STRING_HEAD(wire.STRING_CODE, sid, len(encoded)) + encoded)
                    self._strings[text] = sid
            self.flush_if_full()
        return sid

    def flush_if_full(self):
        if len(self.pending) + self._sealed_bytes >= _FLOOR + _PACKED or self._sealed >= BATCH or self._text >= _TEXT:
            self.flush()

    def emit(self, kind, **fields):
        """Emit any event from keyword fields (for the kinds that are not packed)."""
        start = _perf()
        event = {"t": self._clock.elapsed(), "kind": kind, **fields}
        with self._lock:
            self._seal()
            self._items.append(event)
            self._sealed += 1
        text = fields.get("text")
        if text is not None:
            self._text += len(text)
        self.spent += _perf() - start
        self.flush_if_full()

    def _seal(self):
        """Packed events so far become one item, keeping their place among the others."""
        packed = self.pending
        end = len(packed)
        if end > _FLOOR:
            chunk = packed[_FLOOR:end]
            del packed[_FLOOR:end]  # others may have appended meanwhile: only what was taken goes
            self._items.append(chunk)
            self._sealed_bytes += len(chunk)

    def flush(self):
        start = _perf()
        try:
            self._flush()
        finally:
            self.spent += _perf() - start

    def _flush(self):
        with self._lock:
            self._seal()
            items = self._items
            if not items:
                return
            self._items = []
            self._sealed = self._sealed_bytes = 0
            self._text = 0
            frames, objects = [], []
            for item in items:
                if type(item) is bytearray:
                    if objects:
                        frames.append(_json_frame(objects))
                        objects = []
                    frames.append(wire.FRAME.pack(wire.PACKED_FRAME, len(item)))
                    frames.append(item)
                else:
                    objects.append(item)
            if objects:
                frames.append(_json_frame(objects))
            _write_all(self._fd, frames)


def _write_all(fd, buffers):
    """Write `buffers` one after another, without first copying them into one (unless the pipe
    takes only part of them)."""
    written = os.writev(fd, buffers) if len(buffers) <= _IOV_MAX else 0
    if written == sum(map(len, buffers)):
        return
    view = memoryview(b"".join(buffers))[written:]
    while view:
        view = view[os.write(fd, view):]


def _json_frame(objects):
    return wire.frame(wire.JSON_FRAME, _encode(objects).encode("utf-8", "surrogatepass"))
