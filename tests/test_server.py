"""The server, tested as clients see it: a real process, real HTTP and real WebSockets."""

import json
import os
import signal
import subprocess
import sys
import threading

import pytest

from conftest import ROOT, child_processes
from server import catalog
from servers import LiveServer, wait_until

SILENT = "import time\nprint('started', flush=True)\nwhile True:\n    time.sleep(1)\n"


@pytest.fixture(scope="module")
def server():
    live = LiveServer()
    yield live
    live.stop()


@pytest.fixture
def client(server):
    connection = server.client()
    yield connection
    connection.close()



# -- HTTP ----------------------------------------------------------------------------------

def test_the_page_is_served(server):
    import urllib.request

    with urllib.request.urlopen(server.url + "/") as response:
        assert response.status == 200 and b"Loopscope" in response.read()


def test_scenario_list_has_what_the_page_needs(server):
    status, body = server.get("/api/scenarios")
    assert status == 200
    assert [s["id"] for s in body] == list(catalog.scenarios())
    tasks = next(s for s in body if s["id"] == "tasks")
    assert set(tasks) >= {"id", "title", "summary", "modes", "source"}
    assert tasks["modes"] == ["non-blocking", "blocking"]
    assert "time.sleep(2)" in tasks["source"]["blocking"] and "time.sleep(2)" not in tasks["source"]["non-blocking"]


def test_one_scenario_and_json_404s(server):
    status, body = server.get("/api/scenarios/futures")
    assert status == 200 and body["modes"] == ["non-blocking"]
    assert server.get("/api/scenarios/nope") == (404, {"error": "Unknown scenario 'nope'."})
    assert server.get("/no/such/page") == (404, {"error": "Not found."})


def test_health_reports_sandbox_and_pool(server):
    status, body = server.get("/api/health")
    assert status == 200 and body["ok"] is True
    assert body["sandbox"]["full"] is True and body["sandbox"]["own_code"] is True
    assert body["runs"]["max_running"] >= 1


# -- WebSocket runs ------------------------------------------------------------------------

@pytest.mark.parametrize("scenario_id,mode", [(s.id, m) for s in catalog.scenarios().values() for m in s.modes])
def test_every_scenario_streams_from_start_to_end(client, scenario_id, mode):
    events, messages = client.run(scenario=scenario_id, blocking=mode == "blocking")
    assert events[0]["kind"] == "run.start" and events[0]["target"] == scenario_id
    assert events[-1]["kind"] == "run.end" and events[-1]["status"] == "ok"
    assert [e["seq"] for e in events] == list(range(len(events)))
    states = [m["state"] for m in messages if m["type"] == "status"]
    assert states == ["running", "finished"] and messages[-1]["status"] == "ok"
    assert all(len(m["events"]) <= 500 for m in messages if m["type"] == "events")


def _frames(data):
    """(compressed, opcode, payload) of each whole frame in `data`, bytes a server sent (unmasked)."""
    pos = 0
    while pos + 2 <= len(data):
        head, size, pos = data[pos], data[pos + 1] & 0x7F, pos + 2
        if size >= 126:
            width = 2 if size == 126 else 8
            size, pos = int.from_bytes(data[pos:pos + width], "big"), pos + width
        if pos + size > len(data):
            return
        yield bool(head & 0x40), head & 0x0F, bytes(data[pos:pos + size])
        pos += size


def test_a_client_that_offers_compression_gets_the_same_run_compressed_at_zlibs_fastest_level(server, client):
    """Browsers offer permessage-deflate: the server compresses every message, at zlib's level 1
    (server/deflate.py), and the client gets every event as a client without compression does."""
    import zlib

    deflating = server.client(deflate=True)
    received = bytearray()  # what the server sent, as it came off the socket
    connection = deflating.ws.ws
    feed = connection.receive_data
    connection.receive_data = lambda data: (received.extend(data or b""), feed(data))[1]
    try:
        compressed, messages = deflating.run(scenario="tasks")
    finally:
        deflating.close()
    plain, _ = client.run(scenario="tasks")
    assert compressed == plain and compressed[-1]["kind"] == "run.end"
    assert messages[-1]["type"] == "status" and messages[-1]["status"] == "ok"
    texts = [(flag, payload) for flag, opcode, payload in _frames(received) if opcode == 1]
    assert len(texts) == len(messages) and all(flag for flag, _ in texts)
    inflate, level_one = zlib.decompressobj(-15), zlib.compressobj(1, zlib.DEFLATED, -15)  # (context takeover)
    for (_, payload), message in zip(texts, messages):
        text = inflate.decompress(payload + b"\x00\x00\xff\xff")
        assert json.loads(text) == message
        assert payload == (level_one.compress(text) + level_one.flush(zlib.Z_SYNC_FLUSH))[:-4]


