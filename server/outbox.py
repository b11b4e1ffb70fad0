"""What the server sends one socket, sent by a thread of its own: no run ever waits for its client.

A client that stops reading fills the kernel's buffers, and a plain `send` then blocks
for as long as it likes: the run's time limit stopped counting and its pool slot was
held for minutes. Here the run only queues its messages; the outbox's thread sends them.
A client is cut off (its socket shut down, so its run is stopped) when more than
`max_bytes` wait unsent, or when one send makes no progress for `stall` seconds (the
socket's send timeout, SO_SNDTIMEO, which also bounds simple-websocket's own pings).
"""

import collections
import socket
import struct
import threading

from flask_sock import ConnectionClosed
from wsproto.events import TextMessage


class Outbox:
    def __init__(self, ws, max_bytes, stall, on_cut):
        self.ws = ws
        self.max_bytes = max_bytes
        self.on_cut = on_cut
        self.cut_reason = None  # why the client was cut off, if it was
        self._queue = collections.deque()
        self._bytes = 0
        self._closed = False
        self._ready = threading.Condition()
        seconds = int(stall)
        ws.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO,
                           struct.pack("ll", seconds, int((stall - seconds) * 1e6)))
        # The server closes a socket only when its client has gone quiet (no pong, cut off, shutting
        # down): closing then drops what the kernel still holds for it (a reset). A client too slow
        # to read that would keep those buffers, and the socket, for minutes.
        ws.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self._thread = threading.Thread(target=self._send_all, name="outbox", daemon=True)
        self._thread.start()

    def put(self, text):
        """Queue one message; ConnectionClosed once the client has gone or been cut off."""
        with self._ready:
            if self._closed:
                raise ConnectionClosed()
            overflow = self._bytes + len(text) > self.max_bytes
            if overflow:
                self._cut(f"more than {self.max_bytes / 2**20:g} MiB waited to be sent")
            else:
                self._queue.append(text)
                self._bytes += len(text)
                self._ready.notify()
        if overflow:
            self.on_cut()
            raise ConnectionClosed()

    def close(self):
        """No more messages: the thread ends (what is queued is dropped: the socket is closing)."""
        with self._ready:
            self._closed = True
            self._ready.notify()

    def _send_all(self):
        while True:
            with self._ready:
                while not self._queue and not self._closed:
                    self._ready.wait()
                if self._closed:
                    return
                text = self._queue.popleft()
            try:
                self._send(text)
            except (ConnectionClosed, OSError) as exc:
                with self._ready:
                    if self._closed:
                        return
                    stalled = isinstance(exc, (BlockingIOError, TimeoutError))
                    self._cut("the client accepted nothing for too long" if stalled else None)
                self.on_cut()
                return
            with self._ready:
                self._bytes -= len(text)

    def _send(self, text):
        # simple-websocket's own send (checked with 1.1.0) calls `sock.send` once and drops what it
        # did not take: with a send timeout that would cut a frame in two. `sendall` goes on while
        # the client makes progress and raises once one wait runs out.
        ws = self.ws
        if not ws.connected:
            raise ConnectionClosed()
        ws.sock.sendall(ws.ws.send(TextMessage(data=text)))

    def _cut(self, reason):
        """(Holding the lock; the caller tells the owner after it.) Stop sending and shut the socket:
        a send or receive blocked on it returns, and the receive loop ends."""
        self._closed = True
        self._queue.clear()
        self._ready.notify()
        if reason is not None:
            self.cut_reason = reason
        try:
            self.ws.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already closed
