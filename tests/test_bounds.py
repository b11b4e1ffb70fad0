"""What leaves the server is strict JSON of bounded size, whatever the child sends.

The child is untrusted: it may forge frames (non-finite numbers, values of the wrong
type, nesting no event has), make strings of any length and print without end. Each
test below forges or provokes one of these and checks what a client receives.
"""

import json

import pytest

from conftest import EVENT_PIPE, of_kind, stdout_of, task_names, trace
from server.events import schema, wire
from server import sandbox
from server.runner import Options, Program, Run
from servers import LiveServer

pytestmark = pytest.mark.usefixtures("no_leftovers")
UNKNOWN = "(an event the schema does not know)\n"


def strict(text):
    """Parse as a browser's JSON.parse would: no NaN, no Infinity."""
    def refuse(name):
        raise AssertionError(f"{name} is not JSON")
    return json.loads(text, parse_constant=refuse)


def forge(*items):
    """A program that writes one JSON frame with these raw JSON texts as its items, then prints."""
    payload = "[" + ",".join(items) + "]"
    return (EVENT_PIPE + "import struct\n"
            f"payload = {payload!r}.encode()\n"
            "os.write(pipe, struct.pack('<cI', b'J', len(payload)) + payload)\n"
            "print('after')\n")


# A JSON frame nested deeper than any event: the child builds it, so the program stays small.
TOO_DEEP = (EVENT_PIPE + "import struct\npayload = b'[' * 100_000 + b']' * 100_000\n"
            "os.write(pipe, struct.pack('<cI', b'J', len(payload)) + payload)\n")


def raw_texts(events):
    return [e["text"] for e in of_kind(events, "stdout") if e["stream"] == "raw"]


@pytest.mark.parametrize("item", [
    '{"t": Infinity, "kind": "loop.idle", "until": null}',
    '{"t": 0.5, "kind": "loop.idle", "until": NaN}',
    '{"t": 0.5, "kind": "loop.idle", "until": -Infinity}',
    '{"t": 1e999, "kind": "loop.idle", "until": null}',
    '{"t": 0.5, "kind": "handle.end", "handle": 1, "task": null, "duration": 1e400}',
], ids=["t-infinity", "nan", "minus-infinity", "overflowing-t", "overflowing-duration"])
def test_non_finite_numbers_never_leave_the_server(item):
    events = trace(forge(item))
    for event in events:
        strict(json.dumps(event, allow_nan=False))
    assert UNKNOWN in raw_texts(events)
    assert stdout_of(events) == "after\n" and events[-1]["status"] == "ok"


@pytest.mark.parametrize("item", [
    '{"t": 0, "kind": "task.rename", "task": {"deep": [1, [2]]}, "name": "x"}',
    '{"t": 0, "kind": "stdout", "text": ["a"], "task": null, "stream": "stdout"}',
    '{"t": true, "kind": "loop.iteration", "n": 1}',
    '{"t": 0, "kind": "loop.iteration", "n": 123456789012345678901234567890}',
    '{"t": 0, "kind": "handle.schedule", "handle": 1, "queue": "elsewhere", "when": null, "task": null, '
    '"label": "x", "source": "call_soon", "owner": null}',
    '{"t": 0, "kind": "task.suspend", "task": 1, "line": null, "awaiting": "x", "waiter": {"kind": "task", '
    '"evil": [[[]]]}}',
    '{"t": 0, "kind": "future.done", "future": 1, "state": "result", "detail": null, "waiters": [1, "two"]}',
    '{"t": 0, "kind": "run.end", "status": "ok", "reason": {"a": 1}, "elapsed": 0}',
], ids=["object-for-an-id", "list-for-text", "bool-for-time", "huge-int", "unknown-queue", "forged-waiter",
        "string-in-ids", "object-for-reason"])
def test_forged_records_of_the_wrong_types_never_reach_a_client(item):
    events = trace(forge(item))
    assert UNKNOWN in raw_texts(events)
    forged = json.loads(item)
    assert not any(all(e.get(key) == value for key, value in forged.items() if key != "t") for e in events)
    assert events[-1]["kind"] == "run.end"
    assert all(schema.problems(e) == [] for e in events)


