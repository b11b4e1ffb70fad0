"""A client that does not read cannot hold the server: its run ends in bounded time, the slot goes on."""

import json
import time

from conftest import child_processes
from servers import LiveServer, SlowReader, stalled_client, wait_until

# A fast run of many events: about 7 MB of messages, more than the kernel's socket buffers hold
# (a send buffer grows to 4 MiB here: /proc/sys/net/ipv4/tcp_wmem), within the run's limits.
FLOOD = "for n in range(45_000):\n    print(f'{n:>84}')\n"
IDLE = {"running": 0, "queued": 0, "max_running": 2, "max_queued": 64}



def closed_by_server(connection, timeout):
    """Read what the server sent until it closed the socket (True), or until `timeout` (False)."""
    connection.settimeout(0.5)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if not connection.recv(1 << 20):
                return True
        except TimeoutError:
            continue
        except OSError:
            return True
    return False


def test_clients_that_never_read_lose_their_runs_while_another_client_is_served():
    live = LiveServer("--max-runs", "2", "--run-timeout", "30")
    stalled = []
    try:
        stalled = [stalled_client(live.port, {"op": "run", "code": FLOOD}) for _ in range(4)]
        assert wait_until(lambda: live.get("/api/health")[1]["runs"]["running"] == 2, 10)
        started = time.monotonic()
        reader = live.client()
        events, _ = reader.run(scenario="tasks", blocking=True)
        reader.close()
        assert events[-1]["status"] == "ok"
        # Each stalled run ends well before its 30 s time limit (they answer no pings) and frees its slot.
        assert time.monotonic() - started < 20
        assert wait_until(lambda: live.get("/api/health")[1]["runs"] == IDLE, 15)
        assert wait_until(lambda: not child_processes(), 10)
        for connection in stalled:
            assert closed_by_server(connection, 10)
    finally:
        for connection in stalled:
            connection.close()
        live.stop()


def test_clients_that_read_too_slowly_are_cut_off_at_the_backlog_bound():
    live = LiveServer("--max-runs", "2", "--run-timeout", "30", "--client-backlog", "0.25")
    slow = []
    try:
        slow = [SlowReader(live.port, {"op": "run", "code": FLOOD}) for _ in range(3)]
        assert wait_until(lambda: live.get("/api/health")[1]["runs"]["running"] == 2, 10)
        reader = live.client()
        events, _ = reader.run(scenario="tasks")
        reader.close()
        assert events[-1]["status"] == "ok"
        assert wait_until(lambda: live.get("/api/health")[1]["runs"] == IDLE, 20)
        assert wait_until(lambda: not child_processes(), 10)
        assert all(client.closed_by_server.wait(10) for client in slow)
    finally:
        for client in slow:
            client.close()
        log = live.stop()
    # (A client whose pong waits behind megabytes may be dropped by the ping watchdog first.)
    assert log.count("client cut off: more than 0.25 MiB waited to be sent") >= 1


def test_a_runs_time_limit_holds_whatever_its_client_does():
    # A client that reads 2 kB a second (answering pings, so it stays connected) and a backlog bound
    # it never reaches: only the run's 2 s time limit can end the run.
    live = LiveServer("--max-runs", "1", "--run-timeout", "2", "--client-backlog", "64")
    spin = "import sys\nwhile True:\n    print('x' * 500)\n    sys.stdout.flush()\n"
    client = None
    try:
        client = SlowReader(live.port, {"op": "run", "code": spin, "clock": "real"}, rate=2000)
        assert wait_until(lambda: live.get("/api/health")[1]["runs"]["running"] == 1, 10)
        started = time.monotonic()
        assert wait_until(lambda: live.get("/api/health")[1]["runs"]["running"] == 0, 10)
        assert time.monotonic() - started < 5
        assert wait_until(lambda: not child_processes(), 10)
        assert not client.closed_by_server.is_set()  # it was not cut off: the time limit ended the run
    finally:
        if client is not None:
            client.close()
        live.stop()


def test_pings_never_land_inside_a_message():
    """simple-websocket's pings and the server's messages share the socket: a large message sent in
    pieces while a ping went out made the client read garbage (a ping frame inside a text frame)."""
    live = LiveServer("--max-runs", "1")
    try:
        for _ in range(3):
            client = SlowReader(live.port, {"op": "run", "code": BIG_MESSAGES}, rate=2_560_000,
                                receive_buffer=65536)
            assert wait_until(lambda: any('"finished"' in m for m in client.messages) or client.error, 60)
            client.close()
            assert client.error is None or isinstance(client.error, OSError), repr(client.error)
            for text in client.messages:
                json.loads(text)  # each one whole
            assert any('"run.end"' in m for m in client.messages)
    finally:
        live.stop()


# Few events with long lines: messages of about a megabyte each, sent in many pieces.
BIG_MESSAGES = "for n in range(3_000):\n    print(str(n) * 300)\n"


def test_a_client_that_stops_reading_after_answering_pings_is_dropped():
    # It answered pings for a while, so its last ping stood answered: the keepalive must still
    # see that it takes no data.
    live = LiveServer("--max-runs", "1", "--run-timeout", "30")
    client = None
    try:
        client = SlowReader(live.port, {"op": "run", "code": "import time\ntime.sleep(2.5)\n" + FLOOD,
                                        "clock": "real"}, rate=10_000_000, receive_buffer=65536)
        assert wait_until(lambda: any('"running"' in m for m in client.messages), 10)
        client.frozen.set()
        assert wait_until(lambda: "client cut off: it answered no ping and took no data" in live.log_so_far(), 15)
        assert wait_until(lambda: live.get("/api/health")[1]["runs"]["running"] == 0, 15)  # (its run had 30 s)
    finally:
        if client is not None:
            client.close()
        live.stop()


def test_a_client_reading_steadily_but_slowly_keeps_its_run():
    """While a sender waits with more to send, the kernel refills its queue as fast as the client
    drains it: the queue's size did not tell a slow reader from a stopped one (it cut this one off)."""
    live = LiveServer("--max-runs", "1", "--run-timeout", "30")
    client = None
    try:
        client = SlowReader(live.port, {"op": "run", "code": FLOOD}, rate=1_000_000, receive_buffer=65536)
        assert wait_until(lambda: any('"finished"' in m for m in client.messages) or client.error, 40)
        assert client.error is None and any('"run.end"' in m for m in client.messages)
    finally:
        if client is not None:
            client.close()
        log = live.stop()
    assert "client cut off" not in log
