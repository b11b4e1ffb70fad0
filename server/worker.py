"""A run worker of the distributed mode: `python -m server.worker --redis URL [--name NAME] [--max-runs N]`.

It takes run requests from the Redis stream that every worker reads as one consumer group
(`run_queue.py`), runs each in a sandbox exactly as the embedded pool does (with its own spares),
and writes the run's messages to the run's stream for the web replica holding the client's
socket. A stop from that replica, or the replica's going silent, stops the run. Every second it
renews its presence and touches the requests it holds, so that if it dies a replica sees them
go idle and ends those runs with a clear `run.end`.
"""

import argparse
import logging
import os
import signal
import socket
import sys
import threading
import time

from . import protocol, relay, sandbox
from .protocol import CODE_FILENAME
from .run_queue import RunQueue, connect, through_outage
from .runner import Run, SandboxUnavailable
from .sandbox import MiB, Limits
from .spares import SparePool
from .stream import Ending

log = logging.getLogger("loopscope")
BEAT = 1.0  # seconds between a worker's signs of life
ALIVE_FOR = 5.0  # seconds its presence lasts after each (a replica ends its runs after --worker-timeout)


class Worker:
    def __init__(self, queue, name, max_runs, limits, support, spares=0, trust_code=False):
        self.queue, self.name, self.max_runs = queue, name, max_runs
        self.writer = f"worker:{name}"  # what it writes a run's messages as (see RunQueue.publish)
        self.limits, self.support, self.trust_code = limits, support, trust_code
        self.spares = SparePool(spares, support, limits, CODE_FILENAME)
        self._slots = threading.BoundedSemaphore(max_runs)
        self._lock = threading.Lock()
        self._runs = {}  # entry id -> Run, for the requests it holds
        self._closing = threading.Event()
        self.served = 0

    def serve(self):
        """Take and run requests until `close()`."""
        beat = threading.Thread(target=self._beat, name="loopscope-beat", daemon=True)
        beat.start()
        log.info("worker %s: taking runs from %s (%d at once)", self.name, self.queue.runs, self.max_runs)
        try:
            while not self._closing.is_set():
                if not self._slots.acquire(timeout=0.5):
                    continue
                try:
                    taken = self.queue.take(self.name, 500)
                except Exception:  # noqa: BLE001 - Redis away for a moment: try again, do not die
                    log.exception("worker %s: could not read the run stream", self.name)
                    taken = None
                    self._closing.wait(1.0)
                if taken is None:
                    self._slots.release()
                    continue
                entry_id, fields = taken
                with self._lock:
                    self._runs[entry_id] = None
                threading.Thread(target=self._serve_one, args=(entry_id, fields), name=f"run-{fields.get('run')}",
                                 daemon=True).start()
        finally:
            self._stop_all()
            beat.join(timeout=5)

    def close(self):
        self._closing.set()

    def _stop_all(self):
        deadline = time.monotonic() + 10
        while True:
            with self._lock:
                runs = list(self._runs.values())
            if not runs or time.monotonic() > deadline:
                break
            for run in runs:
                if run is not None:
                    run.stop()
            time.sleep(0.05)
        self.spares.close()
        try:
            # (a run still going keeps the consumer, and so its pending request: a replica's reaper ends it)
            self.queue.retire(self.name, consumer=not runs)
        except Exception:  # noqa: BLE001 - Redis gone too: its presence lapses by itself
            log.warning("worker %s: could not say it stopped", self.name)

    def _beat(self):
        while True:
            try:
                with self._lock:
                    held = list(self._runs)
                lost = self.queue.keep(self.name, held)
                for entry_id in lost:  # a replica ended it: this worker was silent too long
                    with self._lock:
                        run = self._runs.get(entry_id)
                    if run is not None:
                        run.stop()
                self.queue.announce(self.name, self._about(len(held)), ALIVE_FOR)
            except Exception:  # noqa: BLE001 - Redis away for a moment
                log.warning("worker %s: no sign of life sent", self.name, exc_info=True)
            if self._closing.wait(BEAT):
                return

    def _about(self, running):
        """What it says of itself to the replicas (their health check lists it)."""
        support = self.support
        return {"running": running, "max_runs": self.max_runs, "served": self.served, "pid": os.getpid(),
                "sandbox": {"full": support.full, "description": support.describe(),
                            "own_code": support.full or self.trust_code,
                            "trusted": self.trust_code and not support.full}}

    def _serve_one(self, entry_id, fields):
        run_id, over = int(fields["run"]), threading.Event()
        try:
            if not self.queue.watched(run_id):  # (its replica died while it waited: nobody would see it)
                log.info("worker %s: run %s skipped: no replica forwards it any more", self.name, run_id)
                return
            run = self._prepare(fields["request"])
            with self._lock:
                self._runs[entry_id] = run
            threading.Thread(target=self._watch, args=(run_id, run, over), daemon=True).start()
            refused = False
            for number, (state, message) in enumerate(relay.messages(run, run_id, self.name), 1):
                if refused:
                    continue  # (until the stopped run's end: its child is then gone)
                if not through_outage(self.queue.publish, run_id, self.writer, number, state,
                                      protocol.encode(message), **_notes(state, message)):
                    refused = True  # a replica ended the run meanwhile (this worker was silent too long)
                    run.stop()
            if refused:
                log.warning("worker %s: run %s had been ended by a replica; stopped", self.name, run_id)
            else:
                log.info("worker %s: run %s %s (%d events)", self.name, run_id, message.get("status"), run.count)
        except Exception:  # noqa: BLE001 - one broken run must not take the worker down
            log.exception("worker %s: run %s failed", self.name, run_id)
            try:
                _, last, number = self.queue.ends(run_id)  # (after what came: the run's messages are numbered)
                if last is None or last[0] != "finished":
                    self.queue.publish(run_id, self.writer, number + 1, "finished",
                                       protocol.encode(protocol.finished(run_id, "error")), status="error")
            except Exception:  # noqa: BLE001
                log.exception("worker %s: could not end run %s", self.name, run_id)
        finally:
            over.set()  # (its watcher ends)
            self.served += 1
            try:
                self.queue.done(entry_id)
            except Exception:  # noqa: BLE001
                log.exception("worker %s: could not mark run %s done", self.name, run_id)
            with self._lock:  # (after: a worker stopping retires its consumer once it holds nothing)
                self._runs.pop(entry_id, None)
            self._slots.release()

    def _prepare(self, request_text):
        """The Run a request asks for; a request this worker cannot run becomes a run that ends
        at once with `run.end` saying why (the replica checked it, but a worker's sandbox may differ)."""
        limits = self.limits
        try:
            _, request = protocol.parse(request_text, limits)
            return Run(request.program, request.options, limits, self.support, spares=self.spares,
                       allow_reduced=self.trust_code)
        except (protocol.BadRequest, SandboxUnavailable) as exc:
            return _Refused(str(exc), relay.stream_of(request_text, limits))

    def _watch(self, run_id, run, over):
        """Stop the run when its replica asks, or when that replica is no longer there to forward it."""
        while not over.is_set():
            try:
                if self.queue.stop_asked(run_id, 1000) or not self.queue.watched(run_id):
                    run.stop()
                    return
            except Exception:  # noqa: BLE001 - Redis away for a moment
                over.wait(1.0)