def test_own_code_runs_in_the_sandbox(client):
    events, _ = client.run(code="import asyncio\nasync def main():\n    print('mine')\nasyncio.run(main())\n")
    assert [e["text"] for e in events if e["kind"] == "stdout"] == ["mine\n"]
    assert events[0]["file"] == "main.py"


def test_own_code_blocking_mode_makes_sleep_hold_the_loop(client):
    code = "import asyncio\nasync def main():\n    await asyncio.sleep(1)\nasyncio.run(main())\n"
    events, _ = client.run(code=code, blocking=True)
    [blocked] = [e for e in events if e["kind"] == "loop.blocked"]
    assert blocked["line"] == 3 and blocked["cause"] == "sleep"


BAD_REQUESTS = [
    ("not json", "not JSON"),
    ("[1, 2]", "JSON object"),
    ({"scenario": "tasks"}, "no \"op\" field"),
    ({"op": "dance"}, "Unknown op 'dance'"),
    ({"op": "run"}, "exactly one of"),
    ({"op": "run", "scenario": "tasks", "code": "pass"}, "exactly one of"),
    ({"op": "run", "scenario": "no-such"}, "Unknown scenario 'no-such'"),
    ({"op": "run", "scenario": 7}, "must be a scenario id"),
    ({"op": "run", "scenario": "tasks", "blocking": "yes"}, "\"blocking\" must be true or false"),
    ({"op": "run", "scenario": "tasks", "clock": "sundial"}, "\"clock\" must be"),
    ({"op": "run", "scenario": "tasks", "speed": 2}, "Unknown field(s) in a run request: 'speed'"),
    # a field named with a lone surrogate: valid JSON, but no UTF-8 frame can carry it back as is
    ('{"op": "run", "scenario": "tasks", "\\ud800": 1}', "Unknown field(s) in a run request: '\\ud800'"),
    ({"op": "run", "scenario": "futures", "blocking": True}, "has no blocking variant"),
    ({"op": "run", "code": 42}, "must be Python source text"),
    ({"op": "run", "code": "   "}, "The code is empty"),
    ({"op": "run", "code": "x = 1\n" * 20000}, "The code is too large: 117 KiB, the limit is 64 KiB"),
    ({"op": "run", "code": "x = 1\n" * 100000}, "The code is too large: 586 KiB, the limit is 64 KiB"),
    ({"op": "stop"}, "Nothing is running"),
]


@pytest.mark.parametrize("request_,message", BAD_REQUESTS, ids=[m for _, m in BAD_REQUESTS])
def test_bad_input_gets_an_error_and_the_socket_stays_usable(client, request_, message):
    client.send(request_)
    reply = client.receive()
    assert reply["type"] == "error" and message in reply["message"], reply
    events, _ = client.run(scenario="sequential")
    assert events[-1]["status"] == "ok"


def test_binary_messages_are_refused(client):
    client.ws.send(b"\x00\x01")
    assert "JSON text, not binary" in client.receive()["message"]


def test_stop_ends_the_run_with_status_stopped(client):
    client.send({"op": "run", "code": SILENT, "clock": "real"})
    client.until(lambda m: m["type"] == "events" and any(e["kind"] == "stdout" for e in m["events"]))
    client.send({"op": "stop"})
    messages = client.until(lambda m: m["type"] == "status" and m["state"] == "finished")
    events = [e for m in messages if m["type"] == "events" for e in m["events"]]
    assert events[-1]["kind"] == "run.end" and events[-1]["status"] == "stopped"
    assert messages[-1]["status"] == "stopped"
    assert wait_until(lambda: not child_processes(), 2)


def test_a_second_run_stops_the_first_then_runs(client):
    client.send({"op": "run", "code": SILENT, "clock": "real"})
    first = client.until(lambda m: m["type"] == "events" and any(e["kind"] == "stdout" for e in m["events"]))
    first_id = first[0]["run"]
    client.send({"op": "run", "scenario": "tasks"})
    messages = client.until(lambda m: m.get("state") == "finished" and m["run"] != first_id)
    run_ids = {m["run"] for m in messages if "run" in m}
    old = [e for m in messages if m["type"] == "events" and m["run"] == first_id for e in m["events"]]
    assert old[-1]["kind"] == "run.end" and old[-1]["status"] == "stopped"
    new_id = max(run_ids)
    new = [e for m in messages if m["type"] == "events" and m["run"] == new_id for e in m["events"]]
    assert new_id != first_id and new[-1]["status"] == "ok"
    # the old run has completely finished before the new one says anything
    first_new = next(i for i, m in enumerate(messages) if m.get("run") == new_id)
    assert all(m.get("run") != first_id for m in messages[first_new:])


