"""Which clients are still there: one thread pings every open socket and drops those that are gone.

simple-websocket's own watchdog (a ping a second, the socket closed when no pong came back in
time) dropped every client that was merely slow: a pong comes back only after the client has
read everything queued before the ping, and a few megabytes of trace take longer than a second
on an ordinary line. Here a client counts as there while it answers pings *or* takes data: the
kernel counts more bytes acknowledged by it (TCP_INFO). One that does neither for
`patience` seconds is cut off (its run stopped), as is a half-open peer that answers nothing.
"""

import fcntl
import logging
import socket
import struct
import termios
import threading

log = logging.getLogger("loopscope")

_PING = b"\x89\x00"  # a server's ping frame with no payload (server frames are not masked)
_SMALL_QUEUE = 8 * 1024  # a ping is sent only while this little waits: it fits, and never blocks the watchdog


def unacknowledged(sock):
    """Bytes sent to the peer that it has not acknowledged yet (TIOCOUTQ is SIOCOUTQ)."""
    try:
        return struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0"))[0]
    except (OSError, ValueError):  # (a closed socket's fileno is -1)
        return None


def acknowledged(sock):
    """Bytes the peer has acknowledged since the connection began (tcp_info's tcpi_bytes_acked,
    Linux 4.2+, at offset 120). The queue of unacknowledged bytes says less: while a sender waits
    with more to send, the kernel refills it as fast as the peer drains it."""
    try:
        return struct.unpack_from("Q", sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256), 120)[0]
    except (OSError, ValueError, struct.error):
        return None


class _Watched:
    def __init__(self, ws, outbox):
        self.ws, self.outbox = ws, outbox
        self.acked = acknowledged(ws.sock)
        self.pinged = False  # a ping of ours went out and waits for its pong
        self.quiet = 0.0  # seconds without a pong or progress


class Keepalive:
    def __init__(self, interval=1.0, patience=2.0):
        self.interval = interval
        self.patience = patience
        self._watched = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread = None

    def watch(self, ws, outbox):
        """Ping `ws` from now on; when it is gone, `outbox.cut(reason)`."""
        with self._lock:
            self._watched[id(ws)] = _Watched(ws, outbox)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="keepalive", daemon=True)
                self._thread.start()

    def forget(self, ws):
        with self._lock:
            self._watched.pop(id(ws), None)

    def _run(self):
        while not self._wake.wait(self.interval):
            with self._lock:
                watched = list(self._watched.values())
            for each in watched:
                try:
                    self._check(each)
                except Exception:  # noqa: BLE001 - one socket's trouble must not stop the watching of all
                    log.exception("keepalive: checking a client failed")

    def _check(self, each):
        ws = each.ws
        if not ws.connected:
            return
        queued, acked = unacknowledged(ws.sock), acknowledged(ws.sock)
        # Data taken: more acknowledged than a ping of ours (a stopped process's kernel still
        # acknowledges what fits in its buffer, pings included).
        progressed = acked is not None and each.acked is not None and acked > each.acked + len(_PING)
        each.acked = acked
        answered = each.pinged and ws.pong_received
        if answered:
            each.pinged = False
        small = queued is not None and queued < _SMALL_QUEUE
        # There this tick: it answered our ping, or took data, or has nothing waiting and no ping
        # out (it gets one now). A client that stopped reading, its last ping long answered, is not.
        if answered or progressed or (small and not each.pinged):
            each.quiet = 0.0
        else:
            each.quiet += self.interval
            if each.quiet >= self.patience:
                each.outbox.cut(f"it answered no ping and took no data for {each.quiet:g} s")
                return
        if small and not each.pinged:
            ws.pong_received = False  # before the ping: its pong may come back at once, on another thread
            each.pinged = ws.sock.try_send(_PING)
