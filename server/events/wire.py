"""The wire between the sandboxed child and the runner: frames, packed records, the decoder.

Private to Loopscope (the child and the runner are always of one version); what
leaves the runner is the schema's object form (`schema.py`). The packed layouts are
derived from `schema.TYPES`, so a field added there travels packed without another edit.

The child writes frames: a type byte, the payload's length (4 bytes, little-endian),
the payload. A `J` frame's payload is a JSON list whose items are:
- an object with `t`, `kind` and the fields: one event;
- an object `{"string": id, "text": ...}`: defines a string id used by packed events;
- an object `{"origin": seconds}` (first): the loop time the run started at.
A `P` frame's payload is packed records, one after another (little-endian, no padding):
- an event: a code byte, the loop time (`t` is that minus the origin) and its fields as
  `PACKED` lays them out;
- a string definition (the same as the JSON item): the byte `STRING_CODE`, the id, the
  text's length in bytes, the text in UTF-8 (`STRING_HEAD`).
Frames keep the order the events happened in.
The busiest kinds (several per callback) travel packed: the child builds each with one
`struct.pack` call, where turning it into JSON cost several times more than the
callback it describes, and sends the bytes as they are (text encodings of them, e.g.
base64, cost the child a noticeable share too). The runner turns everything back into
the documented objects.
This module imports nothing outside the standard library: the sandbox imports it too.
"""

import json
import math
import re
import struct

from .records import compile_decoder
from .schema import KINDS, QUEUES, SOURCES, STATES, TYPES, VERSION, WAITER_KINDS, clean, shorten

_STRING_COST = 64  # bytes the runner spends keeping one string, besides its text

CODES = {kind: code for code, kind in enumerate(KINDS)}

FRAME = struct.Struct("<cI")  # frame type, payload length
JSON_FRAME, PACKED_FRAME = b"J", b"P"
MAX_FRAME = 8 * 1024 * 1024  # bytes of payload in one frame at most


STRING_CODE = 255  # never an event's code
STRING_HEAD = struct.Struct("<BII")  # STRING_CODE, string id, length of the UTF-8 text that follows


def frame(kind, payload):
    return FRAME.pack(kind, len(payload)) + payload


NULL_INT = 0  # packed ints are ids, line numbers and counters (unsigned, 32 bits): never 0, so 0 means null
ENUMS = {"queue": QUEUES, "source": SOURCES, "waiter": WAITER_KINDS, "state": STATES, "bool": (False, True)}
# The kinds that travel packed, and wire-only records: "a+b" is a task step that ended at an
# `await` (most callbacks), two events sent as one; "kind:variant" is the usual case of a kind,
# without the fields its WIRE_DEFAULTS fill in (every byte here is written by the tracer,
# which shows in the cost). `task.new` and `task.done` come once per task, but a program may
# make thousands: JSON for each cost a callback's worth.
PACKED_KINDS = ("handle.schedule", "handle.cancel", "handle.begin", "handle.end", "task.suspend", "loop.iteration",
                "task.new", "task.done", "loop.idle")
WIRE_DEFAULTS = {
    "task.suspend+handle.end": {},
    "task.suspend+handle.end:no-waiter": {"waiter": {"kind": "none"}},
    "handle.schedule:step": {"queue": "ready", "when": None, "owner": None},
}
# How a schema type travels: "i" an int, "f" a float, "s" a string id, with "?" where the field
# may be null ("i?", "s?": 0, never an id; "f?": NaN), or an `ENUMS` name (its index). A
# `waiter` is its fields "waiter.x" (`waiter.kind` always; the others where not null).
_WIRE_TYPES = {"int": "i", "number": "f", "name": "s", "bool": "bool", QUEUES: "queue", SOURCES: "source",
               STATES: "state"}
_WAITER_FIELDS = (("waiter.kind", "waiter"), ("waiter.task", "i?"), ("waiter.future", "i?"), ("waiter.handle", "i?"),
                  ("waiter.when", "f?"))


def _layout(name):
    """(field, wire type) of one packed record, in the order it is packed: a fused record's
    events' fields, the last event's first, each field once (null only where every one of its
    events allows null: `handle.end`'s task may be, `task.suspend`'s not); without a variant's
    defaults."""
    kinds, _, _ = name.partition(":")
    skip = set(WIRE_DEFAULTS.get(name, {}))
    fields = {}
    for kind in reversed(kinds.split("+")):
        for field, type_ in TYPES[kind].items():
            if field in skip:
                continue
            if type_ == "waiter":
                fields.update(_WAITER_FIELDS)
                continue
            if isinstance(type_, str):
                wire_type = _WIRE_TYPES[type_.rstrip("?")]
                if type_.endswith("?") and wire_type in ("i", "f", "s"):
                    wire_type += "?"
            else:
                wire_type = _WIRE_TYPES[type_]
            if field not in fields or not wire_type.endswith("?"):
                fields[field] = wire_type
    return tuple(fields.items())


