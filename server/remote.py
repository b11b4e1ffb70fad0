"""A web replica's side of the distributed mode (`python -m server --redis URL`): runs go on the
Redis stream that the workers read (`run_queue.py`); the replica forwards each run's messages to
the socket that asked for it, tells a queued client its place, passes stops on, and ends the runs
of a worker that went silent.

`RemotePool` has the embedded `pool.RunPool`'s face (submit, stats, readiness, shutdown), and
`forwarder.RemoteJob` a `session.RunJob`'s, so the session does not know where its runs execute.
"""

import logging
import math
import threading
import time

import orjson

from . import protocol, relay
from .pool import Busy
from .run_queue import RunQueue
from .stream import Ending

log = logging.getLogger("loopscope")
WATCH_SECONDS = 5  # a run whose replica has not renewed its watch for this long is stopped by its worker


class RemotePool:
    def __init__(self, redis, limits, max_queued, worker_timeout=10.0, prefix="loopscope"):
        self.queue = RunQueue(redis, prefix)
        self.limits = limits
        self.max_queued = max_queued
        self.worker_timeout = worker_timeout
        # What it writes a run's messages as when it ends one: the same for every replica, so that a
        # run one replica began to end (then died, or lost Redis) is ended by any other. Replicas
        # ending a run at once write one end: its messages are numbered, the first of each number stays.
        self.writer = "replica"
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
        ticks, failed_at = 0, -math.inf
        while not self._closed.wait(1.0):
            ticks += 1
            # (after Redis was away, every pending request's idle time holds the outage too: the
            # workers get a worker-timeout to touch theirs again before a silent one is given up on)
            if time.monotonic() - failed_at < self.worker_timeout:
                continue
            try:
                for entry_id, fields, worker in self.queue.abandoned(self.worker_timeout):
                    self._end_abandoned(fields, worker)
                    self.queue.done(entry_id)
                if ticks % max(1, round(self.worker_timeout)) == 0:  # (workers gone: rarely needed)
                    self.queue.drop_gone_consumers(self.worker_timeout)
            except Exception:  # noqa: BLE001 - Redis away for a moment: look again later
                failed_at = time.monotonic()
                log.warning("could not look for the runs of silent workers", exc_info=True)

    def _end_abandoned(self, fields, worker):
        """Finish the messages of a run whose worker died: a `run.end` that says so after what came."""
        self.end_run(int(fields["run"]), fields["request"], worker,
                     f"The worker running this program ({worker}) stopped answering for {self.worker_timeout:g} s, "
                     "so its run was ended. Other runs go on: run it again.")
        log.warning("run %s: its worker %s went silent; the run was ended", fields["run"], worker)

    def end_run(self, run_id, request, worker, reason, status="error"):
        """Finish a run's messages with a `run.end` (`status`, `reason`) after what came, unless it
        has finished already. The run is closed first: its worker, if it is only slow, cannot add
        a message after this end, nor one numbered as this end is. Safe to call again."""
        queue = self.queue
        if not queue.close(run_id, self.writer):
            return
        first, last, number = queue.ends(run_id)
        if last is not None and last[0] == "finished":
            return
        if first is None:
            number += 1
            queue.publish(run_id, self.writer, number, "running",
                          protocol.encode(protocol.running(run_id, worker)), worker=worker)
        last = orjson.loads(last[1])["events"][-1] if last is not None and last[0] == "events" else None
        ended = last["status"] if last is not None and last["kind"] == "run.end" else None
        if ended is not None:
            status = ended
        else:
            stream = relay.stream_of(request, self.limits)
            if last is not None:
                stream.seq, stream.t, stream.started = last["seq"] + 1, last["t"], True
            events = stream.end(Ending(status, reason))
            number += 1
            queue.publish(run_id, self.writer, number, "events",
                          protocol.encode(protocol.events_message(run_id, events)), events=events[-1]["seq"] + 1)
            _, last, number = queue.ends(run_id)  # (another replica's end may be the one that stayed)
            if last[0] == "finished":
                return
            status = orjson.loads(last[1])["events"][-1]["status"]
        queue.publish(run_id, self.writer, number + 1, "finished", protocol.encode(protocol.finished(run_id, status)),
                      status=status)


def _unreachable(exc):
    log.warning("the run queue cannot be reached: %s", exc)
    return Busy("The server cannot reach its run queue right now, so nothing can run. Please try again in a moment.")
