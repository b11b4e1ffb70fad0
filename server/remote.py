"""A web replica's side of the distributed mode (`python -m server --redis URL`): runs go on the
Redis stream that the workers read (`run_queue.py`); the replica forwards each run's messages to
the socket that asked for it, tells a queued client its place, passes stops on, and ends the runs
of a worker that went silent.

`RemotePool` has the embedded `pool.RunPool`'s face (submit, stats, readiness, shutdown), and
`RemoteJob` a `session.RunJob`'s, so the session does not know where its runs execute.
"""

import json
import logging
import threading
import time

import orjson
from flask_sock import ConnectionClosed

from . import protocol
from .pool import Busy
from .run_queue import RunQueue
from .runner import Options, Program
from .stream import Ending, EventStream

log = logging.getLogger("loopscope")
POLL_MS = 250  # how long a forwarder waits for a message before it looks at the queue again
RENEW = 1.0  # seconds between a forwarder's renewals of its run's watch and of its client's count
WATCH_SECONDS = 5  # a run whose replica has not renewed its watch for this long is stopped by its worker
STOP_GRACE = 5.0  # seconds a worker has to end a run after its stop, before the replica ends it for the client


class RemotePool:
    def __init__(self, redis, limits, max_queued, worker_timeout=10.0, prefix="loopscope"):
        self.queue = RunQueue(redis, prefix)
        self.limits = limits
        self.max_queued = max_queued
        self.worker_timeout = worker_timeout
        self._lock = threading.Lock()
        self._jobs = set()
        self._closed = threading.Event()
        self._workers_lock = threading.Lock()
        self._workers_at, self._workers_seen, self._workers_error = -1.0, {}, None
        threading.Thread(target=self._reap, name="loopscope-reaper", daemon=True).start()

    def workers(self):
        """The live workers (`RunQueue.workers`), looked up at most once a second: every run request,
        health and readiness check asks (some twice), and a Redis that hangs must cost one timeout
        a second, not one per question (a balancer's check must hear back)."""
        with self._workers_lock:
            if time.monotonic() - self._workers_at >= 1.0:
                try:
                    self._workers_seen, self._workers_error = self.queue.workers(), None
                except Exception as exc:  # noqa: BLE001 - redis.ConnectionError, TimeoutError and the like
                    self._workers_seen, self._workers_error = {}, exc
                self._workers_at = time.monotonic()
            if self._workers_error is not None:
                raise self._workers_error.with_traceback(None)
            return self._workers_seen

    def new_run_id(self):
        try:
            return self.queue.new_run_id()
        except Exception as exc:  # noqa: BLE001 - redis.ConnectionError and the like
            raise _unreachable(exc) from None

    def submit(self, job):
        if self._closed.is_set():
            raise Busy("The server is shutting down.")
        try:
            if not self.workers():
                raise Busy("No run worker is connected to this server right now, so nothing can run. "
                           "Please try again in a moment.")
            taken, answer = self.queue.enqueue(job.id, job.text, job.session.client, self.max_queued,
                                               2 * WATCH_SECONDS)
        except Busy:
            raise
        except Exception as exc:  # noqa: BLE001
            raise _unreachable(exc) from None
        if not taken:
            waiting = f"{answer} runs are" if answer != 1 else "1 run is"
            raise Busy(f"The server is busy: {waiting} waiting for a worker. Please try again in a moment.")
        with self._lock:
            self._jobs.add(job)
        job.start(self, answer)

    def finished(self, job):
        with self._lock:
            self._jobs.discard(job)

    @property
    def closed(self):
        return self._closed.is_set()

    def stats(self):
        with self._lock:
            forwarding = len(self._jobs)
        try:
            workers, waiting = self.workers(), self.queue.waiting()
        except Exception as exc:  # noqa: BLE001 - the health check must answer while Redis is away
            return {"running": 0, "queued": 0, "max_running": 0, "max_queued": self.max_queued,
                    "forwarding": forwarding, "workers": {}, "error": f"the queue server cannot be reached "
                                                                      f"({type(exc).__name__})"}
        return {"running": sum(w.get("running", 0) for w in workers.values()), "queued": waiting,
                "max_running": sum(w.get("max_runs", 0) for w in workers.values()), "max_queued": self.max_queued,
                "forwarding": forwarding, "workers": workers}

    def describe_sandboxes(self, trusted_here=False):
        """The sandbox of the live workers, as `Settings.describe` words one host's: own code is
        allowed when every worker would run it (any of them may take a run) in the full sandbox,
        or outside it only if this replica trusts code too (`trusted_here`: started with
        --trust-code, so on loopback only): a worker's --trust-code must not open own code to
        every client of a public replica."""
        try:
            sandboxes = [about["sandbox"] for about in self.workers().values()]
        except Exception:  # noqa: BLE001 - Redis away: as if no worker were there
            sandboxes = []
        if not sandboxes:
            return {"full": False, "own_code": False, "trusted": False,
                    "description": "no run worker is connected to this server right now"}
        full = all(box["full"] for box in sandboxes)
        descriptions = sorted({box["description"] for box in sandboxes})
        own_code = all(box["full"] or (box["own_code"] and trusted_here) for box in sandboxes)
        return {"full": full, "own_code": own_code,
                "trusted": not full and any(box["trusted"] for box in sandboxes),
                "description": f"{len(sandboxes)} worker{'s' if len(sandboxes) != 1 else ''}: " + "; ".join(descriptions)}

    def readiness(self):
        """Why this replica cannot take a run now, or None."""
        if self.closed:
            return "shutting down"
        try:
            if not self.workers():
                return "no run worker is connected"
            if self.queue.waiting() >= self.max_queued:
                return "busy: the queue of runs waiting for a worker is full"
        except Exception as exc:  # noqa: BLE001 - redis.ConnectionError and the like
            return f"the queue server cannot be reached ({type(exc).__name__})"
        return None

    def shutdown(self, timeout=5):
        self._closed.set()
        with self._lock:
            jobs = list(self._jobs)
        for job in jobs:
            job.stop()
        for job in jobs:
            job.wait(timeout)

    # -- the runs of a worker that went silent ----------------------------------------------------

    def _reap(self):
        while not self._closed.wait(1.0):
            try:
                for entry_id, fields, worker in self.queue.abandoned(self.worker_timeout):
                    self._end_abandoned(fields, worker)
                    self.queue.done(entry_id)
            except Exception:  # noqa: BLE001 - Redis away for a moment: look again next second
                log.warning("could not look for the runs of silent workers", exc_info=True)

    def _end_abandoned(self, fields, worker):
        """Finish the messages of a run whose worker died: a `run.end` that says so after what came."""
        self.end_run(int(fields["run"]), fields["request"], worker,
                     f"The worker running this program ({worker}) stopped answering for {self.worker_timeout:g} s, "
                     "so its run was ended. Other runs go on: run it again.")
        log.warning("run %s: its worker %s went silent; the run was ended", fields["run"], worker)

    def end_run(self, run_id, request, worker, reason, status="error"):
        """Finish a run's messages with a `run.end` (`status`, `reason`) after what came, unless it
        has finished already."""
        first, last = self.queue.ends(run_id)
        if last is not None and last[0] == "finished":
            return
        if first is None:
            self.queue.publish(run_id, "running", protocol.encode(protocol.running(run_id, worker)), worker=worker)
        last = orjson.loads(last[1])["events"][-1] if last is not None and last[0] == "events" else None
        ended = last["status"] if last is not None and last["kind"] == "run.end" else None
        if ended is not None:
            status = ended
        else:
            stream = _stream_of(request, self.limits)
            if last is not None:
                stream.seq, stream.t, stream.started = last["seq"] + 1, last["t"], True
            events = stream.end(Ending(status, reason))
            self.queue.publish(run_id, "events", protocol.encode(protocol.events_message(run_id, events)),
                               events=events[-1]["seq"] + 1)
        self.queue.publish(run_id, "finished", protocol.encode(protocol.finished(run_id, status)), status=status)


