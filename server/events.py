"""The event stream: the one definition of every event Loopscope emits.

The tracer (inside the sandbox) writes these events as JSON lines, the runner
checks them, the CLI prints them and the WebSocket forwards them unchanged.
`web/events.js` mirrors the kinds and the README documents them; tests fail
when the three disagree.

Every event carries the common fields `v` (schema version), `seq` (0, 1, 2, ...
strictly increasing within a run), `t` (loop seconds since the run started)
and `kind`. The fields listed per kind below come after those. Fields marked
optional may be missing; all other fields are always present (possibly null).

This module must import nothing outside the standard library: the sandbox
imports it too.

Between the sandboxed child and the runner, events travel in frames (see
`Decoder` and the wire section below). Everything that leaves the runner (CLI,
WebSocket) is the object form documented here.
"""

import json
import math
import re
import struct

VERSION = 1

COMMON_FIELDS = ("v", "seq", "t", "kind")

# kind -> (what it means, {field: what it holds}); a field name ending in "?"
# is optional.
KINDS = {
    "run.start": (
        "The run began: the program is about to be compiled and executed.",
        {
            "target": "scenario id or file name that runs",
            "blocking": "true when the blocking variant runs",
            "clock": "`virtual` or `real`",
            "python": "the interpreter version, e.g. `3.11.7`",
            "file": "the file name the program's lines refer to (for the CLI's file TARGET, its path as "
                    "`python TARGET` names it)",
            "threshold": "seconds a callback may hold the loop before `loop.blocked`",
        },
    ),
    "loop.iteration": (
        "One pass of the event loop (`_run_once`) begins: it polls for I/O, moves "
        "due timers to the ready queue, then runs exactly the handles that are ready "
        "at that point.",
        {"n": "iteration number, counted across the run"},
    ),
    "task.new": (
        "A task was created (its first step enters the ready queue next).",
        {
            "task": "int id, unique in the run",
            "name": "the task's name (a later `task.rename` changes it)",
            "coro": "qualified name of the task's coroutine",
            "parent": "id of the task that created it, or null",
            "line": "line in the program where it was created, or null",
            "internal": "true for tasks asyncio creates for itself (e.g. shutdown)",
        },
    ),
    "task.rename": ("A task got a new name.", {"task": "task id", "name": "the new name"}),
    "task.cancel": (
        "Someone asked a task to cancel (it ends later, when it next runs).",
        {"task": "task id", "by": "id of the requesting task, or null", "msg": "cancel message or null"},
    ),
    "handle.schedule": (
        "A callback entered the ready queue (FIFO) or the timer heap.",
        {
            "handle": "int id of this scheduling; a timer keeps its id when it becomes due",
            "queue": "`ready` or `timers`",
            "when": "loop time the timer is due; null for callbacks that never were timers",
            "task": "id of the task whose step this is, or null",
            "label": "readable name of the callback",
            "source": "`call_soon`, `threadsafe` (from another thread), `timer` (a timer "
            "became due), `io` (a file descriptor became ready) or `call_at`",
            "owner": "for a callback that resolves a future a task awaits (e.g. a "
            "sleep timer): that task's id, else null",
        },
    ),
    "handle.cancel": (
        "A scheduled callback was cancelled before it ran; it will never run.",
        {"handle": "handle id", "task": "task id or null"},
    ),
    "handle.begin": (
        "The loop started running one callback: nothing else runs until it ends.",
        {"handle": "handle id", "task": "task id or null"},
    ),
    "handle.end": (
        "The callback returned control to the loop.",
        {"handle": "handle id", "task": "task id or null", "duration": "loop seconds it held the loop"},
    ),
    "task.suspend": (
        "A task's step ended at an `await` that has to wait.",
        {
            "task": "task id",
            "line": "line in the program where it waits, or null",
            "awaiting": "readable description of what it waits for",
            "waiter": "object: `kind` (`task`, `timer`, `future`, `thread`, `io` or "
            "`none`) and, where known, `task`, `future`, `handle`, `when`",
        },
    ),
    "task.done": (
        "A task finished.",
        {
            "task": "task id",
            "state": "`result`, `exception` or `cancelled`",
            "detail": "the result's repr, the exception, or the cancel message",
            "line": "line where it raised (exceptions), or null",
        },
    ),
    "future.done": (
        "A future that somebody waits on got its result, exception or was cancelled.",
        {
            "future": "int id of the future",
            "state": "`result`, `exception` or `cancelled`",
            "detail": "readable result or exception",
            "waiters": "ids of the tasks waiting on it",
        },
    ),
    "loop.idle": (
        "Nothing is ready: the loop waits for I/O, at most until the next timer.",
        {"until": "loop time of the next timer, or null for \"until I/O\""},
    ),
    "loop.blocked": (
        "One callback held the loop longer than the threshold: no other task, timer "
        "or I/O could run meanwhile.",
        {
            "duration": "loop seconds the loop was held",
            "task": "task id or null",
            "line": "line in the program where the time was spent, or null",
            "handle": "handle id",
            "cause": "`sleep` (a `time.sleep` call) or `cpu` (code kept running)",
        },
    ),
    "loop.exception": (
        "The loop's exception handler was called (e.g. an exception in a callback, "
        "or a task exception nobody retrieved).",
        {"message": "the handler's message", "task": "task id or null", "exception": "the exception or null"},
    ),
    "stdout": (
        "The program printed (one event per line, or per flush).",
        {
            "text": "the text",
            "task": "id of the task that printed, or null",
            "stream": "`stdout`, `stderr`, or `raw` (bytes the program wrote straight to the event pipe)",
        },
    ),
    "error": (
        "The program failed: it did not compile, raised, or broke a sandbox rule. Or Loopscope's tracer "
        "did (a hook raised): then tracing stops and the program goes on.",
        {
            "message": "a plain message, e.g. `ZeroDivisionError: division by zero`",
            "line": "line in the program, or null",
            "traceback": "the program's own traceback frames (never Loopscope's), as text",
        },
    ),
    "run.end": (
        "The run is over; always the last event.",
        {
            "status": "`ok`, `error`, `timeout`, `limit` or `stopped`",
            "reason": "a plain sentence saying why it ended",
            "elapsed": "loop seconds from start to end",
        },
    ),
}

