"""Property-based fuzzing of the WebSocket protocol against one real server.

Whatever a client sends — text that is not JSON, binary frames, JSON of any shape, values
of every wrong type, NaN, numbers too large to read, nesting too deep to parse, code at
the size limit — and whatever order run, stop and disconnect come in over one to three
sockets: the server stays up, every reply is strict JSON with a known `type`, a bad
request gets an `error` and leaves the socket usable, every run on a socket still open
reaches `finished` with its events ending in `run.end`, and no sandboxed process is left.

Hypothesis prints the failing example and a `@reproduce_failure` blob; its database
(`.hypothesis/`) replays the last failure first on the next run.
"""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server import catalog
from servers import LiveServer, wait_until
from transcript import NOTHING_TO_STOP, Transcript, check_no_interleaving, check_run

CODE_LIMIT = 64 * 1024  # bytes of UTF-8, the README's limit on own code
RUN_FIELDS = {"op", "scenario", "code", "blocking", "clock"}
SCENARIOS = catalog.scenarios()
FUZZ = dict(deadline=None, print_blob=True,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(scope="module")
def server():
    live = LiveServer("--max-runs", "2", "--run-timeout", "3", "--spares", "2")
    yield live
    alive = live.process.poll() is None
    log = live.stop()
    assert alive, f"the server died during the fuzzing: {log[-3000:]}"


class Message:
    """One thing a client sends: `wire` as is (text, or bytes as a binary frame), or a dict as JSON."""

    def __init__(self, kind, wire, expect=None, label=None):
        self.kind = kind  # "bad", "run" or "stop"
        self.wire = wire
        self.expect = expect  # a run's run.end status, when it is certain
        self.label = label  # how a failing example shows it, for payloads too large to print

    def __repr__(self):
        shown = self.label or repr(self.wire)
        return f"{self.kind}({shown if len(shown) < 300 else shown[:300] + '…'})"


def wire(value):
    """JSON text as a browser would send it (UTF-8, not escaped); text holding a lone surrogate,
    which no UTF-8 can carry, with \\u escapes instead."""
    text = json.dumps(value, ensure_ascii=False)
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return json.dumps(value)


# -- what a client might send ---------------------------------------------------------------

# Any code point, with the awkward ones made likely: lone surrogates, NUL, separators, a BOM, astral.
# (Joined from a list: st.text folds its alphabet into ranges of code points and loses that weighting.)
chars = st.characters() | st.sampled_from(["\ud800", "\udfff", "\x00", "\u2028", "\ufeff", "\x85", "é", "𝔘"])
texts = st.lists(chars, max_size=20).map("".join)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)
WHITESPACE = [chr(c) for c in range(0x3001) if chr(c).isspace()]  # str.strip()'s notion of blank


def is_request(value):
    return isinstance(value, dict) and value.get("op") in ("run", "stop")


def parses_as_request(text):
    try:
        return is_request(json.loads(text))
    except (ValueError, RecursionError):
        return False


