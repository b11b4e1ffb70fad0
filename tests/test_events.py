"""The event schema is defined once, documented in the README, and every emitted event fits it."""

import json
import math
import os
import re

import pytest
from conftest import ROOT, trace_scenario

from server import catalog
from server.events import schema, wire


def test_readme_documents_exactly_the_schema():
    """The README's event table is the one generated from server/events/schema.py."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Event stream", 1)[1].split("\n## ", 1)[0]
    table = "\n".join(line for line in section.splitlines() if line.startswith("|")) + "\n"
    assert table == schema.markdown_table()
    assert re.findall(r"^\| `([a-z.]+)` \|", table, flags=re.M) == list(schema.KINDS)


@pytest.mark.parametrize("scenario_id", list(catalog.scenarios()))
def test_every_event_of_every_scenario_fits_the_schema(scenario_id):
    trace = trace_scenario(scenario_id)
    for event in trace:
        assert schema.problems(event) == [], event
    assert [e["seq"] for e in trace] == list(range(len(trace)))
    assert trace[0]["kind"] == "run.start" and trace[-1]["kind"] == "run.end"
    times = [e["t"] for e in trace]
    assert times == sorted(times)


def test_problems_names_what_is_wrong():
    assert schema.problems({"kind": "nope"}) == ["unknown kind 'nope'"]
    assert "missing field 'task'" in schema.problems({"v": 1, "seq": 0, "t": 0, "kind": "task.done"})
    assert schema.problems([]) == ["an event must be a JSON object"]


def test_the_page_mirrors_the_schema():
    text = (ROOT / "web" / "events.js").read_text()
    mirrored = dict(re.findall(r'^  "([a-z.]+)": \[(.*)\],$', text, flags=re.M))
    assert list(mirrored) == list(schema.KINDS)
    for kind, (_, fields) in schema.KINDS.items():
        assert re.findall(r'"([a-z_]+)"', mirrored[kind]) == [name.rstrip("?") for name in fields], kind
    assert f"export const VERSION = {schema.VERSION};" in text


def stream():
    from server.runner import Options, Program
    from server.sandbox import Limits
    from server.stream import EventStream

    return EventStream(Program("pass", "main.py", "main.py"), Options(), Limits())


def read(stream, data):
    """(events, Ending or None) of `stream` reading `data` as the child's whole output, through
    the public `read` (a file stands in for the pipe: it is always ready, then at its end)."""
    import tempfile

    with tempfile.TemporaryFile() as child:
        child.write(data)
        child.seek(0)
        events, reading = [], stream.read(child.fileno(), lambda: False)
        try:
            while True:
                batch = next(reading)
                if batch is not None:
                    assert batch, "an empty list of events"
                    events += batch
        except StopIteration as stop:
            return events, stop.value


def json_frame(text):
    return wire.frame(wire.JSON_FRAME, text)


BEGIN = wire.packer("handle.begin").pack(wire.CODES["handle.begin"], 1.0, 1, 0)
UNKNOWN = "(an event the schema does not know)\n"


def string_record(sid, text):
    return wire.STRING_HEAD.pack(wire.STRING_CODE, sid, len(text)) + text


def test_an_event_the_schema_does_not_know_becomes_raw_output():
    events, _ = read(stream(), json_frame(b'[{"t": 0.5, "kind": "forged.kind"}, {"t": 0.5, "kind": "run.start", '
                                          b'"target": "x", "blocking": false, "clock": "virtual", "python": null, '
                                          b'"file": "f", "threshold": 0.05}]'))
    assert [e["kind"] for e in events] == ["run.start", "stdout"]
    assert events[1]["text"] == UNKNOWN


def test_a_second_run_start_is_dropped_and_numbering_goes_on():
    forged = stream()
    start = (b'{"t": 0.5, "kind": "run.start", "target": "x", "blocking": false, "clock": "virtual", '
             b'"python": null, "file": "f", "threshold": 0.05}')
    events, _ = read(forged, json_frame(b"[" + start + b"]") + json_frame(b"[" + start + b", {}]"))
    assert [(e["kind"], e["seq"]) for e in events] == [("run.start", 0), ("stdout", 1)]


@pytest.mark.parametrize("bad,good", [
    (b"\xfe" + BEGIN + BEGIN, 0),  # an unknown code
    (BEGIN[:-1], 0),  # cut short
    (BEGIN + wire.packer("task.suspend").pack(wire.CODES["task.suspend"], 1.0, 1, 2, 999, 0, 0, 0, 0, 0.0, 0) + BEGIN, 1),
    (BEGIN + string_record(5, b"x") + wire.packer("task.suspend").pack(
        wire.CODES["task.suspend"], 1.0, 1, 2, 5, 0, 0, 0, 0, 0.0, 998) + BEGIN, 1),  # `via`, a nullable string
    (BEGIN + string_record(5, b"step")[:-1], 1),  # a string definition cut short
    (string_record(5, b"\xff\xfe") + BEGIN, 0),  # a string that is not UTF-8
], ids=["unknown-code", "cut-short", "undefined-string", "undefined-nullable-string", "string-cut-short",
        "string-not-utf8"])
def test_a_bad_packed_record_is_one_unknown_event_and_ends_its_frame(bad, good):
    events, _ = read(stream(), wire.frame(wire.PACKED_FRAME, bad))
    assert [e["kind"] for e in events] == ["run.start"] + ["handle.begin"] * good + ["stdout"]
    assert events[-1]["text"] == UNKNOWN


def test_bytes_that_are_not_a_frame_are_shown_as_they_are_from_there_on():
    events, ending = read(stream(), json_frame(b"[]") + b"not a frame at all\n" + json_frame(b"[]"))
    assert [(e["kind"], e.get("text"), e.get("stream")) for e in events] == [
        ("run.start", None, None), ("stdout", "not a frame at all\n" + json_frame(b"[]").decode(), "raw")]
    assert ending is None  # the child's output simply ended


def test_a_frame_announcing_too_much_ends_the_run_before_it_is_read():
    _, ending = read(stream(), wire.FRAME.pack(wire.JSON_FRAME, wire.MAX_FRAME + 1))
    assert ending.status == "limit" and "MiB of events at once" in ending.reason


def test_no_more_packed_events_are_decoded_than_the_run_may_send():
    from server.sandbox import Limits

    limit = Limits().events
    events, ending = read(stream(), wire.frame(wire.PACKED_FRAME, BEGIN * (limit * 3)))
    assert [e["seq"] for e in events] == list(range(limit))  # run.start too
    assert ending.status == "limit" and f"more than {limit:,} events" in ending.reason


def test_a_json_frame_with_too_many_objects_is_not_read_at_all():
    from server.sandbox import Limits

    limit = Limits().events
    events, ending = read(stream(), json_frame(b"[" + b",".join([b"{}"] * (limit * 3)) + b"]"))
    assert [e["kind"] for e in events] == []
    assert ending.status == "limit" and f"more than {limit:,} events" in ending.reason


def test_frames_may_arrive_in_pieces():
    decoder = wire.Decoder()
    data = wire.frame(wire.JSON_FRAME, json.dumps([{"t": 0.0, "kind": "loop.idle", "until": None}]).encode())
    data += wire.frame(wire.PACKED_FRAME, wire.packer("handle.begin").pack(wire.CODES["handle.begin"], 1.0, 4, 0))
    decoded = [event for byte in range(len(data)) for event in decoder.feed(data[byte:byte + 1])]
    assert [(e["kind"], e["t"]) for e in decoded] == [("loop.idle", 0.0), ("handle.begin", 1.0)]
    assert decoded[1]["handle"] == 4 and decoded[1]["task"] is None


def test_strings_are_defined_in_line_with_packed_events():
    """A string id's text may travel packed, just before the first event that uses it."""
    text = "wake-up Tâche ✓".encode()
    suspend = wire.packer("task.suspend").pack(wire.CODES["task.suspend"], 2.0, 3, 7, 9, 0, 0, 0, 0, math.nan, 0)
    data = wire.STRING_HEAD.pack(wire.STRING_CODE, 9, len(text)) + text + suspend
    decoded = wire.Decoder().feed(wire.frame(wire.PACKED_FRAME, data))
    assert [(e["kind"], e["awaiting"], e["line"], e["via"]) for e in decoded] == [
        ("task.suspend", "wake-up Tâche ✓", 7, None)]