def _notes(state, message):
    """What the replica is told beside a message, so that it need not parse it."""
    if state == "running":
        return {"worker": message["worker"]}
    if state == "events":
        return {"events": message["events"][-1]["seq"] + 1}
    return {"status": message["status"]}


class _Refused:
    """A run that cannot start here: only its `run.start` and a `run.end` saying why."""

    def __init__(self, reason, stream):
        self.reason, self.stream = reason, stream
        self.count = 0

    def events(self, pauses=False):
        for batch in self.batches(pauses):
            yield from batch

    def batches(self, pauses=False):  # (what relay.messages reads)
        yield self.stream.end(Ending("error", self.reason))
        self.count = self.stream.seq

    def stop(self):
        pass


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m server.worker", description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis", required=True, metavar="URL", help="the Redis server, e.g. redis://10.0.0.5:6379/0")
    parser.add_argument("--name", default=f"{socket.gethostname()}-{os.getpid()}",
                        help="this worker's name, unique among the workers (default: host-pid)")
    parser.add_argument("--max-runs", type=int, default=2 * (os.cpu_count() or 1),
                        help="runs at once (default: twice the CPU count)")
    parser.add_argument("--spares", type=int, default=2, help="sandboxes started ahead (default 2)")
    parser.add_argument("--run-timeout", type=float, help=f"wall-clock seconds a run may take (default {Limits().timeout:g})")
    parser.add_argument("--max-output", type=float, metavar="MIB", help="MiB of program output a run may send")
    parser.add_argument("--max-memory", type=float, metavar="MIB", help="MiB of memory a run may use (default 512)")
    parser.add_argument("--trust-code", action="store_true",
                        help="run own code even where the full sandbox is unavailable (trusted users only)")
    parser.add_argument("--prefix", default="loopscope", help="the Redis keys' prefix (default loopscope)")
    args = parser.parse_args(argv)
    if args.max_runs < 1 or args.spares < 0:
        parser.error("--max-runs must be 1 or more, --spares 0 or more")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    limits = {}
    if args.run_timeout:
        limits["timeout"] = args.run_timeout
    if args.max_output:
        limits["output"] = int(args.max_output * MiB)
    if args.max_memory:
        limits["memory"] = int(args.max_memory * MiB)
    import redis

    try:
        queue = RunQueue(connect(args.redis), args.prefix)
    except (redis.RedisError, ValueError) as exc:
        parser.exit(1, f"python -m server.worker: cannot use the Redis at {args.redis}: {exc}\n")
    support = sandbox.detect()
    if not support.full:
        log.warning("Loopscope sandbox: %s", support.describe())
    worker = Worker(queue, args.name, args.max_runs, Limits(**limits), support, args.spares, args.trust_code)
    signal.signal(signal.SIGTERM, lambda *_: worker.close())
    signal.signal(signal.SIGINT, lambda *_: worker.close())
    worker.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