def _unreachable(exc):
    log.warning("the run queue cannot be reached: %s", exc)
    return Busy("The server cannot reach its run queue right now, so nothing can run. Please try again in a moment.")


def _stream_of(request_text, limits):
    """An EventStream for the program a request asked for (to word its `run.start`)."""
    try:
        _, request = protocol.parse(request_text, limits)
        return EventStream(request.program, request.options, limits)
    except protocol.BadRequest:
        return EventStream(Program("", protocol.CODE_FILENAME, protocol.CODE_FILENAME), Options(), limits)


class RemoteJob:
    """One run asked for over this replica's socket and run by a worker: its messages forwarded."""

    def __init__(self, session, request, text, pool):
        self.id = pool.new_run_id()
        # (re-encoded: what goes on the queue is the checked request, compact, not the client's padding;
        # by json, its non-ASCII escaped: code may hold a lone surrogate, which orjson refuses)
        self.session, self.request = session, request
        self.text = json.dumps(json.loads(text), separators=(",", ":"))
        self.done = threading.Event()  # its messages are all forwarded (or the client has gone)
        self.reported = False  # its finished status is sent
        self.worker = None
        self._pool = pool
        self._entry = None
        self._started = False  # a worker has it
        self._withdrawn = threading.Event()  # stopped before any worker took it
        self._lock = threading.Lock()  # (a withdrawal is not taken for a lost request)
        self._stop_asked = None  # when its first stop came (one is passed on: a client may send thousands)

    def start(self, pool, entry_id):
        self._entry = entry_id
        threading.Thread(target=self._forward, name=f"run-{self.id}", daemon=True).start()

    def stop(self):
        if self.done.is_set() or self._stop_asked is not None:
            return
        queue = self._pool.queue
        try:
            with self._lock:
                if not self._started and self._entry is not None and queue.withdraw(self._entry):
                    self._withdrawn.set()
                    return
            queue.stop(self.id)
            self._stop_asked = time.monotonic()
        except Exception:  # noqa: BLE001 - Redis away: the worker stops it when its watch lapses
            log.warning("run %s: the stop could not be passed on", self.id, exc_info=True)

    halt = stop  # (the client was cut off)

    def wait(self, timeout):
        self.done.wait(timeout)

    def _lost(self):
        """Whether its request is gone without its run's end (Redis lost its data, or the worker
        holding it dropped it): then no worker and no reaper will ever finish it."""
        with self._lock:
            return not self._withdrawn.is_set() and not self._pool.queue.held(self._entry)

    def _end_lost(self):
        if self.worker is not None:
            reason = (f"The worker running this program ({self.worker}) lost it: the run queue no longer holds its "
                      "request (its server restarted or lost its data), so its run was ended. Run it again.")
        else:
            reason = ("This run was lost while it waited for a worker: the run queue no longer holds its request "
                      "(its server restarted or lost its data). Run it again.")
        log.warning("run %s: its request is no longer on the run queue; the run was ended", self.id)
        self._pool.end_run(self.id, self.text, self.worker, reason)
        # (a request dropped from the pending entries but not deleted would count as waiting for ever)
        self._pool.queue.done(self._entry)

    def _send(self, text):
        self.session.outbox.put(text)

    def _forward(self):
        queue, limits = self._pool.queue, self.session.settings.client_limits
        started, status, count, after, position = time.monotonic(), "error", 0, "0-0", 0
        renewed, lost, ending = started, 0, False
        try:
            while True:
                if self._withdrawn.is_set():
                    self.reported, status = True, "stopped"
                    self._send(protocol.encode(protocol.finished(self.id, "stopped")))
                    return
                messages = queue.read(self.id, after, POLL_MS)
                for after, state, text, notes in messages:
                    if state == "finished":
                        self.reported = True  # (before it is sent: a stop that follows finds nothing running)
                        status = notes.get("status", "error")
                    elif state == "running":
                        self._started = True
                        self.worker = notes.get("worker")
                    elif state == "events":
                        count = int(notes.get("events", count))
                    self._send(text)
                    if state == "finished":
                        return
                if not self._started:
                    now = queue.position(self._entry)
                    if now and now != position:
                        self._send(protocol.encode(protocol.queued(self.id, now)))
                    position = now or position
                if time.monotonic() - renewed >= RENEW:
                    renewed = time.monotonic()
                    queue.watch(self.id, WATCH_SECONDS)
                    limits.refresh(self.session.client, self.id)
                    lost = lost + 1 if not ending and self._lost() else 0
                    # (twice, and every message read: a worker that finished it said so before it let go of
                    # it, and one that lost it stops its run, and says so, within a second)
                    if lost >= 2 and not messages:
                        ending = True
                        self._end_lost()
                    stopping = self._stop_asked is not None and time.monotonic() - self._stop_asked >= STOP_GRACE
                    if stopping and not ending and not messages:
                        # (a worker that hangs: a session waits 10 s for its run's end before the next
                        # run, whose messages this run's must not come among; the worker, if it comes
                        # back, stops the run itself once its watch is gone)
                        ending = True
                        worker = self.worker or "not named yet"
                        self._pool.end_run(self.id, self.text, self.worker, f"The worker running this program "
                                           f"({worker}) did not answer the stop within {STOP_GRACE:g} s, so the "
                                           "run was ended here.", status="stopped")
        except ConnectionClosed:
            status = "disconnected"
        except Exception:  # noqa: BLE001 - one broken run must not take the server down
            log.exception("run %s failed in the server", self.id)
            status = "server-error"
            if not self.reported:
                self.reported = True
                try:
                    self._send(protocol.encode(protocol.finished(self.id, "error")))
                except ConnectionClosed:
                    pass
        finally:
            try:
                queue.forget(self.id)  # (its watch goes too: a worker still running it stops it)
            except Exception:  # noqa: BLE001
                log.warning("run %s: its keys could not be removed (they expire)", self.id)
            try:
                self.session.job_over(self, status, time.monotonic() - started, count, self.worker)
            finally:  # (whatever happened there: the session waits for this, the pool counts it)
                self.done.set()
                self._pool.finished(self)