def test_packed_events_decode_to_the_documented_objects():
    """What the child's emitter packs comes out of the runner's decoder as the schema's objects."""
    from server.engine.clock import VirtualClock
    from server.engine.emitter import Emitter

    read, write = os.pipe()
    clock = VirtualClock()
    clock.advance(0.25)
    emitter = Emitter(write, clock)
    label = emitter.string("step worker")
    emitter.emit("task.new", task=1, name="worker", coro="worker", parent=None, line=3, internal=False)
    pack = wire.packer("handle.schedule").pack
    emitter.hot(pack(wire.CODES["handle.schedule"], clock.peek(), 7, 0, math.nan, 1, label, 0, 0))
    fused = wire.packer("task.suspend+handle.end").pack
    emitter.hot(fused(wire.WIRE_CODES["task.suspend+handle.end"], clock.peek(), 7, 1, 0.5, 4,
                      emitter.string("asyncio.sleep(1)"), wire.enum_index("waiter", "timer"), 0, 3, 8, 1.25,
                      emitter.string("main() line 9 → job() line 4")))
    emitter.flush()
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        decoded = wire.Decoder().feed(pipe.read())
    assert [e["kind"] for e in decoded] == ["task.new", "handle.schedule", "task.suspend", "handle.end"]
    for event in decoded:
        assert schema.problems(event) == [], event
        assert event["t"] == 0.25
    assert decoded[1] | {"v": 0} == {"v": 0, "seq": 0, "t": 0.25, "kind": "handle.schedule", "handle": 7,
                                     "queue": "ready", "when": None, "task": 1, "label": "step worker",
                                     "source": "call_soon", "owner": None}
    assert decoded[2]["awaiting"] == "asyncio.sleep(1)" and decoded[2]["line"] == 4
    assert decoded[2]["via"] == "main() line 9 → job() line 4"
    assert decoded[2]["waiter"] == {"kind": "timer", "future": 3, "handle": 8, "when": 1.25}
    assert decoded[3]["duration"] == 0.5 and decoded[3]["handle"] == 7 and decoded[3]["task"] == 1


