"""A WebSocket to the server whose every reply is checked against the README's contract as it
arrives and kept in order, so a whole conversation can be judged afterwards (the fuzzer, the soak)."""

import json
import socket
import time

import simple_websocket

TYPES = {"events", "status", "error"}
STATES = {"queued", "running", "finished"}
# The one error a valid message can get ("nothing to stop"), told apart from the others by its text.
NOTHING_TO_STOP = "Nothing is running"


def strict_json(text):
    """Parse as RFC 8259 does: NaN and Infinity are not JSON, and a page's JSON.parse rejects them."""
    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def check_reply(frame):
    """One reply as a dict, after checking the shape the contract gives its type."""
    assert isinstance(frame, str), f"the server sent a binary frame: {frame[:80]!r}"
    message = strict_json(frame)
    assert isinstance(message, dict) and message.get("type") in TYPES, frame[:300]
    if message["type"] == "error":
        assert isinstance(message.get("message"), str) and message["message"], message
        return message
    assert type(message.get("run")) is int, frame[:300]
    if message["type"] == "events":
        batch = message.get("events")
        assert isinstance(batch, list) and batch and all(isinstance(e, dict) for e in batch), frame[:300]
    else:
        assert message.get("state") in STATES, message
        if message["state"] == "queued":
            assert type(message.get("position")) is int and message["position"] >= 1, message
        if message["state"] == "finished":
            assert isinstance(message.get("status"), str), message
    return message


class Transcript:
    def __init__(self, port):
        self.ws = simple_websocket.Client.connect(f"ws://127.0.0.1:{port}/ws")
        self.replies = []
        self.runs_requested = 0  # valid run requests sent: each must get a run id of its own
        self.open = True

    def send(self, wire):
        """Send text or a binary frame as is; a dict as JSON text."""
        self.ws.send(wire if isinstance(wire, (str, bytes)) else json.dumps(wire))

    def run(self, request):
        self.send({"op": "run", **request})
        self.runs_requested += 1

    def wait_for(self, condition, timeout, what):
        """Read replies until `condition(self)` holds; fails naming `what` if it does not in time."""
        deadline = time.monotonic() + timeout
        while not condition(self):
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no {what} within {timeout} s; replies so far: {self.summary()}"
            try:
                frame = self.ws.receive(timeout=remaining)
            except simple_websocket.ConnectionClosed:
                raise AssertionError(f"the server closed the socket while we waited for {what}") from None
            if frame is not None:
                self.replies.append(check_reply(frame))

    def runs(self):
        """run id -> its replies, in the order the runs began."""
        runs = {}
        for message in self.replies:
            if message["type"] != "error":
                runs.setdefault(message["run"], []).append(message)
        return runs

    def errors(self):
        return [m["message"] for m in self.replies if m["type"] == "error"]

    def all_finished(self):
        """Every run requested so far has begun and finished."""
        runs = self.runs()
        return len(runs) == self.runs_requested and all(finished(r) for r in runs.values())

    def latest_started(self):
        """The latest run requested has begun running (or has already finished)."""
        runs = list(self.runs().values())
        return len(runs) == self.runs_requested and (
            not runs or any(m["type"] == "status" and m["state"] != "queued" for m in runs[-1]))

    def forget(self):
        """Drop the replies (checked already) and the count of runs: a long soak stays small."""
        self.replies.clear()
        self.runs_requested = 0

    def close(self, abrupt=False):
        """A closing handshake, or `abrupt`: the TCP connection just goes (a tab killed, a cable pulled)."""
        self.open = False
        if abrupt:
            try:
                self.ws.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.ws.sock.close()
        else:
            self.ws.close()

    def summary(self):
        return [{k: v for k, v in m.items() if k != "events"} | ({"events": len(m["events"])} if "events" in m else {})
                for m in self.replies[-12:]]


def finished(messages):
    return any(m["type"] == "status" and m["state"] == "finished" for m in messages)


def check_run(messages):
    """One run's replies as the contract orders them: `queued`*, `running`, its events (run.start
    first, run.end last, seq 0..n-1), then exactly one `finished` with run.end's status, last — or
    `queued`*, `finished` stopped when it was stopped before it started. Its events, in order."""
    states = [m["state"] for m in messages if m["type"] == "status"]
    assert states.count("finished") == 1 and messages[-1].get("state") == "finished", states
    before = states[:-1]
    assert all(s == "queued" for s in before[:-1]) and before[-1:] in ([], ["queued"], ["running"]), states
    events = [e for m in messages if m["type"] == "events" for e in m["events"]]
    if "running" not in states:
        assert not events and messages[-1]["status"] == "stopped", messages
        return events
    first_events = next((i for i, m in enumerate(messages) if m["type"] == "events"), len(messages))
    assert messages[first_events - 1].get("state") == "running", "events came before the running status"
    assert events and events[0]["kind"] == "run.start" and events[-1]["kind"] == "run.end", \
        [e.get("kind") for e in events[:3] + events[-3:]]
    assert [e["seq"] for e in events] == list(range(len(events)))
    assert messages[-1]["status"] == events[-1]["status"]
    return events


def check_no_interleaving(transcript):
    """Run ids grow per socket (a later request gets a later id), and once a run's replies stop,
    its id never comes back: two runs' messages never interleave."""
    order = [m["run"] for m in transcript.replies if m["type"] != "error"]
    blocks = [run for i, run in enumerate(order) if i == 0 or order[i - 1] != run]
    assert blocks == sorted(set(blocks)), f"runs interleaved: {blocks}"