def sized_code(size, filler):
    """A program that prints 1, padded with a comment to exactly `size` bytes of UTF-8."""
    head = "print(1)\n#"
    room = size - len(head)
    width = len(filler.encode("utf-8"))
    return head + filler * (room // width) + "x" * (room % width)


fillers = st.sampled_from(["x", "é", "€", "𝔘"])
valid_scenario = st.sampled_from([
    (s.id, mode == "blocking") for s in SCENARIOS.values() for mode in s.modes
    if (s.id, mode) != ("to-thread", "non-blocking")  # 1.8 s of real threads: too slow to fuzz often
])
TINY_CODE = [  # (code, its run.end status)
    ("print(1)", "ok"),
    ("import asyncio\nasync def main():\n    print('hi')\nasyncio.run(main())\n", "ok"),
    ("print('é𝔘' * 3000)", "ok"),
    ("def (:\n", "error"),
    ("1 / 0", "error"),
    ("\x00", "error"),
    ("print('\ud800')", None),
    ("import sys\nsys.exit(3)", None),
]


def options(draw):
    """`blocking` and `clock` for own code, as a client may give them: each present or left out."""
    fields = {}
    if draw(st.booleans()):
        fields["clock"] = draw(st.sampled_from(["virtual", "real"]))
    if draw(st.booleans()):
        fields["blocking"] = draw(st.booleans())
    return fields


@st.composite
def valid_runs(draw):
    choice = draw(st.sampled_from(["scenario", "tiny", "random", "at-limit"]))
    if choice == "scenario":
        scenario, blocking = draw(valid_scenario)
        fields = {"scenario": scenario, "clock": "virtual"} if draw(st.booleans()) else {"scenario": scenario}
        if blocking or draw(st.booleans()):
            fields["blocking"] = blocking
        return Message("run", {"op": "run", **fields}, "ok")
    fields = options(draw)
    if choice == "tiny":
        code, expect = draw(st.sampled_from(TINY_CODE))
        return Message("run", {"op": "run", "code": code, **fields}, expect)
    if choice == "random":  # whatever it is, it is a valid request (it may not compile)
        code = draw(st.lists(chars, min_size=1, max_size=40).map("".join).filter(str.strip))
        return Message("run", {"op": "run", "code": code, **fields})
    size = CODE_LIMIT - draw(st.integers(0, 6))
    code = sized_code(size, draw(fillers))
    return Message("run", {"op": "run", "code": code, **fields}, "ok", label=f"code of {size} bytes")


@st.composite
def broken_runs(draw):
    """A run request with one thing wrong (any other field may be right or wrong too)."""
    base = {"op": "run", "scenario": "tasks"} if draw(st.booleans()) else {"op": "run", "code": "print(1)"}
    flaw = draw(st.sampled_from(["blocking", "clock", "scenario", "code", "blank", "large", "both", "neither",
                                 "field", "no-blocking-variant"]))
    label = None
    if flaw == "blocking":
        base["blocking"] = draw(json_values.filter(lambda v: not isinstance(v, bool)))
    elif flaw == "clock":
        base["clock"] = draw(json_values.filter(lambda v: v not in ("virtual", "real")))
    elif flaw == "scenario":
        base.pop("code", None)
        base["scenario"] = draw(json_values.filter(lambda v: not (isinstance(v, str) and v in SCENARIOS)))
    elif flaw == "code":
        base.pop("scenario", None)
        base["code"] = draw(json_values.filter(lambda v: not isinstance(v, str)))
    elif flaw == "blank":
        base.pop("scenario", None)
        base["code"] = draw(st.text(st.sampled_from(WHITESPACE), max_size=10))
    elif flaw == "large":
        base.pop("scenario", None)
        size = CODE_LIMIT + draw(st.integers(1, 6) | st.integers(7, 3 * CODE_LIMIT))
        base["code"] = sized_code(size, draw(fillers))
        label = f"code of {size} bytes"
    elif flaw == "both":
        base.update(scenario="tasks", code="print(1)")
    elif flaw == "neither":
        base.pop("scenario", None)
        base.pop("code", None)
    elif flaw == "field":
        base[draw(texts.filter(lambda k: k not in RUN_FIELDS))] = draw(json_values)
    else:
        base = {"op": "run", "scenario": draw(st.sampled_from(
            [s.id for s in SCENARIOS.values() if "blocking" not in s.modes])), "blocking": True}
    if draw(st.booleans()):  # a field the contract does not have, on top (its name is echoed back)
        base[draw(texts.filter(lambda k: k not in RUN_FIELDS))] = draw(json_values)
    return Message("bad", wire(base), label=label)


def nested(depth, shape):
    return {
        "list": "[" * depth + "]" * depth,
        "object": '{"a":' * depth + "1" + "}" * depth,
        "unclosed": "[" * depth,
    }[shape]


@st.composite
def raw_texts(draw):
    """Text written by hand, for what json.dumps would never produce."""
    special = draw(st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-0", "1E-400"])
                   | st.integers(1, 20_000).map(lambda n: "9" * n))
    depth = st.integers(1, 1_500) | st.integers(1_500, 100_000)  # around json's recursion limit, and far past it
    shape = st.sampled_from(["list", "object", "unclosed"])
    value = draw(st.just(special) | st.builds(nested, depth, shape))
    template = draw(st.sampled_from([
        '{"op":"run","scenario":"tasks","blocking":%s}', '{"op":"run","code":"print(1)","clock":%s}',
        '{"op":%s}', '{"op":"run","scenario":"tasks","extra":%s}', "[%s]", "%s",
    ]))
    text = template % value
    label = text if len(text) < 200 else f"{template % '…'} with {len(value):,} characters of {value[:12]}…"
    return Message("bad", text, label=label)


bad_messages = st.one_of(
    st.text(st.characters(exclude_categories=["Cs"])).filter(lambda t: not parses_as_request(t)).map(
        lambda t: Message("bad", t)),
    st.binary(max_size=64).map(lambda b: Message("bad", b)),
    valid_runs().map(lambda m: Message("bad", wire(m.wire).encode(), label=f"binary {m!r}")),
    json_values.filter(lambda v: not is_request(v)).map(lambda v: Message("bad", wire(v))),
    st.dictionaries(texts, json_values, max_size=4).flatmap(
        lambda d: json_values.filter(lambda op: op not in ("run", "stop")).map(
            lambda op: Message("bad", wire({**d, "op": op})))),
    broken_runs(),
    raw_texts(),
)
messages = st.one_of(bad_messages, valid_runs(), st.just(Message("stop", {"op": "stop"})))


def settle(server):
    """After an example: the server is alive, nothing runs or waits, no sandboxed process is left."""
    assert server.process.poll() is None, "the server died"
    assert wait_until(server.idle, 10), f"not idle 10 s after the example: {server.get('/api/health')[1]['runs']}"


# -- one socket, any messages ----------------------------------------------------------------

@settings(max_examples=60, **FUZZ)
@given(conversation=st.lists(st.tuples(messages, st.booleans()), min_size=1, max_size=6))
def test_any_messages_get_strict_replies_and_the_socket_stays_usable(server, conversation):
    """Each message, then (if its flag says so) its reply awaited before the next: without it,
    the next message arrives while a run streams, stops it, or replaces it."""
    socket = Transcript(server.port)
    try:
        bad = stops = stops_with_nothing_running = 0
        maybe_running = False
        expected = []  # per run requested: its run.end status, when it ran undisturbed to its end
        for message, wait in conversation:
            socket.send(message.wire)
            if message.kind == "bad":
                bad += 1
                if wait:
                    socket.wait_for(lambda t: len(refusals(t, False)) == bad, 10, "error reply")
            elif message.kind == "run":
                socket.runs_requested += 1
                expected.append(message.expect if wait else None)
                maybe_running = not wait
                if wait:
                    socket.wait_for(Transcript.all_finished, 15, "end of the run")
            else:
                stops += 1
                stops_with_nothing_running += not maybe_running
                if wait:
                    socket.wait_for(Transcript.all_finished, 15, "end of the stopped run")
                    maybe_running = False
        socket.run({"code": "print(1)"})  # the socket is still usable
        socket.wait_for(Transcript.all_finished, 20, "end of the follow-up run")
        # The follow-up finished last, so every earlier reply has come: each counted exactly.
        assert len(refusals(socket, False)) == bad, socket.errors()
        assert stops_with_nothing_running <= len(refusals(socket, True)) <= stops, socket.errors()
        runs = list(socket.runs().values())
        assert len(runs) == socket.runs_requested
        check_no_interleaving(socket)
        for replies, status in zip(runs, expected + ["ok"]):
            events = check_run(replies)
            if status is not None:
                assert events[-1]["status"] == status, events[-1]
        assert [e["text"] for e in check_run(runs[-1]) if e["kind"] == "stdout"] == ["1\n"]
    finally:
        socket.close()
    settle(server)


def refusals(transcript, nothing_to_stop):
    """Error replies that are (or are not) the "nothing to stop" error."""
    return [e for e in transcript.errors() if e.startswith(NOTHING_TO_STOP) == nothing_to_stop]


# -- one to three sockets, run / stop / disconnect in any order ------------------------------

SLOW = "import time\nprint('started', flush=True)\ntime.sleep(0.5)\n"  # half a second of real time
light_runs = st.sampled_from([{"scenario": "tasks"}, {"scenario": "tasks", "blocking": True}, {"code": "print(1)"},
                              {"code": SLOW, "clock": "real"}])
actions = st.one_of(
    st.tuples(st.just("run"), light_runs),
    st.tuples(st.just("run, then drop"), light_runs),  # gone before the server can answer
    st.sampled_from([("stop",), ("until running",), ("until finished",), ("close",), ("drop",)]),
)


@settings(max_examples=45, **FUZZ)
@given(sockets=st.integers(1, 3), steps=st.lists(st.tuples(st.integers(0, 2), actions), min_size=1, max_size=10))
def test_runs_stops_and_disconnects_in_any_order(server, sockets, steps):
    """Actions on numbered sockets; one closed (handshake) or dropped (TCP gone) opens again at
    its next action. Every socket still open at the end sees each of its runs finish."""
    slots, every = [None] * sockets, []
    try:
        for index, (name, *request) in steps:
            index %= sockets
            if slots[index] is None:
                slots[index] = Transcript(server.port)
                every.append(slots[index])
            socket = slots[index]
            if name.startswith("run"):
                socket.run(request[0])
                if name == "run, then drop":
                    socket.close(abrupt=True)
                    slots[index] = None
            elif name == "stop":
                socket.send({"op": "stop"})
            elif name == "until running":
                socket.wait_for(Transcript.latest_started, 20, "the latest run to start")
            elif name == "until finished":
                socket.wait_for(Transcript.all_finished, 20, "every run to finish")
            else:
                socket.close(abrupt=name == "drop")
                slots[index] = None
        for socket in filter(None, slots):
            socket.wait_for(Transcript.all_finished, 30, "every run to finish")
            assert len(socket.runs()) == socket.runs_requested
            assert all(e.startswith(NOTHING_TO_STOP) for e in socket.errors()), socket.errors()
            for replies in socket.runs().values():
                check_run(replies)
        for socket in every:  # on a socket gone early too: nothing interleaved while it lasted
            check_no_interleaving(socket)
    finally:
        for socket in every:
            if socket.open:
                socket.close()
    settle(server)