def test_a_frame_nested_too_deeply_ends_the_run_with_a_clear_reason():
    events = trace(TOO_DEEP)
    end = events[-1]
    assert end["kind"] == "run.end" and end["status"] == "error"
    assert end["reason"] == "The program sent Loopscope data nested too deeply to be events, so it was stopped."


def test_names_are_cut_to_the_text_limit_with_their_length_noted():
    source = ("import asyncio\nasync def job():\n    await asyncio.sleep(0)\n"
              "async def main():\n    await asyncio.create_task(job(), name='n' * 100_000)\nasyncio.run(main())\n")
    events = trace(source)
    limit = sandbox.Limits().text
    assert "n" * limit + "… (100,000 characters)" in task_names(events).values()  # create_task renames it
    for event in events:
        for value in event.values():
            if isinstance(value, str) and event["kind"] != "stdout":
                assert len(value) <= limit + 40, (event["kind"], len(value))


def test_lone_surrogates_become_replacement_characters():
    source = "import asyncio\nasync def main():\n    pass\nasyncio.run(asyncio.wait_for(main(), 1))\n" \
             "async def named():\n    await asyncio.create_task(main(), name='a\\ud800b')\nasyncio.run(named())\n"
    events = trace(source)
    assert "a\ufffdb" in task_names(events).values()
    for event in events:
        json.dumps(event, ensure_ascii=False).encode("utf-8")  # strict UTF-8: no lone surrogate left


def test_output_past_the_limit_ends_the_run_and_keeps_what_came_before():
    source = "line = 'x' * 999\nwhile True:\n    print(line)\n"
    events = trace(source)
    end = events[-1]
    assert end["status"] == "limit"
    assert end["reason"].startswith("The program printed more than 4 MiB of output (the run's limit")
    printed = stdout_of(events)
    assert 4 * 2**20 - 1000 <= len(printed) <= 4 * 2**20
    assert set(printed) == {"x", "\n"}


def test_strings_the_program_makes_count_as_output_even_when_never_sent_whole():
    # 60 tasks, each named with 100,000 characters: few events, but 6 MB of strings sent to the runner.
    source = ("import asyncio\nasync def job():\n    pass\nasync def main():\n"
              "    for n in range(60):\n        await asyncio.create_task(job(), name=str(n) * 100_000)\n"
              "asyncio.run(main())\n")
    events = trace(source)
    assert events[-1]["status"] == "limit" and "MiB of output" in events[-1]["reason"]
    assert len(events) < 1000


def test_the_output_limit_is_configurable():
    limits = sandbox.Limits(output=2**20)
    source = "while True:\n    print('y' * 99)\n"
    events = list(Run(Program(source, "main.py", "main.py"), Options(), limits).events())
    assert events[-1]["status"] == "limit" and "more than 1 MiB of output" in events[-1]["reason"]


# -- over the WebSocket ------------------------------------------------------------------

HUGE_NAMES = """
import asyncio
async def worker(n):
    for _ in range(20):
        await asyncio.sleep(0)
async def main():
    name = "w" * 1_000_000
    await asyncio.gather(*(asyncio.create_task(worker(n), name=name) for n in range(400)))
asyncio.run(main())
"""


def rss(pid):
    with open(f"/proc/{pid}/status") as handle:
        return next(int(line.split()[1]) * 1024 for line in handle if line.startswith("VmRSS"))


@pytest.fixture(scope="module")
def server():
    live = LiveServer()
    yield live
    live.stop()