def test_disconnect_mid_run_ends_the_child(server):
    connection = server.client()
    connection.send({"op": "run", "code": SILENT, "clock": "real"})
    connection.until(lambda m: m["type"] == "events" and any(e["kind"] == "stdout" for e in m["events"]))
    assert child_processes()
    connection.ws.sock.shutdown(2)  # abrupt: no closing handshake, while the run is silent
    connection.ws.sock.close()
    assert wait_until(lambda: not child_processes(), 2)


def test_unresponsive_peer_is_dropped_by_the_ping_watchdog(server):
    script = (
        "import json, sys, time, simple_websocket\n"
        f"ws = simple_websocket.Client.connect('ws://127.0.0.1:{server.port}/ws')\n"
        f"ws.send(json.dumps({{'op': 'run', 'code': {SILENT!r}, 'clock': 'real'}}))\n"
        "while 'stdout' not in (ws.receive() or ''):\n    pass\n"
        "print('ready', flush=True)\ntime.sleep(60)\n"
    )
    peer = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert peer.stdout.readline().strip() == "ready"
        assert child_processes()
        os.kill(peer.pid, signal.SIGSTOP)  # still connected, never answers a ping again
        assert wait_until(lambda: not child_processes(), 4)
    finally:
        peer.kill()
        peer.wait()


def test_twenty_clients_at_once_all_finish(server):
    results = []

    def one_client():
        connection = server.client()
        try:
            events, messages = connection.run(scenario="tasks")
            results.append((events[-1]["status"], [m for m in messages if m["type"] == "status"]))
        finally:
            connection.close()

    threads = [threading.Thread(target=one_client) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert [status for status, _ in results] == ["ok"] * 20
    queued = [s for _, statuses in results for s in statuses if s["state"] == "queued"]
    assert queued and all(s["position"] >= 1 for s in queued)


def test_past_the_queue_limit_the_server_says_busy():
    live = LiveServer("--max-runs", "1", "--max-queued", "1")
    clients = [live.client() for _ in range(3)]
    try:
        replies = []
        for connection in clients:  # one after another, so which one gets the slot is certain
            connection.send({"op": "run", "code": SILENT, "clock": "real"})
            replies.append(connection.receive())
        assert replies[0]["state"] == "running"
        assert replies[1] == {"type": "status", "run": replies[0]["run"] + 1, "state": "queued", "position": 1}
        busy = replies[2]
        assert busy["type"] == "error" and "The server is busy" in busy["message"]
        clients[0].send({"op": "stop"})
        assert clients[1].until(lambda m: m.get("state") == "running")
    finally:
        for connection in clients:
            connection.close()
        live.stop()
    assert wait_until(lambda: not child_processes(), 2)


def test_stopping_the_server_ends_every_run_and_logs_each_run():
    live = LiveServer()
    connection = live.client()
    connection.run(scenario="tasks", blocking=True)
    connection.send({"op": "run", "code": SILENT, "clock": "real"})
    connection.until(lambda m: m["type"] == "events" and any(e["kind"] == "stdout" for e in m["events"]))
    assert child_processes()
    log = live.stop()
    assert not child_processes()
    runs = [json.loads(line.split(" loopscope run ", 1)[1]) for line in log.splitlines() if " loopscope run " in line]
    assert {k: runs[0][k] for k in ("target", "mode", "clock", "status", "client")} == {
        "target": "tasks", "mode": "blocking", "clock": "virtual", "status": "ok", "client": "127.0.0.1"}
    assert runs[0]["events"] > 50 and runs[0]["duration"] > 0
    assert runs[1]["target"] == "own code" and runs[1]["status"] == "stopped"


def test_a_runs_events_go_out_in_order_in_batches_of_at_most_500():
    from server import relay

    def event(seq, kind="stdout", **fields):
        return {"v": 1, "seq": seq, "t": 0.0, "kind": kind, **fields}

    class Run:  # what relay.messages asks of a runner.Run: its events in lists, pauses between
        closed = False

        def batches(self, pauses=False):
            try:
                yield [event(i) for i in range(1234)]  # (one read of the pipe can bring thousands)
                yield None
                yield [event(1234 + i) for i in range(500)]
                yield [event(1734), event(1735, "run.end", status="ok")]
            finally:
                Run.closed = True

    messages = list(relay.messages(Run(), 7))
    assert [state for state, _ in messages][0] == "running" and messages[-1] == ("finished", messages[-1][1])
    assert messages[-1][1]["status"] == "ok" and Run.closed
    batches = [message["events"] for state, message in messages if state == "events"]
    assert [len(batch) for batch in batches] == [500, 500, 234, 500, 2]
    assert [e["seq"] for batch in batches for e in batch] == list(range(1736))
