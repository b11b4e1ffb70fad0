"""The start of an object's repr, made without making all of it.

The trace shows a result or a queue's item by the first 200 characters of its repr. A plain run
never makes that repr; so for a list of a million numbers, or the megabytes a socket read, making
all of it cost the traced program time and memory it never spends at home (and, under the virtual
clock, time charged to the callback). For the built-in containers, strings and bytes (their exact
types: a subclass's repr is its own), this makes only as much as is shown, exactly as `repr`
writes it; any other object's repr is its own, made whole.
"""

_BRACKETS = {list: ("[", "]"), tuple: ("(", ")"), set: ("{", "}"), frozenset: ("frozenset({", "})")}
_EMPTY = {list: "[]", tuple: "()", set: "set()", frozenset: "frozenset()", dict: "{}"}
# what `repr` writes for a container met again inside itself (sets cannot be: not hashable)
_AGAIN = {list: "[...]", tuple: "(...)", dict: "{...}"}


class _Enough(Exception):
    """As much has been written as was asked for."""


class _Writer:
    __slots__ = ("parts", "left", "inside")

    def __init__(self, length):
        self.parts = []
        self.left = length
        self.inside = set()  # ids of the containers being written (`repr` writes `[...]` for one met again)

    def write(self, text):
        self.parts.append(text)
        self.left -= len(text)
        if self.left < 0:
            raise _Enough


def repr_prefix(value, length):
    """`repr(value)`, or a start of it longer than `length` characters."""
    writer = _Writer(length)
    try:
        _write(value, writer)
    except _Enough:
        pass
    return "".join(writer.parts)


def _write(value, writer):
    kind = type(value)
    if kind is str or kind is bytes:
        writer.write(_text_repr(value, writer.left + 1))
    elif kind is list or kind is tuple or kind is dict or kind is set or kind is frozenset:
        if not value:
            writer.write(_EMPTY[kind])
        elif id(value) in writer.inside:
            writer.write(_AGAIN[kind])
        else:
            writer.inside.add(id(value))
            _write_items(value, kind, writer)
            writer.inside.discard(id(value))
    else:
        writer.write(repr(value))


def _write_items(value, kind, writer):
    if kind is dict:
        writer.write("{")
        for number, (key, item) in enumerate(value.items()):
            if number:
                writer.write(", ")
            _write(key, writer)
            writer.write(": ")
            _write(item, writer)
        writer.write("}")
        return
    opening, closing = _BRACKETS[kind]
    writer.write(opening)
    for number, item in enumerate(value):
        if number:
            writer.write(", ")
        _write(item, writer)
    writer.write("," + closing if kind is tuple and len(value) == 1 else closing)


def _text_repr(text, length):
    """`repr(text)` (a str or bytes), or its start, at least `length` characters: the repr of the
    first `length` characters without its closing quote, when it quotes them as the whole is quoted
    (with `"` when there is a `'` and no `"`, as CPython's `unicode_repr` and `bytes_repr` choose)."""
    if len(text) <= length:
        return repr(text)
    start = text[:length]
    single, double = ("'", '"') if type(text) is str else (b"'", b'"')
    if (single in start and double not in start) != (single in text and double not in text):
        return repr(text)  # (quoted otherwise: rare)
    return repr(start)[:-1]