def test_huge_names_keep_bytes_sent_and_server_memory_bounded_while_health_answers(server):
    """One 1 MB name used by 400 tasks: before the limits every event repeated it (about 400 MB sent)."""
    connection = server.client()
    try:
        before = rss(server.process.pid)
        connection.send({"op": "run", "code": HUGE_NAMES})
        sent, texts = 0, []
        while True:
            text = connection.ws.receive(timeout=30)
            assert text is not None
            sent += len(text.encode())
            message = strict(text)
            texts.append(message)
            assert server.get("/api/health")[0] == 200  # (between every two messages; a hung server times out)
            if message["type"] == "status" and message["state"] == "finished":
                break
        events = [e for m in texts if m["type"] == "events" for e in m["events"]]
        assert events[-1]["kind"] == "run.end"
        assert sent < 16 * 2**20, f"{sent:,} bytes sent"
        assert rss(server.process.pid) - before < 200 * 2**20
    finally:
        connection.close()


def test_a_forged_infinity_never_reaches_the_client_as_text(server):
    connection = server.client()
    try:
        connection.send({"op": "run", "code": forge('{"t": Infinity, "kind": "loop.idle", "until": null}')})
        while True:
            text = connection.ws.receive(timeout=30)
            assert "Infinity" not in text and "NaN" not in text
            message = strict(text)
            if message["type"] == "status" and message["state"] == "finished":
                break
    finally:
        connection.close()


def test_a_child_nesting_too_deeply_ends_its_run_not_the_socket(server):
    connection = server.client()
    try:
        events, _ = connection.run(code=TOO_DEEP)
        assert events[-1]["status"] == "error" and "nested too deeply" in events[-1]["reason"]
        follow_up, _ = connection.run(scenario="tasks")
        assert follow_up[-1]["status"] == "ok"
    finally:
        connection.close()


def test_a_client_message_nested_too_deeply_gets_an_error_and_the_socket_stays_usable(server):
    connection = server.client()
    try:
        connection.send('{"op": "run", "scenario": ' + "[" * 100_000 + "]" * 100_000 + "}")
        reply = connection.receive()
        assert reply == {"type": "error", "message": "That message is nested too deeply to be a request."}
        follow_up, _ = connection.run(scenario="tasks")
        assert follow_up[-1]["status"] == "ok"
    finally:
        connection.close()


# -- what a hostile child costs the runner -------------------------------------------------

EMPTY_STRINGS = (EVENT_PIPE + "import struct\nrecord = struct.Struct('<BII')\n"
                 "payload = b''.join(record.pack(255, 2**20 + i, 0) for i in range(900_000))\n"
                 "os.write(pipe, struct.pack('<cI', b'P', len(payload)) + payload)\n"
                 "while True:\n    pass\n")


def test_a_flood_of_empty_string_definitions_counts_as_output():
    """Each definition costs the runner memory (a dict entry), even when its text is empty."""
    events = trace(EMPTY_STRINGS, timeout=10)
    assert events[-1]["status"] == "limit" and "MiB of output" in events[-1]["reason"]


EMOJI_NAMES = (EVENT_PIPE + "import struct\ntext = ('\\U0001F600' * 250).encode()\n"
               f"record = struct.Struct('<BdIIIIIB')\n"
               "payload = struct.pack('<BII', 255, 7, len(text)) + text + b''.join(\n"
               f"    record.pack({wire.CODES['task.new']}, 0.0, 10 + i, 7, 7, 0, 0, 0) for i in range(49_000))\n"
               "os.write(pipe, struct.pack('<cI', b'P', len(payload)) + payload)\n")


def test_names_repeated_by_many_events_count_against_what_a_run_may_send():
    events = trace(EMOJI_NAMES)
    sent = sum(len(json.dumps(e, ensure_ascii=False).encode()) for e in events)
    assert events[-1]["status"] == "limit" and "MiB of names and output to send" in events[-1]["reason"]
    assert sent < sandbox.Limits().sent + 6 * 2**20, f"{sent:,} bytes"  # (numbers and keys besides the strings)


