"""A bounded pool of runs: at most N at once, the rest in a FIFO queue, past its limit a clear "busy".

Each running job streams from its own thread. When a job ends, the next one in the
queue starts and everyone still waiting is told their new position. A job is told its
position only while it is in the queue, under the lock: told after, from a list copied
before, a "queued" could reach its client after that run's "running" or "finished".
"""

import collections
import threading


class Busy(Exception):
    """No room: too many runs running and waiting."""


class RunPool:
    def __init__(self, max_running, max_queued):
        self.max_running = max_running
        self.max_queued = max_queued
        self._lock = threading.Lock()
        self._running = set()
        self._queue = collections.deque()
        self._closed = False

    def submit(self, job):
        """Start `job` now or queue it; Busy when there is no room."""
        with self._lock:
            if self._closed:
                raise Busy("The server is shutting down.")
            if len(self._running) < self.max_running:
                self._running.add(job)
            elif len(self._queue) < self.max_queued:
                self._queue.append(job)
                job.queued(len(self._queue))
                return
            else:
                raise Busy(
                    f"The server is busy: {len(self._running)} runs are running and {len(self._queue)} are "
                    "waiting. Please try again in a moment."
                )
        job.start(self)

    def cancel(self, job):
        """Take a job that has not started out of the queue; False if it is not queued."""
        with self._lock:
            if job not in self._queue:
                return False
            self._queue.remove(job)
            self._tell_positions()
        return True

    def finished(self, job):
        """A running job ended: start the next one in line."""
        with self._lock:
            self._running.discard(job)
            following = None
            if self._queue and not self._closed:
                following = self._queue.popleft()
                self._running.add(following)
            self._tell_positions()
        if following is not None:
            following.start(self)

    def _tell_positions(self):
        """(Holding the lock.) `queued` only queues a message for the client's outbox: it never waits."""
        for position, job in enumerate(self._queue, 1):
            job.queued(position)

    @property
    def closed(self):
        return self._closed

    def readiness(self):
        """Why no new run would be taken (started or queued) now, or None."""
        with self._lock:
            if self._closed:
                return "shutting down"
            if len(self._running) >= self.max_running and len(self._queue) >= self.max_queued:
                return "busy: every run slot and the whole queue are taken"
        return None

    def stats(self):
        with self._lock:
            return {"running": len(self._running), "queued": len(self._queue), "max_running": self.max_running,
                    "max_queued": self.max_queued}

    def shutdown(self, timeout=5):
        """Stop every run and wait for their processes to end."""
        with self._lock:
            self._closed = True
            jobs = list(self._running) + list(self._queue)
            self._queue.clear()
        for job in jobs:
            job.stop()
        for job in jobs:
            job.wait(timeout)