PACKED = {name: _layout(name) for name in PACKED_KINDS + tuple(WIRE_DEFAULTS)}
WIRE_CODES = {**CODES, **{name: len(KINDS) + i for i, name in enumerate(WIRE_DEFAULTS)}}
_STRUCT_TYPES = {"i": "I", "i?": "I", "f": "d", "f?": "d", "s": "I", "s?": "I"}  # ids, lines and counters fit 32 bits


def packer(name):
    """The `struct.Struct` for one packed event `name`: code byte, `t`, then its fields."""
    return struct.Struct("<Bd" + "".join(_STRUCT_TYPES.get(type_, "B") for _, type_ in PACKED[name]))


def _decoders():
    """For each byte a record may begin with: (decode function, record size) of its layout, or None."""
    table = [None] * 256
    for name, fields in PACKED.items():
        struct_ = packer(name)
        table[WIRE_CODES[name]] = (compile_decoder(name, fields, struct_.unpack_from, WIRE_DEFAULTS.get(name), ENUMS),
                                   struct_.size)
    return tuple(table)


_DECODERS = _decoders()


def enum_index(name, value):
    return ENUMS[name].index(value)


class FrameTooLarge(ValueError):
    """A frame longer than `MAX_FRAME`: the child is not sending events (or far too many at once)."""


class TooManyEvents(ValueError):
    """A frame of JSON with more objects than the run may still send (it is not read at all)."""


class TooManyStrings(ValueError):
    """The strings the child defined went past `Decoder.string_limit` (they count as its output)."""


class TooDeep(ValueError):
    """A frame of JSON nested deeper than any event is: the child is not sending events."""


def _no_constant(name):
    raise ValueError(f"{name} is not JSON")  # NaN, Infinity: Python's json reads them, strict JSON has none


def _finite(text):
    value = float(text)
    if value - value != 0:  # 1e999 reads as infinity
        raise ValueError(f"{text} is not a finite number")
    return value


# A JSON frame is parsed in one go, holding the GIL, and each value becomes an object: what an
# untrusted frame may hold is counted before. A frame of 8 MiB of `[[]],` took the server 1.7 s
# and 230 MB to parse; its skeleton counts in about 50 ms. An event has about a dozen values.
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_SCAN_FROM = 64 * 1024  # smaller frames cannot hold enough to matter
_VALUES_PER_EVENT = 32


def _values(payload):
    """How many values a JSON text holds, at most: its commas and containers outside strings."""
    skeleton = _STRING.sub(b"", payload)
    return skeleton.count(b",") + skeleton.count(b"[") + skeleton.count(b"{") + 1


class Unchecked(dict):
    """An event as a JSON frame carried it: not checked against the schema yet (a packed
    record's event is a plain dict, checked as it was decoded)."""


