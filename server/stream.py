"""The events of one run, as they leave the sandbox: read, checked, numbered, limited.

The child is untrusted (the program runs in it), so what it writes is input:
data that is not a frame of schema-valid events becomes raw output, `seq` is numbered
here, the first event is always `run.start` and the last always `run.end` (made
here when the child could not say how it ended), and the time, output and event
limits are enforced here.
"""

import os
import select
import signal
import subprocess
import time

from . import events

_TICK = 0.1  # seconds between checks of stop requests and deadlines
_TOO_MANY = "The program produced more than {:,} events (the run's limit), so it was stopped."


class EventStream:
    """Reads one run's child and turns what it writes into checked, numbered events."""

    def __init__(self, run, pauses):
        self.run = run
        self.pauses = pauses
        self.seq = 0
        self.t = 0.0
        self.started = False
        self.child_end = None
        self.output = 0
        self._decoder = events.Decoder()
        self._checker = events.Checker(run.limits.text)
        self.over_output = False  # the program's output went past the run's limit

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

    def could_not_start(self, why):
        return self._end("error", f"The sandbox could not start: {why}")

    def _raw(self, text):
        return {"v": events.VERSION, "seq": 0, "t": self.t, "kind": "stdout", "text": text, "task": None,
                "stream": "raw"}

    def _accept(self, data):
        """Checked events for the next bytes from the child; what does not fit the schema becomes
        raw output; no more than the run's event limit lets through (one more, which ends it).
        Raises events.FrameTooLarge and events.TooManyEvents."""
        out, checker, limits = [], self._checker, self.run.limits
        for event in self._decoder.feed(data, limits.events - self.seq):
            if type(event) is bytes:  # not even a frame: show the bytes themselves
                event = checker.check(self._raw(event.decode("utf-8", "replace")))
            elif event is None or checker.check(event) is None:
                event = checker.check(self._raw("(an event the schema does not know)\n"))
            else:
                self.t = max(self.t, round(float(event["t"]), 6))
                event["t"] = self.t
                _round_times(event)
            if checker.text_size + self._decoder.string_size > limits.output:
                self.over_output = True
                return out
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
            if self.output > limits.pipe:
                run._kill()
                yield from self._end("limit", f"The program wrote more than {limits.pipe // 2**20} MiB of "
                                     "output and events, so it was stopped.")
                return
            if self.child_end is not None:
                continue
            try:
                accepted = self._accept(chunk)
            except events.FrameTooLarge:
                run._kill()
                yield from self._end("limit", f"The program sent more than {events.MAX_FRAME // 2**20} MiB of "
                                     "events at once, so it was stopped.")
                return
            except events.TooManyEvents:
                run._kill()
                yield from self._end("limit", _TOO_MANY.format(limits.events))
                return
            except events.TooDeep:
                run._kill()
                yield from self._end("error", "The program sent Loopscope data nested too deeply to be events, "
                                     "so it was stopped.")
                return
            for event in accepted:
                if event["seq"] >= limits.events:
                    run._kill()
                    self.seq = event["seq"]  # the events numbered after it are dropped with it
                    yield from self._end("limit", _TOO_MANY.format(limits.events))
                    return
                yield event
            if self.over_output:
                run._kill()
                yield from self._end("limit", f"The program printed more than {limits.output / 2**20:g} MiB of output "
                                     "(the run's limit, counting the names it gave things too), so it was stopped; "
                                     "what it printed before is kept.")
                return
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
        status, reason = _crash_reason(code, run.stderr_text(), run.out_of_memory(), run.limits)
        if self._decoder.lost:  # its run.end, if it sent one, is somewhere in the raw output
            status = "error" if status == "ok" else status
            reason = ("The program wrote into Loopscope's event pipe, so the trace could not be read from there "
                      "on (what came is shown as raw output)." + ("" if code == 0 else " " + reason))
        yield from self._end(status, reason)


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


def _crash_reason(code, stderr, out_of_memory, limits):
    """(status, reason) for a child that ended without saying how."""
    if out_of_memory:
        return "limit", (f"The program used more than {limits.memory // 2**20} MiB of memory (the run's limit, which "
                         "counts shared memory, files in /tmp and kernel memory too), so it was stopped.")
    if code == -signal.SIGXCPU:
        return "limit", "The program used up its CPU time limit, so it was stopped."
    if "MemoryError" in stderr or "Cannot allocate memory" in stderr:
        return "limit", f"The program ran out of memory: the sandbox allows {limits.memory // 2**20} MiB."
    if "bwrap:" in stderr:
        return "error", "The sandbox could not start: " + stderr.strip().splitlines()[-1]
    if code == 0:
        return "ok", "The program ended the process itself (e.g. os._exit) before the trace was finished."
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
        return "error", f"The program's process was killed by signal {name}."
    last = stderr.strip().splitlines()[-1:] or [""]
    return "error", f"The program's process ended with exit status {code}. {last[0]}".strip()
