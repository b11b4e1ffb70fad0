"""The events of one run, as they leave the sandbox: read, checked, numbered, limited.

The child is untrusted (the program runs in it), so what it writes is input:
data that is not a frame of schema-valid events becomes raw output, `seq` is numbered
here, the first event is always `run.start` and the last always `run.end` (made
here when the child could not say how it ended), and the time, output and event
limits are enforced here.

The stream only reads: `read()` reports how the run must end (an `Ending`) and the
run (`runner.Run`, which owns the process) ends it, then asks `end()` for the last events.
"""

import os
import select
import signal
import time
from dataclasses import dataclass

from .events import schema, wire

_TICK = 0.1  # seconds between checks of stop requests and deadlines
_UNKNOWN = "(an event the schema does not know)\n"
_TOO_MANY = "The program produced more than {:,} events (the run's limit), so it was stopped."


@dataclass(frozen=True)
class Ending:
    """How a run ends: its `run.end` status, reason and the program's exit status (None: it never exited)."""

    status: str
    reason: str
    exit: int = None


STOPPED = Ending("stopped", "The run was stopped.")


class EventStream:
    """Reads one run's child and turns what it writes into checked, numbered events."""

    def __init__(self, program, options, limits, pauses=False):
        self.program = program
        self.options = options
        self.limits = limits
        self.pauses = pauses
        self.seq = 0  # events numbered so far
        self.t = 0.0
        self.started = False
        self.child_end = None  # the child's own run.end, once it sent it
        self.bytes_read = 0
        self._decoder = wire.Decoder()
        self._decoder.name_limit = limits.text
        self._checker = schema.Checker(limits.text)
        self._over_output = False
        self.stalled = None  # (the latest `loop.stalled`, when it came) while its callback has not ended

    def _number(self, event):
        """The one place an event gets its version and sequence number."""
        event["v"] = schema.VERSION
        event["seq"] = self.seq
        self.seq += 1
        return event

    def _new(self, kind, **fields):
        return {"v": schema.VERSION, "seq": None, "t": self.t, "kind": kind, **fields}

    def _start_event(self):
        program, options = self.program, self.options
        return self._new("run.start", target=program.target, blocking=options.blocking, clock=options.clock,
                         python=None, file=program.filename, threshold=options.threshold)

    def end(self, ending):
        """The last events: `run.start` if none was sent yet, then `run.end`."""
        out = []
        if not self.started:
            out.append(self._number(self._start_event()))
            self.started = True
        reason = schema.clean(schema.shorten(ending.reason, self.limits.text * 2))
        out.append(self._number(self._new("run.end", status=ending.status, reason=reason, elapsed=self.t,
                                          exit=ending.exit)))
        return out

    def _accept(self, data):
        """Checked events for the next bytes from the child; what does not fit the schema becomes
        raw output; no more than the run's event limit lets through (one more, which ends it).
        Raises wire.FrameTooLarge, wire.TooManyEvents and wire.TooDeep.

        Packed events (most of them) come out of the decoder checked and rounded already; those
        of JSON frames (`wire.Unchecked`) are checked here, one by one, as the limits count."""
        out, checker, decoder, limits = [], self._checker, self._decoder, self.limits
        decoder.string_limit = limits.output - checker.text_size
        number, t, unchecked = self.seq, self.t, wire.Unchecked
        events = decoder.feed(data, limits.events - number)
        # The decoder's sizes are final once it has decoded `data`; the checker's grow only with
        # what it checks: the limits are looked at again after each such event.
        over = (checker.text_size + decoder.string_size > limits.output
                or checker.sent_size + decoder.sent_size > limits.sent)
        for event in events:
            if type(event) is not dict:  # (a packed record's event: checked as it was decoded)
                if type(event) is unchecked:
                    event = checker.check(dict(event))
                    if event is not None:
                        event["t"] = float(event["t"])
                        wire.round_times(event)
                    else:
                        event = checker.check(self._new("stdout", text=_UNKNOWN, task=None, stream="raw"))
                else:  # None: not an event; bytes: not even a frame (shown as they are)
                    self.t = t
                    text = _UNKNOWN if event is None else event.decode("utf-8", "replace")
                    event = checker.check(self._new("stdout", text=text, task=None, stream="raw"))
                over = (checker.text_size + decoder.string_size > limits.output
                        or checker.sent_size + decoder.sent_size > limits.sent)
            if event["t"] > t:
                t = event["t"]
            else:  # (the loop's time never goes back: the child's clock reads are its own)
                event["t"] = t
            if over:
                self._over_output = True
                break
            kind = event["kind"]
            if kind in _NOTED or self.stalled is not None or not self.started:
                if kind == "run.start":
                    if self.started:
                        continue
                    self.started = True
                elif not self.started:
                    self.t = t
                    out.append(self._number(self._start_event()))
                    number = self.seq
                    self.started = True
                if kind == "run.end":
                    self.child_end = event
                    break
                if kind == "loop.stalled":
                    self.stalled = (event, time.monotonic())
                elif self.stalled is not None and kind in _ENDED and event["handle"] == self.stalled[0]["handle"]:
                    self.stalled = None
            event["seq"] = number  # (the one place an event is numbered, with `_number`)
            number += 1
            out.append(event)
        self.seq, self.t = number, t
        return out

    def read(self, fd, stopped):
        """Yield the events the child writes to `fd`, in lists (what each read of the pipe brought,
        never empty), until it closes it (then return None), or until the run must end (then return
        its Ending: the caller ends the process). `stopped()` says a stop was asked for. With
        `pauses`, also yield None whenever the child is silent for now. (Lists, not events one by
        one: each layer an event passes through one at a time cost the parent a share of its time.)"""
        limits = self.limits
        deadline = time.monotonic() + limits.timeout
        while True:
            if stopped():
                return STOPPED
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return self._timed_out()
            ready, _, _ = select.select([fd], [], [], min(_TICK, remaining))
            if not ready:
                if self.pauses:
                    yield None
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                return None
            self.bytes_read += len(chunk)
            if self.bytes_read > limits.pipe:
                return Ending("limit", f"The program wrote more than {limits.pipe // 2**20} MiB of output and "
                              "events, so it was stopped.")
            if self.child_end is not None:
                continue
            try:
                accepted = self._accept(chunk)
            except wire.FrameTooLarge:
                return Ending("limit", f"The program sent more than {wire.MAX_FRAME // 2**20} MiB of events at "
                              "once, so it was stopped.")
            except wire.TooManyEvents:
                return Ending("limit", _TOO_MANY.format(limits.events))
            except wire.TooManyStrings:
                return self._too_much_output()
            except wire.TooDeep:
                return Ending("error", "The program sent Loopscope data nested too deeply to be events, so it was "
                              "stopped.")
            if accepted and accepted[-1]["seq"] >= limits.events:  # (numbered in order: the last is the highest)
                first_over = next(i for i, event in enumerate(accepted) if event["seq"] >= limits.events)
                if first_over:
                    yield accepted[:first_over]
                self.seq = accepted[first_over]["seq"]  # the events numbered after it are dropped with it
                return Ending("limit", _TOO_MANY.format(limits.events))
            if accepted:
                yield accepted
            if self._over_output:
                return self._too_much_output()
            if self.pauses:
                yield None

    def _timed_out(self):
        """The time limit's ending; it names the line of a callback that held the loop till then."""
        reason = f"The program was still running after {self.limits.timeout:g} s (the run's time limit), so it was stopped"
        if self.stalled is None:
            return Ending("timeout", reason + ".")
        event, came = self.stalled
        held = event["running"] + time.monotonic() - came
        where = f" at line {event['line']}" if event["line"] else ""
        how = _HELD_BY[event["cause"]].format(call=f" ({event['call']})" if event["call"] else "")
        clock = " (real time: loop time stands still while a callback runs)" if self.options.clock == "virtual" else ""
        return Ending("timeout", f"{reason}: for its last {held:.1f} s{clock} one callback held the loop{where} "
                      f"and never returned — {how}.")

    def _too_much_output(self):
        limits = self.limits
        if self._checker.sent_size + self._decoder.sent_size > limits.sent:
            return Ending("limit", f"The program's trace carried more than {limits.sent / 2**20:g} MiB of names and "
                          "output to send (the run's limit), so it was stopped; what came before is kept.")
        return Ending("limit", f"The program printed more than {limits.output / 2**20:g} MiB of output (the run's "
                      "limit, counting the names it gave things too), so it was stopped; what it printed before is "
                      "kept.")

    def ending_of_child(self, code, stderr, out_of_memory):
        """How a run ended whose child closed its end of the pipe and exited with `code`."""
        if self.child_end is not None:
            return Ending(self.child_end["status"], self.child_end["reason"], self.child_end["exit"])
        status, reason = _crash_reason(code, stderr, out_of_memory, self.limits, self.started)
        # It ended itself without a word (e.g. C code's exit()): its status, unless a signal or a limit ended it
        # (bubblewrap reports a signal as 128 + its number).
        exit_code = code if code is not None and 0 <= code < 128 and not out_of_memory else None
        if self._decoder.lost:  # its run.end, if it sent one, is somewhere in the raw output
            status = "error" if status == "ok" else status
            reason = ("The program wrote into Loopscope's event pipe, so the trace could not be read from there "
                      "on (what came is shown as raw output)." + ("" if code == 0 else " " + reason))
        return Ending(status, reason, exit_code)


