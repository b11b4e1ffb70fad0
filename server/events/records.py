"""One decode function per packed record layout, written out as Python source once, at import.

A packed record's event fits the schema by construction (its layout is the schema's, see
`wire.PACKED`), so it needs no `schema.Checker` pass: what the types cannot rule out is
checked here — a null where the field takes none, a float that is not finite, an undefined
string id, an enum index past its choices. Times are rounded as `wire.round_times` does;
strings were cut and cleaned when defined, and what an event carries of them counts towards
the decoder's `sent_size`.

Why generated: a loop over a layout's fields, by wire type, cost about 2.5 µs per event, the
largest share of the parent's time per event (bench/path.py); the same checks written out
field by field, with the event built as one dict display, cost a fraction of that. The source
is made of the schema's own names (`repr` of each) and this module's templates only: nothing
the child sends becomes code.

This module imports nothing outside the standard library: the sandbox imports it too.
"""

from .schema import KINDS, VERSION

# A decode function: `decode(data, pos, origin, strings, sizes, out)` unpacks the record at
# `pos`, appends its event(s) to `out` and returns the bytes of strings they carry, or -1 when
# the record is refused (nothing is appended then).
_HEAD = "def decode(data, pos, origin, strings, sizes, out):\n    _, t, {names} = unpack_from(data, pos)\n"
# `round(x, 6)` parses and prints decimal digits (about 3,000 instructions, a quarter of an event's
# decoding); for a time from a microsecond to 8,589 s whose millionths are not within 1e-6 of a
# half, the nearest integer n of y = x * 1e6 is that of x's exact value in millionths (y is off by
# at most 2**-21 there), and n / 1e6, one correctly rounded division, is the double nearest to
# n millionths: what `round` returns. Zero stays as it is (so does -0.0, as with `round`).
_ROUND = """\
{i}y = {v} * 1e6
{i}if 1.0 <= y < 8589934592.0:
{i}    n = int(y)
{i}    if y - n < 0.499999:
{i}        {v} = n / 1e6
{i}    elif y - n > 0.500001:
{i}        {v} = (n + 1) / 1e6
{i}    else:
{i}        {v} = round({v}, 6)
{i}elif y != 0.0:
{i}    {v} = round({v}, 6)
"""
_CHECKS = {
    "i": "    if {v} == 0:\n        return -1\n",  # 0 is null (wire.NULL_INT): never an id, a line or a count
    "i?": "    if {v} == 0:\n        {v} = None\n",
    "f": "    if {v} - {v} != 0:\n        return -1\n" + _ROUND.replace("{i}", "    "),  # NaN or infinite
    "f?": ("    if {v} != {v}:\n        {v} = None\n    elif {v} - {v} != 0:\n        return -1\n"
           "    else:\n" + _ROUND.replace("{i}", "        ")),  # NaN: null
    "s": ("    text = strings.get({v})\n    if text is None:\n        return -1\n"
          "    sent += sizes[{v}]\n    {v} = text\n"),
    "s?": ("    if {v} == 0:\n        {v} = None\n    else:\n        text = strings.get({v})\n"
           "        if text is None:\n            return -1\n        sent += sizes[{v}]\n        {v} = text\n"),
    "enum": "    if {v} >= {count}:\n        return -1\n    {v} = {choices}[{v}]\n",
}


def compile_decoder(name, fields, unpack_from, defaults, enums):
    """The decode function of the packed record `name` ("kind", "kind:variant" or "a+b"), whose
    `fields` are (field, wire type) in packed order, unpacked by `unpack_from`; `defaults` fill
    in a variant's fields; `enums` are wire.ENUMS."""
    local = {field: f"a{i}" for i, (field, _) in enumerate(fields)}
    body = [_HEAD.format(names=", ".join(local.values()) + ("," if len(fields) == 1 else "")),
            "    t -= origin\n" + _CHECKS["f"].format(v="t") + "    sent = 0\n"]
    namespace = {"unpack_from": unpack_from}
    for field, wire_type in fields:
        if wire_type in enums:
            choices = namespace[f"choices_{local[field]}"] = tuple(enums[wire_type])
            body.append(_CHECKS["enum"].format(v=local[field], count=len(choices), choices=f"choices_{local[field]}"))
        else:
            body.append(_CHECKS[wire_type].format(v=local[field]))
    waiter = [field for field, _ in fields if field.startswith("waiter.")]
    if waiter:  # an object of the fields that are not null (its kind never is)
        body.append("    waiter = {" + f"{waiter[0].partition('.')[2]!r}: {local[waiter[0]]}" + "}\n")
        for field in waiter[1:]:
            key, value = field.partition(".")[2], local[field]
            body.append(f"    if {value} is not None:\n        waiter[{key!r}] = {value}\n")
    values = {field: local[field] for field, _ in fields if not field.startswith("waiter.")}
    if waiter:
        values["waiter"] = "waiter"
    values.update((key, repr(value)) for key, value in (defaults or {}).items())  # (a fresh dict each time)
    kinds = name.partition(":")[0].split("+")
    if len(kinds) == 1:  # in the order the fields were packed, the waiter and a variant's defaults last
        body.append(f"    out.append({_display(kinds[0], values.items())})\n")
    else:  # a fused record: each event with its kind's fields, in the schema's order
        for kind in kinds:
            body.append(f"    out.append({_display(kind, ((f, values[f]) for f in KINDS[kind][1]))})\n")
    body.append("    return sent\n")
    exec("".join(body), namespace)  # noqa: S102 - our own templates and the schema's names (see above)
    return namespace["decode"]


def _display(kind, items):
    """The source of a dict display: an event's common fields, then `items` (field, source)."""
    fields = "".join(f", {field!r}: {source}" for field, source in items)
    return f"{{'v': {VERSION!r}, 'seq': 0, 't': t, 'kind': {kind!r}{fields}}}"
