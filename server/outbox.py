"""What the server sends one socket, sent by a thread of its own: no run ever waits for its client.

A client that stops reading fills the kernel's buffers, and a plain `send` then blocks
for as long as it likes: the run's time limit stopped counting and its pool slot was
held for minutes. Here the run only queues its messages; the outbox's thread sends them.
A client is cut off (its socket shut down, so its run is stopped) when more than
`max_bytes` wait unsent, or when one send makes no progress for `stall` seconds (the
socket's send timeout, SO_SNDTIMEO); `keepalive.py` cuts off clients that are gone.
"""

import collections
import socket
import struct
import threading

from flask_sock import ConnectionClosed
from wsproto.events import TextMessage
from wsproto.utilities import LocalProtocolError


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
        # down) or sent a message past the limit (simple-websocket's close frame, 1009, is sent before):
        # closing then drops what the kernel still holds for it (a reset). A client too slow
        # to read that would keep those buffers, and the socket, for minutes.
        ws.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        ws.sock = _OneWriter(ws.sock)
        self._thread = threading.Thread(target=self._send_all, name="outbox", daemon=True)
        self._thread.start()

    def put(self, text):
        """Queue one message; ConnectionClosed once the client has gone or been cut off."""
        with self._ready:
            if self._closed:
                raise ConnectionClosed()
            # (One message alone may be larger: a run's messages are bounded by its limits.)
            overflow = self._bytes > 0 and self._bytes + len(text) > self.max_bytes
            if overflow:
                self._cut(f"more than {self.max_bytes / 2**20:g} MiB waited to be sent")
            else:
                self._queue.append(text)
                self._bytes += len(text)
                self._ready.notify()
        if overflow:
            self.on_cut()
            raise ConnectionClosed()

    def cut(self, reason):
        """Cut the client off (thread-safe): its socket is shut and its run stopped."""
        with self._ready:
            if self._closed:
                return
            self._cut(reason)
        self.on_cut()

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
            except Exception as exc:  # noqa: BLE001 - whatever stops the sending ends this client, never silently
                with self._ready:
                    if self._closed:
                        return
                    if isinstance(exc, (BlockingIOError, TimeoutError)):
                        self._cut("the client accepted nothing for too long")
                    elif isinstance(exc, (ConnectionClosed, OSError, LocalProtocolError)):
                        self._cut(None)  # it went away (or is closing: wsproto refuses more messages)
                    else:  # (the type only: an exception's text may quote the whole message)
                        self._cut(f"a message could not be sent ({type(exc).__name__})")
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


class _OneWriter:
    """The socket, with one writer at a time. simple-websocket's own thread sends pings and pongs
    while the outbox sends a message, and each `send` may go out in pieces: unlocked, a ping
    landed inside a large text frame and the client saw garbage. Its `send` sends all of it too
    (simple-websocket drops what a partial `send` did not take)."""

    def __init__(self, sock):
        self._sock = sock
        self._lock = threading.Lock()

    def send(self, data):
        with self._lock:
            self._sock.sendall(data)
        return len(data)

    def sendall(self, data):
        with self._lock:
            self._sock.sendall(data)

    def try_send(self, data):
        """Send `data` now if no one else is sending and it fits without waiting; True if it went."""
        if not self._lock.acquire(blocking=False):
            return False
        try:
            return self._sock.send(data, socket.MSG_DONTWAIT) == len(data)
        except OSError:
            return False
        finally:
            self._lock.release()

    def __getattr__(self, name):
        return getattr(self._sock, name)
