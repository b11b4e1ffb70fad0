"""One run: start the sandboxed child, read and check its events, enforce limits, always end the process.

The child is untrusted (the program runs in it), so its stream is treated as
input: lines that are not schema-valid events become raw output, `seq` is
numbered here, the first event is always `run.start` and the last always
`run.end` (made here when the child could not say how it ended).
"""

import base64
import json
import os
import select
import signal
import subprocess
import threading
import time
from dataclasses import dataclass

from . import events, sandbox

_TICK = 0.1  # seconds between checks of stop requests and deadlines
_MAX_LINE = 8 * 1024 * 1024  # one batch of events
_STDERR_KEEP = 64 * 1024


@dataclass(frozen=True)
class Program:
    source: str
    filename: str  # the name its lines and tracebacks refer to, e.g. "tasks.py"
    target: str  # what run.start reports: a scenario id or the file's name
    trusted: bool = False  # a scenario of ours (may run with a reduced sandbox)


@dataclass(frozen=True)
class Options:
    blocking: bool = False
    clock: str = "virtual"
    blocking_sleep: bool = False  # own code in blocking mode: asyncio.sleep holds the loop
    threshold: float = 0.05


class SandboxUnavailable(Exception):
    """Untrusted code, and the host cannot provide the full sandbox."""


class Run:
    def __init__(self, program, options=None, limits=None, support=None, allow_reduced=False):
        self.program = program
        self.options = options or Options()
        self.limits = limits or sandbox.Limits()
        self.support = support or sandbox.detect()
        if not self.support.full and not (program.trusted or allow_reduced):
            raise SandboxUnavailable(
                f"Refusing to run untrusted code without the full sandbox: {self.support.describe()}."
            )
        self._stop = threading.Event()
        self._process = None
        self._stderr = bytearray()
        self.count = 0  # events produced so far

    def stop(self):
        """Ask the run to end (thread-safe); `events()` then ends it with status `stopped`."""
        self._stop.set()

    def events(self, pauses=False):
        """Start the child and yield its events as dicts, `run.start` first and `run.end` last.

        With `pauses`, also yield None whenever the child has nothing more to say for
        now (after each chunk it wrote, and every tick it is silent), so a consumer
        that batches events knows when to send what it holds.
        """
        state = _StreamState(self, pauses)
        try:
            self._start()
            yield from state.read()
        finally:
            self._kill()

    # -- process ---------------------------------------------------------------------

    def _config(self):
        program, options = self.program, self.options
        argv, drop_to, cwd = sandbox.command(self.support, self.limits)
        config = {
            "source": program.source, "filename": program.filename, "target": program.target,
            "blocking": options.blocking, "blocking_sleep": options.blocking_sleep, "clock": options.clock,
            "threshold": options.threshold, "drop_to": drop_to,
            "seccomp": base64.b64encode(self.support.seccomp).decode() if self.support.seccomp else None,
        }
        return argv, cwd, json.dumps(config).encode()

    def _start(self):
        argv, cwd, config = self._config()
        self._process = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd,
            env=sandbox.environment(), start_new_session=True, close_fds=True,
        )
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        try:
            self._process.stdin.write(config)
            self._process.stdin.close()
        except BrokenPipeError:
            pass  # the child died at once; its exit status tells why

    def _drain_stderr(self):
        stream = self._process.stderr
        for chunk in iter(lambda: stream.read1(65536), b""):
            room = _STDERR_KEEP - len(self._stderr)
            if room > 0:
                self._stderr += chunk[:room]

    def _kill(self):
        """End the child and everything it started, and wait until they are gone."""
        process = self._process
        if process is None:
            return
        inner = _descendants(process.pid)
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in inner:  # the sandbox's own session and pid namespace: killpg does not reach them
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        process.wait()
        process.stdout.close()
        deadline = time.monotonic() + 5
        while any(_alive(pid) for pid in inner) and time.monotonic() < deadline:
            time.sleep(0.005)

    def stderr_text(self):
        return self._stderr.decode("utf-8", "replace")