_NOTED = frozenset(("run.start", "run.end", "loop.stalled"))  # kinds the stream itself looks at
_ENDED = ("handle.end", "loop.blocked")  # a stalled callback that ended (loop.blocked comes just before its end)
_HELD_BY = {  # what held the loop, by `loop.stalled`'s cause
    "cpu": "code that kept running, like an endless loop that never awaits",
    "wait": "a call that kept waiting outside asyncio{call}",
    "sleep": "a time.sleep() call",
}


def _crash_reason(code, stderr, out_of_memory, limits, started):
    """(status, reason) for a child that ended without saying how."""
    if out_of_memory:
        return "limit", (f"The program used more than {limits.memory // 2**20} MiB of memory (the run's limit, which "
                         "counts shared memory, files in /tmp and kernel memory too), so it was stopped.")
    if code == -signal.SIGXCPU:
        return "limit", "The program used up its CPU time limit, so it was stopped."
    if "MemoryError" in stderr or "Cannot allocate memory" in stderr:
        return "limit", f"The program ran out of memory: the sandbox allows {limits.memory // 2**20} MiB."
    if "bwrap:" in stderr and not started:  # (once the program ran, it may have written that itself)
        return "error", "The sandbox could not start: " + stderr.strip().splitlines()[-1]
    if code in (-signal.SIGSYS, 128 + signal.SIGSYS):  # (bubblewrap reports a signal as 128 + its number)
        return "error", ("The program made a system call of another architecture, which the sandbox does not "
                         "allow, so it was stopped.")
    if code == 0:
        return "ok", "The program ended the process itself (e.g. os._exit) before the trace was finished."
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
        return "error", f"The program's process was killed by signal {name}."
    last = stderr.strip().splitlines()[-1:] or [""]
    return "error", f"The program's process ended with exit status {code}. {last[0]}".strip()