def test_packed_task_events_carry_nulls_and_flags():
    from server.engine.clock import VirtualClock
    from server.engine.emitter import Emitter

    read, write = os.pipe()
    emitter = Emitter(write, VirtualClock())
    emitter.line(wire.CODES["task.new"], 4, emitter.string("shutdown"), emitter.string("f"), 0, 0, True)
    emitter.line(wire.CODES["task.done"], 4, wire.enum_index("state", "cancelled"), emitter.string("bye"), 0)
    emitter.flush()
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        new, done = wire.Decoder().feed(pipe.read())
    assert {k: new[k] for k in ("task", "name", "coro", "parent", "line", "internal")} == {
        "task": 4, "name": "shutdown", "coro": "f", "parent": None, "line": None, "internal": True}
    assert (done["state"], done["detail"], done["line"]) == ("cancelled", "bye", None)
    assert schema.problems(new) == [] and schema.problems(done) == []


def test_the_emitter_sends_batches_while_the_program_runs(tmp_path):
    """Events leave in batches of about a thousand, whatever mix of kinds they are: not all at the end."""
    from server.engine.clock import VirtualClock
    from server.engine.emitter import BATCH, Emitter

    path = tmp_path / "events"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    emitter = Emitter(fd, VirtualClock())
    begin = wire.packer("handle.begin").pack
    writes = 0
    for n in range(3 * BATCH):  # a cold event, a new string and a packed event, again and again
        size = os.fstat(fd).st_size
        emitter.emit("stdout", text=f"{n}\n", task=None, stream="stdout")
        emitter.hot(begin(wire.CODES["handle.begin"], 0.0, emitter.string(f"label {n}"), 1))
        writes += os.fstat(fd).st_size > size
    written_before_the_end = len(wire.Decoder().feed(path.read_bytes()))
    emitter.flush()
    os.close(fd)
    assert written_before_the_end >= 2 * 3 * BATCH - 2 * BATCH, written_before_the_end
    assert 3 <= writes <= 12, writes  # about a thousand events at a time: not each alone, nor all at once
    decoded = wire.Decoder().feed(path.read_bytes())
    assert len(decoded) == 2 * 3 * BATCH and all(e is not None for e in decoded)
    assert [e["text"] for e in decoded if e["kind"] == "stdout"] == [f"{n}\n" for n in range(3 * BATCH)]
    # packed events alone leave in batches too
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    emitter = Emitter(fd, VirtualClock())
    label = emitter.string("step worker")
    for n in range(4 * BATCH):
        emitter.hot(begin(wire.CODES["handle.begin"], 0.0, label, 1))
        emitter.flush_if_full()
    assert 2 * BATCH <= len(wire.Decoder().feed(path.read_bytes())) < 4 * BATCH
    os.close(fd)


