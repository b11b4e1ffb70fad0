"""A real Loopscope server in a subprocess on a free port, and a small WebSocket client for tests."""

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import simple_websocket

from conftest import ROOT, child_processes


def wait_until(condition, timeout):
    """Poll a condition until it holds; False if it never did."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LiveServer:
    def __init__(self, *args, port=None, env=None, root=ROOT):
        """`args` for `python -m server`; without `--spares`, none (each run starts its own child, so
        that any sandboxed process a test sees belongs to a run). `root`: the checkout to serve (the
        benchmarks compare two side by side)."""
        if "--spares" not in args:
            args = (*args, "--spares", "0")
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "server", "--port", str(self.port), *args], cwd=root,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})},
        )
        # Read the log as it comes: a pipe nobody reads holds 64 KiB, then the server blocks in its
        # next log line (a few hundred runs), with that run's pool slot still taken.
        self._log = []
        self._reader = threading.Thread(target=lambda: self._log.extend(self.process.stderr), daemon=True)
        self._reader.start()
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(self.url + "/api/health", timeout=1).read()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.process.kill()
                    raise RuntimeError(f"the server did not start: {self.stop()}") from None
                time.sleep(0.05)

    def get(self, path):
        """(status, JSON body) of a GET."""
        try:
            with urllib.request.urlopen(self.url + path, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def log_so_far(self):
        """The server's log lines until now."""
        return "".join(list(self._log))

    def client(self, headers=None, deflate=False):
        """A WebSocket client; with `deflate`, one that offers permessage-deflate, as browsers do."""
        return Client(f"ws://127.0.0.1:{self.port}/ws", headers, deflate)

    def idle(self):
        """Nothing running or queued, by its own account (/api/health), and no sandboxed child alive."""
        health = self.get("/api/health")[1]
        runs = health["runs"]
        return runs["running"] == 0 and runs["queued"] == 0 and not child_processes(health["spares"]["pids"])

    def stop(self):
        """Stop like an operator would (SIGTERM); the server's log lines."""
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait(timeout=30)
        self._reader.join(timeout=30)
        return "".join(self._log)


class _DeflatingClient(simple_websocket.Client):
    """simple-websocket's client (1.1.0), offering permessage-deflate in its handshake (its own
    offers no extension); wsproto then inflates what the server compressed."""

    def handshake(self):
        from wsproto.events import Request
        from wsproto.extensions import PerMessageDeflate

        send = self.ws.send
        self.ws.send = lambda event: send(Request(host=event.host, target=event.target, subprotocols=event.subprotocols,
                                                  extensions=[PerMessageDeflate()], extra_headers=event.extra_headers))
        try:
            super().handshake()
        finally:
            self.ws.send = send


class Client:
    def __init__(self, url, headers=None, deflate=False):
        self.ws = (_DeflatingClient if deflate else simple_websocket.Client).connect(url, headers=headers)

    def send(self, message):
        self.ws.send(message if isinstance(message, str) else json.dumps(message))

    def receive(self, timeout=30):
        text = self.ws.receive(timeout=timeout)
        assert text is not None, "no message from the server in time"
        return json.loads(text)

    def until(self, predicate, timeout=30):
        """Messages up to and including the first one that satisfies `predicate`."""
        seen, deadline = [], time.monotonic() + timeout
        while True:
            message = self.receive(max(0.1, deadline - time.monotonic()))
            seen.append(message)
            if predicate(message):
                return seen

    def run(self, **request):
        """Send a run request and collect everything until it has finished: (events, messages)."""
        self.send({"op": "run", **request})
        messages = self.until(lambda m: m["type"] == "error" or (m["type"] == "status" and m["state"] == "finished"))
        events = [e for m in messages if m["type"] == "events" for e in m["events"]]
        return events, messages

    def close(self):
        self.ws.close()


def stalled_client(port, request, receive_buffer=4096):
    """A socket that opens /ws, sends one request and then never reads: the kernel's buffers fill
    and the server's sends block. Returns the socket (close it when done)."""
    import base64

    connection = socket.socket()
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)  # a small TCP window
    connection.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    connection.sendall((f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    reply = b""
    while b"\r\n\r\n" not in reply:
        reply += connection.recv(1)
    assert reply.startswith(b"HTTP/1.1 101"), reply
    payload = json.dumps(request).encode()
    mask = os.urandom(4)
    masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
    assert len(payload) < 65536
    head = bytes([0x81, 0x80 | 126]) + len(payload).to_bytes(2, "big") if len(payload) > 125 else \
        bytes([0x81, 0x80 | len(payload)])
    connection.sendall(head + mask + masked)
    return connection


class SlowReader:
    """A WebSocket client that sends one request, then reads only `rate` bytes a second, answering
    the server's pings as it comes across them (an alive client on a very slow line)."""

    def __init__(self, port, request, rate=40_000, receive_buffer=4096):
        import threading

        from wsproto import ConnectionType, WSConnection
        from wsproto.events import AcceptConnection, Ping, Request, TextMessage

        self._ping, self._text = Ping, TextMessage
        self.messages, self.error = [], None  # the whole text messages received; what broke the reading
        self._partial = ""
        self.connection = WSConnection(ConnectionType.CLIENT)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.sock.connect(("127.0.0.1", port))
        self.sock.sendall(self.connection.send(Request(host=f"127.0.0.1:{port}", target="/ws")))
        while not any(isinstance(e, AcceptConnection) for e in self._events(self.sock.recv(4096))):
            pass
        self.sock.sendall(self.connection.send(TextMessage(data=json.dumps(request))))
        self.rate = rate
        self.closed_by_server = threading.Event()
        self.frozen = threading.Event()  # set: it reads (and answers) nothing more, yet stays connected
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _events(self, data):
        self.connection.receive_data(data)
        return list(self.connection.events())

    def _read(self):
        chunk = max(1, self.rate // 10)
        try:
            while True:
                while self.frozen.is_set():
                    if self._closing.wait(0.05):
                        return
                data = self.sock.recv(chunk)
                if not data:
                    break
                for event in self._events(data):
                    if isinstance(event, self._ping):
                        self.sock.sendall(self.connection.send(event.response()))
                    elif isinstance(event, self._text):
                        self._partial += event.data
                        if event.message_finished:
                            self.messages.append(self._partial)
                            self._partial = ""
                time.sleep(0.1)
        except Exception as exc:  # noqa: BLE001 - reset, a closed connection, or frames that make no sense
            self.error = exc
        self.closed_by_server.set()

    def close(self):
        self._closing.set()
        self.sock.close()
