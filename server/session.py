"""The WebSocket endpoint `/ws`: one Session per socket, one run at a time per session.

A second "run" while a run is active stops that run first (its stream ends with
`run.end` status `stopped` and a finished status), then starts the new one, so a
client never sees two runs' messages interleaved. A disconnect — noticed at once
while the run talks, by the receive loop, or by the keepalive's pings — stops the
run and ends its process.
"""

import itertools
import logging
import threading
import time

from flask import Blueprint, current_app
from flask import request as http_request
from flask_sock import ConnectionClosed, Sock

from . import protocol
from .outbox import Outbox
from .pool import Busy
from .runner import Run

bp = Blueprint("ws", __name__)
sock = Sock()
log = logging.getLogger("loopscope")

BATCH_EVENTS = 500  # events per "events" message at most
BATCH_SECONDS = 0.03  # and no event waits longer than this to be sent
_run_ids = itertools.count(1)


class Session:
    def __init__(self, ws, settings, client=None):
        self.ws = ws
        self.settings = settings
        self.client = client  # the peer's address (for the run log)
        self.job = None
        limits = settings.limits
        self.outbox = Outbox(ws, limits.client_backlog, limits.client_stall, on_cut=self._cut_off)
        try:
            settings.keepalive.watch(ws, self.outbox)
        except Exception:
            self.outbox.close()
            raise

    def send(self, message):
        """Queue one message for the client (never waits for it); ConnectionClosed when it has gone."""
        self.outbox.put(protocol.encode(message))

    def _cut_off(self):
        job = self.job
        if job is not None:
            job.run.stop()  # the socket is shut: the receive loop ends and closes the session
        if self.outbox.cut_reason:
            log.warning("client cut off: %s", self.outbox.cut_reason)

    def handle(self, text):
        try:
            op, request = protocol.parse(text, self.settings.limits)
            if op == "stop":
                self._stop()
            else:
                self._run(request)
        except protocol.BadRequest as exc:
            self.send(protocol.error(str(exc)))

    def _stop(self):
        if self.job is None or self.job.reported or self.job.done.is_set():
            raise protocol.BadRequest("Nothing is running: there is no run to stop.")
        self.job.stop()

    def _run(self, request):
        settings = self.settings
        if request.own_code and not settings.own_code_allowed:
            raise protocol.BadRequest(settings.own_code_refusal)
        self.close()  # one run at a time: the previous one ends first
        run = Run(request.program, request.options, settings.limits, settings.support, spares=settings.spares,
                  allow_reduced=settings.trust_code)
        job = RunJob(self, run, request)
        self.job = job
        try:
            settings.pool.submit(job)
        except Busy as exc:
            self.job = None
            raise protocol.BadRequest(str(exc)) from None

    def close(self):
        """Stop this session's run (if any) and wait until its process is gone."""
        job, self.job = self.job, None
        if job is not None:
            job.stop()
            job.wait(10)

    def end(self):
        """The socket is closing: end the run and the outbox's thread."""
        self.settings.keepalive.forget(self.ws)
        self.close()
        self.outbox.close()


class RunJob:
    """One run requested over a socket: queued in the pool, then streamed from its own thread."""

    def __init__(self, session, run, request):
        self.id = next(_run_ids)
        self.session = session
        self.run = run
        self.request = request
        self.done = threading.Event()  # its process ended and the pool has its slot back
        self.reported = False  # its finished status is sent: for the client, nothing runs any more
        self._pool = None
        self._started = False
        self._stopped = False

    def queued(self, position):
        self._notify(protocol.queued(self.id, position))

    def start(self, pool):
        self._pool = pool
        self._started = True
        if self._stopped:  # stopped while it waited in the queue
            self._finish_unstarted(pool)
            return
        threading.Thread(target=self._stream, name=f"run-{self.id}", daemon=True).start()

    def stop(self):
        self._stopped = True
        self.run.stop()
        pool = self.session.settings.pool
        if not self._started and pool.cancel(self):
            self._finish_unstarted(None)

    def wait(self, timeout):
        self.done.wait(timeout)

    def _finish_unstarted(self, pool):
        self.reported = True
        self._notify(protocol.finished(self.id, "stopped"))
        self.done.set()
        if pool is not None:
            pool.finished(self)

    def _notify(self, message):
        try:
            self.session.send(message)
        except ConnectionClosed:
            self.run.stop()

    def _stream(self):
        started = time.monotonic()
        status, stream = "error", self.run.events(pauses=True)
        try:
            self.session.send(protocol.running(self.id))
            batch, oldest = [], 0.0
            for event in stream:
                if event is not None:
                    if not batch:
                        oldest = time.monotonic()
                    batch.append(event)
                    if event["kind"] == "run.end":
                        status = event["status"]
                if batch and (event is None or len(batch) >= BATCH_EVENTS
                              or time.monotonic() - oldest >= BATCH_SECONDS or event["kind"] == "run.end"):
                    self.session.send(protocol.events_message(self.id, batch))
                    batch = []
            self.reported = True  # (before it is sent: a stop that follows it finds nothing running)
            self.session.send(protocol.finished(self.id, status))
        except ConnectionClosed:
            status = "disconnected"
        except Exception:  # noqa: BLE001 - one broken run must not take the server down
            log.exception("run %s failed in the server", self.id)
            status = "server-error"
            self.reported = True
            self._notify(protocol.finished(self.id, "error"))  # the client must not wait for ever
        finally:
            try:
                stream.close()  # ends the child process
            finally:
                self._log(status, time.monotonic() - started)
                self.done.set()
                self._pool.finished(self)

    def _log(self, status, seconds):
        """One line per run, its fields as a JSON object (for log collectors: `loopscope run {...}`)."""
        program, options = self.run.program, self.run.options
        record = {"run": self.id, "target": "own code" if self.request.own_code else program.target,
                  "mode": "blocking" if options.blocking else "non-blocking", "clock": options.clock,
                  "status": status, "duration": round(seconds, 3), "events": self.run.count,
                  "client": self.session.client}
        log.info("run %s", protocol.encode(record))


@sock.route("/ws", bp=bp)
def websocket(ws):
    settings = current_app.extensions["loopscope"]
    session = Session(ws, settings, http_request.remote_addr)
    try:
        while True:
            session.handle(ws.receive())
    except ConnectionClosed:
        pass
    finally:
        session.end()