HUGE_STRING = (EVENT_PIPE + "import json, struct\n"
               "frame = json.dumps([{'string': 7, 'text': '\\u00e9' * 3_000_000}], ensure_ascii=False).encode()\n"
               "os.write(pipe, struct.pack('<cI', b'J', len(frame)) + frame)\n"
               "record = struct.Struct('<BdIIIIIB')\n"
               f"payload = b''.join(record.pack({wire.CODES['task.new']}, 0.0, 10 + i, 7, 7, 0, 0, 0) for i in range(500))\n"
               "os.write(pipe, struct.pack('<cI', b'P', len(payload)) + payload)\n")


def test_one_huge_string_is_cut_once_not_for_every_event_that_uses_it():
    # Checked for every event it took 40 ms each: a run went on many times past its time limit.
    events = trace(HUGE_STRING, timeout=10)
    assert events[-1]["status"] in ("ok", "limit"), events[-1]
    names = {e["name"] for e in of_kind(events, "task.new")}
    assert names == {"\u00e9" * sandbox.Limits().text + "… (3,000,000 characters)"}


def test_a_forged_sandbox_failure_on_stderr_is_not_believed_and_its_reason_is_cut():
    source = "import os\nos.write(2, b'bwrap: ' + 'x'.encode() * 15_000 + b'\\n')\nos._exit(1)\n"
    end = trace(source)[-1]
    assert not end["reason"].startswith("The sandbox could not start")
    assert len(end["reason"]) < 2 * sandbox.Limits().text + 40


def test_a_client_field_name_with_a_lone_surrogate_gets_an_error_and_the_socket_lives_on(server):
    connection = server.client()
    try:
        connection.send('{"op": "run", "\\ud800": 1}')
        reply = connection.receive()
        assert reply["type"] == "error" and reply["message"].startswith("Unknown field(s) in a run request")
        follow_up, _ = connection.run(scenario="tasks")
        assert follow_up[-1]["status"] == "ok"
    finally:
        connection.close()


TINY_LISTS = (EVENT_PIPE + "import struct\npayload = b'[' + b'[[]],' * 1_600_000 + b'[[]]]'\n"
              "os.write(pipe, struct.pack('<cI', b'J', len(payload)) + payload)\n")
MANY_WAITERS = (EVENT_PIPE + "import struct\n"
                "payload = (b'[{\"t\": 0.0, \"kind\": \"future.done\", \"future\": 1, \"state\": \"result\", '\n"
                "           b'\"detail\": \"x\", \"waiters\": [' + b'1,' * 2_500_000 + b'1]}]')\n"
                "for _ in range(3):\n    os.write(pipe, struct.pack('<cI', b'J', len(payload)) + payload)\n")


def test_a_frame_of_millions_of_tiny_values_is_refused_before_it_is_parsed():
    """8 MiB of `[[]],` took the runner 1.7 s holding the GIL, and 230 MB, to parse."""
    import tracemalloc

    tracemalloc.start()
    try:
        events = trace(TINY_LISTS)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert events[-1]["status"] == "limit" and "events" in events[-1]["reason"]
    assert peak < 64 * 2**20, f"the runner held {peak / 2**20:.0f} MiB"


def test_lists_of_ids_count_against_what_a_run_may_send():
    events = trace(MANY_WAITERS)
    sent = sum(len(json.dumps(e).encode()) for e in events)
    assert events[-1]["status"] == "limit"
    assert sent < sandbox.Limits().sent + 2**20, f"{sent:,} bytes"


def test_a_kind_that_is_not_a_string_is_an_unknown_event_not_a_crash():
    events = trace(forge('{"t": 0, "kind": []}', '{"t": 0, "kind": {"a": 1}}'))
    assert raw_texts(events) == [UNKNOWN, UNKNOWN]
    assert events[-1]["kind"] == "run.end" and events[-1]["status"] == "ok"


def test_an_exception_whose_attributes_raise_is_still_reported():
    source = ("class Odd(Exception):\n    __traceback__ = property(lambda self: 1 / 0)\n"
              "    errno = property(lambda self: 1 / 0)\nraise Odd()\n")
    events = trace(source)
    assert [e["message"] for e in of_kind(events, "error")] == ["Odd"]
    assert events[-1]["status"] == "error" and events[-1]["reason"] == "The program raised Odd."