STATUSES = ("ok", "error", "timeout", "limit", "stopped")
QUEUES = ("ready", "timers")
SOURCES = ("call_soon", "threadsafe", "timer", "io", "call_at")
STATES = ("result", "exception", "cancelled")
WAITER_KINDS = ("none", "task", "timer", "future", "thread", "io")

# kind -> {field: type}, for checking what the untrusted child sends. Types: "int" (an id, line
# or counter), "number" (finite), "bool", "name" (a string the server shortens to `Limits.text`
# characters), "text" (the program's own output, kept whole and counted as output), a tuple of
# allowed values, "waiter" (the `task.suspend` object), "ints" (a list of ids). "?" after a type:
# or null.
TYPES = {
    "run.start": {"target": "name", "blocking": "bool", "clock": ("virtual", "real"), "python": "name?",
                  "file": "name", "threshold": "number"},
    "loop.iteration": {"n": "int"},
    "task.new": {"task": "int", "name": "name", "coro": "name", "parent": "int?", "line": "int?",
                 "internal": "bool"},
    "task.rename": {"task": "int", "name": "name"},
    "task.cancel": {"task": "int", "by": "int?", "msg": "name?"},
    "handle.schedule": {"handle": "int", "queue": QUEUES, "when": "number?", "task": "int?", "label": "name",
                        "source": SOURCES, "owner": "int?"},
    "handle.cancel": {"handle": "int", "task": "int?"},
    "handle.begin": {"handle": "int", "task": "int?"},
    "handle.end": {"handle": "int", "task": "int?", "duration": "number"},
    "task.suspend": {"task": "int", "line": "int?", "awaiting": "name", "waiter": "waiter"},
    "task.done": {"task": "int", "state": STATES, "detail": "name?", "line": "int?"},
    "future.done": {"future": "int", "state": STATES, "detail": "name?", "waiters": "ints"},
    "loop.idle": {"until": "number?"},
    "loop.blocked": {"duration": "number", "task": "int?", "line": "int?", "handle": "int",
                     "cause": ("sleep", "cpu")},
    "loop.exception": {"message": "name", "task": "int?", "exception": "name?"},
    "stdout": {"text": "text", "task": "int?", "stream": ("stdout", "stderr", "raw")},
    "error": {"message": "name", "line": "int?", "traceback": "text?"},
    "run.end": {"status": STATUSES, "reason": "name", "elapsed": "number"},
}
assert {kind: set(fields) for kind, (_, fields) in KINDS.items()} == {k: set(f) for k, f in TYPES.items()}
_MAX_INT = 2**53  # what a page's JavaScript still reads exactly


def _is_int(value):
    return type(value) is int and -_MAX_INT < value < _MAX_INT


def _is_number(value):
    return (type(value) is float and value - value == 0) or _is_int(value)


