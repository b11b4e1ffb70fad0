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

from . import protocol, relay
from .client_limits import Refused, counted_as
from .outbox import Outbox
from .pool import Busy

bp = Blueprint("ws", __name__)
sock = Sock()
log = logging.getLogger("loopscope")
_run_ids = itertools.count(1)


class Session:
    def __init__(self, ws, settings, client=None):
        self.ws = ws
        self.settings = settings
        self.client = client  # the peer's address (for the run log)
        self.counted_as = counted_as(client)  # the client the per-client limits count it as
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
            job.halt()  # the socket is shut: the receive loop ends and closes the session
        if self.outbox.cut_reason:
            log.warning("client cut off: %s", self.outbox.cut_reason)

    def handle(self, text):
        try:
            op, request = protocol.parse(text, self.settings.limits)
            if op == "stop":
                self._stop()
            else:
                self._run(request, text)
        except protocol.BadRequest as exc:
            self.send(protocol.error(str(exc)))

    def _stop(self):
        if self.job is None or self.job.reported or self.job.done.is_set():
            raise protocol.BadRequest("Nothing is running: there is no run to stop.")
        self.job.stop()

    def _run(self, request, text):
        settings = self.settings
        if request.own_code and not settings.own_code_allowed:
            raise protocol.BadRequest(settings.own_code_refusal)
        self.close()  # one run at a time: the previous one ends first
        try:
            job = settings.new_job(self, request, text)
        except Busy as exc:  # (in distributed mode: the queue cannot be reached)
            raise protocol.BadRequest(str(exc)) from None
        try:
            settings.client_limits.admit(self.counted_as, job.id)
        except Refused as exc:
            raise protocol.BadRequest(str(exc)) from None
        self.job = job
        try:
            settings.pool.submit(job)
        except Busy as exc:
            self.job = None
            settings.client_limits.release(self.counted_as, job.id)
            raise protocol.BadRequest(str(exc)) from None

    def job_over(self, job, status, seconds, events, worker=None):
        """A run of this session's ended (or was stopped before it started): its client may have
        another, and it is logged, one line per run, its fields a JSON object (`loopscope run {...}`)."""
        self.settings.client_limits.release(self.counted_as, job.id)
        options = job.request.options
        record = {"run": job.id, "target": "own code" if job.request.own_code else job.request.program.target,
                  "mode": "blocking" if options.blocking else "non-blocking", "clock": options.clock,
                  "status": status, "duration": round(seconds, 3), "events": events, "client": self.client}
        if worker is not None:
            record["worker"] = worker
        log.info("run %s", protocol.encode(record))

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

    def halt(self):
        """(From the outbox's thread, when the client is cut off.)"""
        self.run.stop()

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
        self.session.job_over(self, "stopped", 0.0, 0)
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
        status, messages = "error", relay.messages(self.run, self.id)
        try:
            for state, message in messages:
                if state == "finished":
                    self.reported = True  # (before it is sent: a stop that follows it finds nothing running)
                    status = message["status"]
                self.session.send(message)
        except ConnectionClosed:
            status = "disconnected"
        except Exception:  # noqa: BLE001 - one broken run must not take the server down
            log.exception("run %s failed in the server", self.id)
            status = "server-error"
            self.reported = True
            self._notify(protocol.finished(self.id, "error"))  # the client must not wait for ever
        finally:
            try:
                messages.close()  # ends the child process
            finally:
                self.session.job_over(self, status, time.monotonic() - started, self.run.count)
                self.done.set()
                self._pool.finished(self)


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
