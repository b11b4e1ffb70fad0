"""A real Loopscope server in a subprocess on a free port, and a small WebSocket client for tests."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import simple_websocket

from conftest import ROOT


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LiveServer:
    def __init__(self, *args, port=None, env=None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "server", "--port", str(self.port), *args], cwd=ROOT,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})},
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(self.url + "/api/health", timeout=1).read()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not start: {self.process.stderr.read()}") from None
                time.sleep(0.05)

    def get(self, path):
        """(status, JSON body) of a GET."""
        try:
            with urllib.request.urlopen(self.url + path, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def client(self):
        return Client(f"ws://127.0.0.1:{self.port}/ws")

    def stop(self):
        """Stop like an operator would (SIGTERM); the server's log lines."""
        if self.process.poll() is None:
            self.process.terminate()
        _, log = self.process.communicate(timeout=30)
        return log


class Client:
    def __init__(self, url):
        self.ws = simple_websocket.Client.connect(url)

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