class Checker:
    """Checks events from the child against `TYPES` and makes them safe to send: strings that are
    names (labels, reprs, ...) are cut to `limit` characters, with the full length noted, and
    lone surrogates (which no UTF-8 text can carry) become U+FFFD. `text_size` adds up the
    characters of the program's output that passed (for the run's output limit)."""

    def __init__(self, limit):
        self.limit = limit
        self.text_size = 0
        self._plans = {kind: tuple((name, type_.rstrip("?") if isinstance(type_, str) else type_,
                                    isinstance(type_, str) and type_.endswith("?"))
                                   for name, type_ in fields.items()) for kind, fields in TYPES.items()}

    def check(self, event):
        """The event made safe to send, or None when it does not fit the schema."""
        if type(event) is not dict:
            return None
        plan = self._plans.get(event.get("kind"))
        if plan is None or len(event) != len(plan) + len(COMMON_FIELDS) or not _is_number(event.get("t")):
            return None
        for name, type_, nullable in plan:
            if name not in event:
                return None
            value = event[name]
            if value is None:
                if nullable:
                    continue
                return None
            if type_ == "name" or type_ == "text":
                if type(value) is not str:
                    return None
                if not value.isascii():
                    value = event[name] = _clean(value)
                if type_ == "text":
                    self.text_size += len(value)
                elif len(value) > self.limit:
                    event[name] = f"{value[:self.limit]}… ({len(value):,} characters)"
            elif type_ == "int":
                if not _is_int(value):
                    return None
            elif type_ == "number":
                if not _is_number(value):
                    return None
            elif type_ == "bool":
                if type(value) is not bool:
                    return None
            elif type_ == "waiter":
                if not _is_waiter(value):
                    return None
            elif type_ == "ints":
                if type(value) is not list or not all(_is_int(item) for item in value):
                    return None
            elif value not in type_ or type(value) is not str:
                return None
        return event


_SURROGATE = re.compile("[\ud800-\udfff]")


_TYPE_CHECK = Checker(math.inf)


def _clean(text):
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


def _is_waiter(value):
    if type(value) is not dict or value.get("kind") not in WAITER_KINDS or type(value["kind"]) is not str:
        return False
    for key, item in value.items():
        if key == "when":
            if not _is_number(item):
                return False
        elif key != "kind" and (key not in ("task", "future", "handle") or not _is_int(item)):
            return False
    return True


def required_fields(kind):
    """The fields an event of `kind` must carry (common ones included)."""
    fields = KINDS[kind][1]
    return COMMON_FIELDS + tuple(name for name in fields if not name.endswith("?"))


def problems(event):
    """Why `event` does not fit the schema (an empty list when it does)."""
    if not isinstance(event, dict):
        return ["an event must be a JSON object"]
    kind = event.get("kind")
    if kind not in KINDS:
        return [f"unknown kind {kind!r}"]
    allowed = set(COMMON_FIELDS) | {name.rstrip("?") for name in KINDS[kind][1]}
    found = [f"missing field {name!r}" for name in required_fields(kind) if name not in event]
    found += [f"unexpected field {name!r}" for name in event if name not in allowed]
    if not found and _TYPE_CHECK.check(dict(event)) is None:
        found.append("a field's value is not of its type (see TYPES)")
    return found


CODES = {kind: code for code, kind in enumerate(KINDS)}

# -- the wire between the sandboxed child and the runner ---------------------------------
#
# The child writes frames: a type byte, the payload's length (4 bytes, little-endian),
# the payload. A `J` frame's payload is a JSON list whose items are:
# - an object with `t`, `kind` and the fields: one event;
# - an object `{"string": id, "text": ...}`: defines a string id used by packed events;
# - an object `{"origin": seconds}` (first): the loop time the run started at.
# A `P` frame's payload is packed records, one after another (little-endian, no padding):
# - an event: a code byte, the loop time (`t` is that minus the origin) and its fields as
#   `PACKED` lays them out;
# - a string definition (the same as the JSON item): the byte `STRING_CODE`, the id, the
#   text's length in bytes, the text in UTF-8 (`STRING_HEAD`).
# Frames keep the order the events happened in.
# The busiest kinds (several per callback) travel packed: the child builds each with one
# `struct.pack` call, where turning it into JSON cost several times more than the
# callback it describes, and sends the bytes as they are (text encodings of them, e.g.
# base64, cost the child a noticeable share too). The runner turns everything back into
# the documented objects.

FRAME = struct.Struct("<cI")  # frame type, payload length
JSON_FRAME, PACKED_FRAME = b"J", b"P"
MAX_FRAME = 8 * 1024 * 1024  # bytes of payload in one frame at most