class Decoder:
    """Turns the child's frames back into events; keeps the string ids of one run.

    The child is untrusted: what is not a frame at all, from the first bad byte on, comes
    back as bytes (to show as raw output); a frame's item that is not a valid event, as None;
    an item of a JSON frame, as `Unchecked` (for `schema.Checker`).
    """

    def __init__(self):
        self._strings = {}
        self._sizes = {}  # string id -> bytes of its text in UTF-8
        self.sent_size = 0  # bytes of the strings packed events carried (see schema.Checker.sent_size)
        self._origin = 0.0
        self._buffer = bytearray()
        self._lost = False  # bytes came that are not a frame: the rest cannot be told apart
        self.string_size = 0  # bytes of the strings the child defined, and what keeping each costs
        self.string_limit = math.inf  # past this, TooManyStrings
        self.name_limit = None  # strings are kept cut to this many characters (all of them are names)
        self._decoders = _DECODERS

    @property
    def lost(self):
        """Bytes came that were not a frame: nothing after them can be read as events."""
        return self._lost

    def feed(self, data, limit=None):
        """The events in the frames `data` completes: dicts, None for each invalid item, and
        bytes for data that is not framed. Raises FrameTooLarge, TooDeep and TooManyStrings.

        With a `limit`, decoding stops once there are more than `limit` items (the run is
        over then): a hostile child's frame of packed events decodes to its first few, and one
        of JSON with too many objects raises TooManyEvents, instead of taking the runner's
        time and memory for up to `MAX_FRAME` bytes' worth of events."""
        budget = math.inf if limit is None else limit + 1
        if self._lost:
            return [bytes(data)] if data else []
        buffer = self._buffer
        buffer += data
        out, pos, end = [], 0, len(buffer)
        while end - pos >= FRAME.size:
            kind, size = FRAME.unpack_from(buffer, pos)
            if kind != JSON_FRAME and kind != PACKED_FRAME:
                self._lost = True
                out.append(bytes(buffer[pos:]))
                pos = end
                break
            if size > MAX_FRAME:
                raise FrameTooLarge(f"a frame of {size:,} bytes")
            start = pos + FRAME.size
            if end - start < size:
                break
            payload = bytes(buffer[start:start + size])
            pos = start + size
            left = budget - len(out)
            out.extend(self._decode_json(payload, left) if kind == JSON_FRAME else self._unpack(payload, left))
            if len(out) >= budget:
                break
        del buffer[:pos]
        return out

    def _decode_json(self, payload, limit):
        if limit < math.inf and len(payload) > _SCAN_FROM and _values(payload) > _VALUES_PER_EVENT * (limit + 1):
            raise TooManyEvents(f"more values than {limit:,} events hold in one frame")
        objects = 0

        def counted(obj):  # (an event has at most one object inside it, its waiter)
            nonlocal objects
            objects += 1
            if objects > 2 * limit + 1:
                raise TooManyEvents(f"more than {limit:,} events in one frame")
            return obj

        try:
            batch = json.loads(payload, object_hook=counted if limit < math.inf else None,
                               parse_constant=_no_constant, parse_float=_finite)
        except RecursionError:
            raise TooDeep("a frame of JSON nested too deeply") from None
        except ValueError as exc:
            if isinstance(exc, TooManyEvents):
                raise
            return [None]
        if not isinstance(batch, list):
            return [None]
        out = []
        for item in batch:
            if not isinstance(item, dict):
                out.append(None)
            elif "kind" not in item and set(item) == {"string", "text"}:
                if type(item["string"]) is int and isinstance(item["text"], str):
                    self._define(item["string"], item["text"], len(item["text"]))
                else:
                    out.append(None)
            elif set(item) == {"origin"}:
                if type(item["origin"]) is float and math.isfinite(item["origin"]):
                    self._origin = item["origin"]
                else:
                    out.append(None)
            else:
                out.append(Unchecked(v=VERSION, seq=0, **item))
        return out

    def _define(self, sid, text, size):
        # What a string costs the runner to keep counts, not only its bytes: a flood of empty ones
        # costs memory too (a dict entry each).
        self.string_size += size + _STRING_COST
        if self.string_size > self.string_limit:
            raise TooManyStrings(f"more than {self.string_limit:,} bytes of strings")
        text = clean(text if self.name_limit is None else shorten(text, self.name_limit))
        self._strings[sid] = text
        self._sizes[sid] = len(text) if text.isascii() else len(text.encode("utf-8"))

    def _unpack(self, data, limit):
        out, pos, end = [], 0, len(data)
        decoders, strings, sizes, origin = self._decoders, self._strings, self._sizes, self._origin
        sent = 0
        try:
            while pos < end and len(out) < limit:
                decoder = decoders[data[pos]]
                if decoder is None:
                    if data[pos] != STRING_CODE or pos + STRING_HEAD.size > end:
                        return out + [None]
                    _, sid, size = STRING_HEAD.unpack_from(data, pos)
                    pos += STRING_HEAD.size + size
                    if pos > end:
                        return out + [None]
                    try:
                        text = data[pos - size:pos].decode("utf-8", "surrogatepass")
                    except UnicodeDecodeError:
                        return out + [None]
                    self._define(sid, text, size)  # (into `strings` and `sizes`)
                    continue
                decode, size = decoder
                if pos + size > end:
                    return out + [None]
                carried = decode(data, pos, origin, strings, sizes, out)
                if carried < 0:
                    return out + [None]
                sent += carried
                pos += size
            return out
        finally:
            self.sent_size += sent


def round_times(event):
    """An event's times rounded to microseconds: plenty for people, and it keeps the virtual
    clock's nanosecond ticks out of sight (packed events are rounded as they are decoded)."""
    for key in _TIMES:
        value = event.get(key)
        if type(value) is float:
            event[key] = round(value, 6)
    waiter = event.get("waiter")
    if type(waiter) is dict and type(waiter.get("when")) is float:
        waiter["when"] = round(waiter["when"], 6)


_TIMES = ("t", "duration", "when", "until", "elapsed")