# -- packed records need no schema pass: the decoder's checks are the schema's ------------------

_FIELD_VALUES = {  # per wire type: values a hostile child might pack there
    "i": [0, 1, 7, 2**32 - 1], "i?": [0, 1, 2**32 - 1], "f": [0.0, 2.5, -1.0, math.nan, math.inf],
    "f?": [0.0, 1.25, math.nan, -math.inf], "s": [0, 1, 2, 99], "s?": [0, 1, 99],
}


@pytest.mark.parametrize("name", sorted(wire.PACKED))
def test_every_event_a_packed_record_decodes_to_fits_the_schema(name):
    """Whatever a packed record holds, the event it decodes to fits the schema as the JSON path's
    checker sees it, or it is refused (None, shown as raw output); the strings it carries count."""
    from hypothesis import given, settings, strategies as st

    layout = wire.PACKED[name]
    struct_ = wire.packer(name)
    fields = [st.sampled_from(_FIELD_VALUES[type_]) if type_ in _FIELD_VALUES
              else st.integers(0, len(wire.ENUMS[type_])) for _, type_ in layout]
    head = wire.STRING_HEAD.pack(wire.STRING_CODE, 1, 4) + b"step" + wire.STRING_HEAD.pack(wire.STRING_CODE, 2, 2) + b"\xc3\xa9"

    @settings(max_examples=150, deadline=None)
    @given(st.sampled_from([0.0, 1.5, math.nan]), st.tuples(*fields))
    def check(t, values):
        decoder = wire.Decoder()
        events = decoder.feed(wire.frame(wire.PACKED_FRAME, head + struct_.pack(wire.WIRE_CODES[name], t, *values)))
        if events == [None]:  # refused
            return
        assert len(events) == name.count("+") + 1
        for event in events:
            assert schema.problems(event) == [], (event, values)
        strings = [v for (field, type_), v in zip(layout, values) if type_ in ("s", "s?") and v]
        assert decoder.sent_size == sum({1: 4, 2: 2}[sid] for sid in strings)

    check()


_HALF_MILLIONTHS = [(k + 0.5) / 1e6 for k in (0, 1, 2, 12, 999_999, 1_234_567, 86_399_999_999, 8_589_934_591)]
_TIMES = [0.0, -0.0, 5e-324, 4.9e-7, 1e-6, 0.1 + 0.2, 2.5e-6, 1.0000005, 8589.934592, 8589.9345925, 9000.0, -1.5,
          *_HALF_MILLIONTHS, *(math.nextafter(x, math.inf) for x in _HALF_MILLIONTHS),
          *(math.nextafter(x, -math.inf) for x in _HALF_MILLIONTHS)]


def _decoded_duration(seconds):
    packed = wire.packer("handle.end").pack(wire.WIRE_CODES["handle.end"], seconds, 1, 0, seconds)
    [event] = wire.Decoder().feed(wire.frame(wire.PACKED_FRAME, packed))
    return event


@pytest.mark.parametrize("seconds", _TIMES)
def test_a_packed_time_is_rounded_to_microseconds_as_round_does(seconds):
    """The decoder rounds times without `round` where that is exact: the same double as
    `round(x, 6)`, halves of a millionth, their neighbours, zero's sign and the range's ends included."""
    event = _decoded_duration(seconds)
    assert math.copysign(1, event["duration"]) == math.copysign(1, round(seconds, 6))
    assert event["duration"] == round(seconds, 6) and event["t"] == round(seconds, 6)


def test_packed_times_round_as_round_does_whatever_the_float():
    from hypothesis import given, settings, strategies as st

    @settings(max_examples=2000, deadline=None)
    @given(st.floats(min_value=0, max_value=10_000, allow_nan=False) | st.floats(min_value=0, max_value=1e-3))
    def check(seconds):
        event = _decoded_duration(seconds)
        assert (event["duration"], event["t"]) == (round(seconds, 6), round(seconds, 6))

    check()