STRING_CODE = 255  # never an event's code
STRING_HEAD = struct.Struct("<BII")  # STRING_CODE, string id, length of the UTF-8 text that follows


def frame(kind, payload):
    return FRAME.pack(kind, len(payload)) + payload


NULL_INT = 0  # packed ints are ids, line numbers and counters (unsigned, 32 bits): never 0, so 0 means null
ENUMS = {"queue": QUEUES, "source": SOURCES, "waiter": WAITER_KINDS, "state": STATES, "bool": (False, True)}
# kind -> its fields as (name, type): "i" int (0 = null), "f" float (NaN = null), "s" a
# string id, or an `ENUMS` name (sent as its index). "waiter.x" fields make up the
# `waiter` object (`waiter.kind` always; the others where not null).
PACKED = {
    "handle.schedule": (("handle", "i"), ("queue", "queue"), ("when", "f"), ("task", "i"), ("label", "s"),
                        ("source", "source"), ("owner", "i")),
    "handle.cancel": (("handle", "i"), ("task", "i")),
    "handle.begin": (("handle", "i"), ("task", "i")),
    "handle.end": (("handle", "i"), ("task", "i"), ("duration", "f")),
    "task.suspend": (("task", "i"), ("line", "i"), ("awaiting", "s"), ("waiter.kind", "waiter"),
                     ("waiter.task", "i"), ("waiter.future", "i"), ("waiter.handle", "i"), ("waiter.when", "f")),
    "loop.iteration": (("n", "i"),),
    # once per task, but a program may make thousands: JSON for each cost a callback's worth
    "task.new": (("task", "i"), ("name", "s"), ("coro", "s"), ("parent", "i"), ("line", "i"), ("internal", "bool")),
    "task.done": (("task", "i"), ("state", "state"), ("detail", "s"), ("line", "i")),
    "loop.idle": (("until", "f"),),
    # Wire only. "a+b": a task step that ended at an `await` (most callbacks) is two events,
    # sent as one. "kind:variant": the usual case of a kind, without the fields that
    # WIRE_DEFAULTS fills in (every byte here is written by the tracer, which shows in the cost).
    "task.suspend+handle.end": (("handle", "i"), ("task", "i"), ("duration", "f"), ("line", "i"), ("awaiting", "s"),
                                ("waiter.kind", "waiter"), ("waiter.task", "i"), ("waiter.future", "i"),
                                ("waiter.handle", "i"), ("waiter.when", "f")),
    "task.suspend+handle.end:no-waiter": (("handle", "i"), ("task", "i"), ("duration", "f"), ("line", "i"),
                                          ("awaiting", "s")),
    "handle.schedule:step": (("handle", "i"), ("task", "i"), ("label", "s"), ("source", "source")),
}
WIRE_DEFAULTS = {
    "task.suspend+handle.end:no-waiter": {"waiter": {"kind": "none"}},
    "handle.schedule:step": {"queue": "ready", "when": None, "owner": None},
}
WIRE_CODES = {**CODES, **{name: len(KINDS) + i for i, name in enumerate(name for name in PACKED if name not in KINDS)}}
_STRUCT_TYPES = {"i": "I", "f": "d", "s": "I"}  # ids, lines and counters fit 32 bits


def packer(name):
    """The `struct.Struct` for one packed event `name`: code byte, `t`, then its fields."""
    return struct.Struct("<Bd" + "".join(_STRUCT_TYPES.get(type_, "B") for _, type_ in PACKED[name]))


def enum_index(name, value):
    return ENUMS[name].index(value)


class FrameTooLarge(ValueError):
    """A frame longer than `MAX_FRAME`: the child is not sending events (or far too many at once)."""


class TooManyEvents(ValueError):
    """A frame of JSON with more objects than the run may still send (it is not read at all)."""


class TooDeep(ValueError):
    """A frame of JSON nested deeper than any event is: the child is not sending events."""


def _no_constant(name):
    raise ValueError(f"{name} is not JSON")  # NaN, Infinity: Python's json reads them, strict JSON has none


def _finite(text):
    value = float(text)
    if value - value != 0:  # 1e999 reads as infinity
        raise ValueError(f"{text} is not a finite number")
    return value


