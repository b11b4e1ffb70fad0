"""One run of a web replica in the distributed mode (`remote.py`): its request on the queue, its
messages forwarded from the worker's stream to the client's socket, its stops passed on, and its
end made here when no worker will ever make it (its request lost, a stop a hung worker ignores).
"""

import json
import logging
import threading
import time

import redis
from flask_sock import ConnectionClosed

from . import protocol
from .remote import WATCH_SECONDS
from .run_queue import OUTAGE_GRACE

log = logging.getLogger("loopscope")
POLL_MS = 250  # how long a forwarder waits for a message before it looks at the queue again
RENEW = 1.0  # seconds between a forwarder's renewals of its run's watch and of its client's count
STOP_GRACE = 5.0  # seconds a worker has to end a run after its stop, before the replica ends it for the client


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
        started, progress = time.monotonic(), _Progress()
        try:
            while not self._look(progress):
                pass
        except ConnectionClosed:
            progress.status = "disconnected"
        except Exception:  # noqa: BLE001 - one broken run must not take the server down
            log.exception("run %s failed in the server", self.id)
            progress.status = "server-error"
            if not self.reported:
                self.reported = True
                try:
                    self._send(protocol.encode(protocol.finished(self.id, "error")))
                except ConnectionClosed:
                    pass
        finally:
            try:
                self._pool.queue.forget(self.id)  # (its watch goes too: a worker still running it stops it)
            except Exception:  # noqa: BLE001
                log.warning("run %s: its keys could not be removed (they expire)", self.id)
            try:
                self.session.job_over(self, progress.status, time.monotonic() - started, progress.count, self.worker)
            finally:  # (whatever happened there: the session waits for this, the pool counts it)
                self.done.set()
                self._pool.finished(self)

    def _look(self, progress):
        """One look at the run on Redis: its new messages forwarded, its place in the queue told, its
        watch renewed, its end made here if no worker will make it. True once it is over for the client.
        Redis away for a moment (restarting, failing over, cut off) is waited out: reading on from
        `after` again, and ending a run again, are harmless; an outage past OUTAGE_GRACE raises."""
        try:
            over = self._forward_messages(progress)
            if not over:
                self._tend(progress)
            progress.outage = None
            return over
        except (redis.ConnectionError, redis.TimeoutError):
            progress.outage = progress.outage or time.monotonic()
            if time.monotonic() - progress.outage >= OUTAGE_GRACE:
                raise
            time.sleep(0.25)
            return False

    def _forward_messages(self, progress):
        """The run's messages since the last look, sent on: True once `finished` (or its withdrawal) was."""
        if self._withdrawn.is_set():
            self.reported, progress.status = True, "stopped"
            self._send(protocol.encode(protocol.finished(self.id, "stopped")))
            return True
        progress.messages = self._pool.queue.read(self.id, progress.after, POLL_MS)
        for progress.after, state, text, notes in progress.messages:
            if state == "finished":
                self.reported = True  # (before it is sent: a stop that follows finds nothing running)
                progress.status = notes.get("status", "error")
            elif state == "running":
                self._started = True
                self.worker = notes.get("worker")
            elif state == "events":
                progress.count = int(notes.get("events", progress.count))
            self._send(text)
            if state == "finished":
                return True
        return False

    def _tend(self, progress):
        """Its place while it waits; once a second, its watch and its client's count renewed, and its
        end made here when its request is lost or its worker does not answer a stop."""
        queue = self._pool.queue
        if not self._started:
            now = queue.position(self._entry)
            if now and now != progress.position:
                self._send(protocol.encode(protocol.queued(self.id, now)))
            progress.position = now or progress.position
        if time.monotonic() - progress.renewed < RENEW:
            return
        progress.renewed = time.monotonic()
        queue.watch(self.id, WATCH_SECONDS)
        self.session.settings.client_limits.refresh(self.session.counted_as, self.id)
        progress.lost = progress.lost + 1 if not progress.ending and self._lost() else 0
        quiet = not progress.messages
        # (twice, and every message read: a worker that finished it said so before it let go of
        # it, and one that lost it stops its run, and says so, within a second)
        if progress.lost >= 2 and quiet:
            self._end_lost()
            progress.ending = True  # (once it is done: after an outage it is made again)
        stopping = self._stop_asked is not None and time.monotonic() - self._stop_asked >= STOP_GRACE
        if stopping and not progress.ending and quiet:
            # (a worker that hangs: a session waits 10 s for its run's end before the next
            # run, whose messages this run's must not come among; the worker, if it comes
            # back, stops the run itself once its watch is gone)
            worker = self.worker or "not named yet"
            self._pool.end_run(self.id, self.text, self.worker, f"The worker running this program "
                               f"({worker}) did not answer the stop within {STOP_GRACE:g} s, so the "
                               "run was ended here.", status="stopped")
            progress.ending = True


class _Progress:
    """What a forwarder knows of its run from one look at Redis to the next."""

    def __init__(self):
        self.status, self.count = "error", 0  # how it ended, for the run log; the events sent
        self.after, self.messages = "0-0", []  # the last message read; those of the last look
        self.position = 0  # its place in the queue last told
        self.renewed = time.monotonic()  # when its watch and its client's count were renewed
        self.lost = 0  # looks in a row that found its request gone
        self.ending = False  # its end is made here
        self.outage = None  # since when Redis cannot be reached