class _StreamState:
    """Reads the child's stdout and turns it into checked, numbered events."""

    def __init__(self, run, pauses):
        self.run = run
        self.pauses = pauses
        self.seq = 0
        self.t = 0.0
        self.started = False
        self.child_end = None
        self.output = 0

    def _event(self, event):
        event["v"] = events.VERSION
        event["seq"] = self.seq
        self.seq += 1
        self.run.count = self.seq
        return event

    def _make(self, kind, **fields):
        return self._event({"v": events.VERSION, "seq": 0, "t": self.t, "kind": kind, **fields})

    def _start_event(self):
        run = self.run
        return self._make(
            "run.start", target=run.program.target, blocking=run.options.blocking, clock=run.options.clock,
            python=None, file=run.program.filename, threshold=run.options.threshold,
        )

    def _end(self, status, reason):
        out = []
        if not self.started:
            out.append(self._start_event())
            self.started = True
        out.append(self._make("run.end", status=status, reason=reason, elapsed=self.t))
        return out

    def _accept(self, raw):
        """Checked events for one line from the child."""
        batch = events.decode(raw)
        if batch is None:
            return self._admit([None], [raw])
        return self._admit(batch, None)

    def _admit(self, batch, raws):
        out = []
        for index, event in enumerate(batch):
            if event is None or events.problems(event) or not isinstance(event.get("t"), (int, float)):
                text = raws[index] if raws else b"(an event the schema does not know)"
                event = {"v": events.VERSION, "seq": 0, "t": self.t, "kind": "stdout",
                         "text": text.decode("utf-8", "replace") + "\n", "task": None, "stream": "raw"}
            else:
                self.t = max(self.t, round(float(event["t"]), 6))
                event["t"] = self.t
                _round_times(event)
            kind = event["kind"]
            if kind == "run.start":
                if self.started:
                    continue
                self.started = True
            elif not self.started:
                out.append(self._start_event())
                self.started = True
            if kind == "run.end":
                self.child_end = event
                return out
            out.append(self._event(event))
        return out

    def read(self):
        run, limits = self.run, self.run.limits
        fd = run._process.stdout.fileno()
        deadline = time.monotonic() + limits.timeout
        pending = b""
        while True:
            if run._stop.is_set():
                run._kill()
                yield from self._end("stopped", "The run was stopped.")
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                run._kill()
                yield from self._end("timeout", f"The program was still running after {limits.timeout:g} s "
                                     "(the run's time limit), so it was stopped.")
                return
            ready, _, _ = select.select([fd], [], [], min(_TICK, remaining))
            if not ready:
                if self.pauses:
                    yield None
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            self.output += len(chunk)
            if self.output > limits.output:
                run._kill()
                yield from self._end("limit", f"The program wrote more than {limits.output // 2**20} MiB of "
                                     "output and events, so it was stopped.")
                return
            lines = (pending + chunk).split(b"\n")
            pending = lines.pop()
            if len(pending) > _MAX_LINE:
                run._kill()
                yield from self._end("limit", "The program wrote more than 8 MiB without a line break, "
                                     "so it was stopped.")
                return
            for raw in lines:
                if self.child_end is not None or not raw:
                    continue
                for event in self._accept(raw):
                    if event["seq"] >= limits.events:
                        run._kill()
                        yield from self._end("limit", f"The program produced more than {limits.events:,} events "
                                             "(the run's limit), so it was stopped.")
                        return
                    yield event
            if self.pauses:
                yield None
        yield from self._finish()

    def _finish(self):
        run = self.run
        process = run._process
        try:
            code = process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            run._kill()
            code = process.returncode
        if self.child_end is not None:
            end = self.child_end
            yield from self._end(end["status"] if end["status"] in events.STATUSES else "error", str(end["reason"]))
            return
        yield from self._end(*_crash_reason(code, run.stderr_text()))


_TIMES = ("duration", "when", "until", "elapsed")


def _round_times(event):
    """Microseconds are plenty for people, and keep virtual-clock ticks out of sight."""
    for key in _TIMES:
        value = event.get(key)
        if type(value) is float:
            event[key] = round(value, 6)
    waiter = event.get("waiter")
    if isinstance(waiter, dict) and type(waiter.get("when")) is float:
        waiter["when"] = round(waiter["when"], 6)


def _crash_reason(code, stderr):
    """(status, reason) for a child that ended without saying how."""
    if code == -signal.SIGXCPU:
        return "limit", "The program used up its CPU time limit, so it was stopped."
    if "MemoryError" in stderr or "Cannot allocate memory" in stderr:
        return "limit", "The program ran out of memory: the sandbox allows 512 MiB."
    if "bwrap:" in stderr:
        return "error", "The sandbox could not start: " + stderr.strip().splitlines()[-1]
    if code == 0:
        return "ok", "The program ended the process itself (e.g. os._exit) before the trace was finished."
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
        return "error", f"The program's process was killed by signal {name}."
    last = stderr.strip().splitlines()[-1:] or [""]
    return "error", f"The program's process ended with exit status {code}. {last[0]}".strip()


def _descendants(pid):
    """Every process below `pid` (from /proc's children lists)."""
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                with open(f"/proc/{parent}/task/{tid}/children") as handle:
                    children = [int(p) for p in handle.read().split()]
            except OSError:
                continue
            found += children
            todo += children
    return found


def _alive(pid):
    """Running (a zombie waiting for its reaper no longer runs anything)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rpartition(")")[2].split()[0] not in ("Z", "X")
    except OSError:
        return False