class Decoder:
    """Turns the child's frames back into events; keeps the string ids of one run.

    The child is untrusted: what is not a frame at all, from the first bad byte on, comes
    back as bytes (to show as raw output); a frame's item that is not a valid event, as None.
    """

    def __init__(self):
        self._strings = {}
        self._origin = 0.0
        self._buffer = bytearray()
        self._lost = False  # bytes came that are not a frame: the rest cannot be told apart
        self.string_size = 0  # bytes of the strings the child defined (they count as output too)
        self._layouts = {}
        for name, fields in PACKED.items():
            self._layouts[WIRE_CODES[name]] = (name.partition(":")[0], packer(name), _plan(fields),
                                               WIRE_DEFAULTS.get(name))

    @property
    def lost(self):
        """Bytes came that were not a frame: nothing after them can be read as events."""
        return self._lost

    def feed(self, data, limit=None):
        """The events in the frames `data` completes: dicts, None for each invalid item, and
        bytes for data that is not framed. Raises FrameTooLarge and TooDeep.

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
                    self._strings[item["string"]] = item["text"]
                    self.string_size += len(item["text"])
                else:
                    out.append(None)
            elif set(item) == {"origin"}:
                if type(item["origin"]) is float and math.isfinite(item["origin"]):
                    self._origin = item["origin"]
                else:
                    out.append(None)
            else:
                out.append({"v": VERSION, "seq": 0, **item})
        return out

    def _unpack(self, data, limit):
        out, pos, end = [], 0, len(data)
        while pos < end and len(out) < limit:
            layout = self._layouts.get(data[pos])
            if layout is None:
                if data[pos] != STRING_CODE or pos + STRING_HEAD.size > end:
                    return out + [None]
                _, sid, size = STRING_HEAD.unpack_from(data, pos)
                pos += STRING_HEAD.size + size
                if pos > end:
                    return out + [None]
                try:
                    self._strings[sid] = data[pos - size:pos].decode("utf-8", "surrogatepass")
                except UnicodeDecodeError:
                    return out + [None]
                self.string_size += size
                continue
            name, layout_struct, fields, defaults = layout
            if pos + layout_struct.size > end:
                return out + [None]
            values = layout_struct.unpack_from(data, pos)
            pos += layout_struct.size
            event = self._event(name, values, fields)
            if event is None:
                return out + [None]
            if defaults:
                for key, value in defaults.items():
                    event[key] = dict(value) if type(value) is dict else value
            if "+" in name:
                out.extend(_split(event, name))
            else:
                out.append(event)
        return out

    def _event(self, kind, values, plan):
        names, ints, floats, texts, enums, waiter_keys = plan
        t = values[1]
        if t - t != 0:  # infinite or NaN
            return None
        event = {"v": VERSION, "seq": 0, "t": t - self._origin, "kind": kind}
        event.update(zip(names, values[2:]))
        for name in ints:
            if event[name] == NULL_INT:
                event[name] = None
        for name in floats:
            value = event[name]
            if value != value:  # NaN: null
                event[name] = None
            elif value - value != 0:
                return None
        strings = self._strings
        for name in texts:
            value = strings.get(event[name])
            if value is None:
                return None
            event[name] = value
        for name, choices in enums:
            if event[name] >= len(choices):
                return None
            event[name] = choices[event[name]]
        if waiter_keys:
            waiter = event["waiter"] = {}
            for key, name in waiter_keys:
                value = event.pop(name)
                if value is not None:
                    waiter[key] = value
        return event


def _plan(fields):
    """How `Decoder._event` turns one layout's values into fields: (names, int fields, float
    fields, string fields, (enum field, its choices), (waiter key, field))."""
    names = tuple(name for name, _ in fields)
    of_type = lambda wanted: tuple(name for name, type_ in fields if type_ == wanted)  # noqa: E731
    enums = tuple((name, ENUMS[type_]) for name, type_ in fields if type_ in ENUMS)
    waiter = tuple((name.partition(".")[2], name) for name in names if name.startswith("waiter."))
    return names, of_type("i"), of_type("f"), of_type("s"), enums, waiter


def _split(fused, name):
    """The events a wire-only fused record stands for, each with the fields its kind has."""
    out = []
    for kind in name.split("+"):
        event = {"v": VERSION, "seq": 0, "t": fused["t"], "kind": kind}
        for field in KINDS[kind][1]:
            field = field.rstrip("?")
            if field in fused:
                event[field] = fused[field]
        out.append(event)
    return out


def markdown_table():
    """The README's event table, generated from KINDS (a test keeps the README in step)."""
    rows = ["| kind | meaning | fields |", "| --- | --- | --- |"]
    for kind, (meaning, fields) in KINDS.items():
        listed = "; ".join(f"`{name.rstrip('?')}`{' (optional)' if name.endswith('?') else ''}: {text}"
                           for name, text in fields.items())
        rows.append(f"| `{kind}` | {meaning} | {listed.replace('|', '/')} |")
    return "\n".join(rows) + "\n"
