"""Trace a scenario or a Python file in the sandbox; print the event stream as JSON lines.

    python -m server.trace TARGET [--blocking] [--clock virtual|real] [--timeout SECONDS]
    python -m server.trace --list

TARGET is a scenario id (see --list) or a path to a .py file. The output is
exactly the stream the browser receives. Exit status: 0 whenever a run took
place, whatever the program did (its errors are events); 2 for misuse.
A file is untrusted code: without the full sandbox it is refused unless
--trust is given (for your own code on your own machine).
"""

import argparse
import dataclasses
import os
import shutil
import sys
from pathlib import Path

import orjson

from . import catalog, cgroup, sandbox
from .runner import Options, Program, Run, SandboxUnavailable
from .spares import Ahead

LIMITS = sandbox.Limits()


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(2, f"trace: {message}\n")


def _parser():
    parser = _Parser(prog="python -m server.trace", description=__doc__.split("\n\n")[0])
    parser.add_argument("target", nargs="?", help="scenario id or path to a .py file")
    parser.add_argument("--list", action="store_true", help="print the scenario ids, one a line")
    parser.add_argument("--blocking", action="store_true", help="run the blocking variant")
    parser.add_argument("--clock", choices=("virtual", "real"), default="virtual")
    parser.add_argument("--timeout", type=float, default=LIMITS.timeout,
                        help=f"wall-clock seconds (default {LIMITS.timeout:g})")
    parser.add_argument("--trust", action="store_true", help="run a file even without the full sandbox")
    return parser


def program_for(target, blocking):
    """(Program, blocking_sleep) for a scenario id or a file path; ValueError says what is wrong."""
    if target in catalog.scenarios():
        try:
            return Program.of_scenario(target, blocking), False
        except catalog.NoBlockingVariant as exc:
            raise ValueError(str(exc)) from None
    path = Path(target)
    if path.suffix != ".py":
        raise ValueError(f"unknown scenario {target!r} (see --list), and not a .py file")
    if not path.is_file():
        raise ValueError(f"no such file: {target}")
    data = path.read_bytes()
    if len(data) > LIMITS.source:
        raise ValueError(f"{target} is larger than {LIMITS.source // 1024} KiB")
    try:
        source = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{target} is not UTF-8 text") from None
    # Its code is known by the name `python TARGET` gives it (in reprs and tracebacks): the
    # path made absolute by prefixing the working directory, nothing else.
    return Program(source, os.path.join(os.getcwd(), target), path.name, argv0=target), blocking


def main(argv=None):
    args = _parser().parse_args(argv)
    if args.list:
        print("\n".join(catalog.scenarios()))
        return 0
    if not args.target:
        _parser().exit(2, "trace: give a TARGET (a scenario id or a .py file), or --list\n")
    if not 0 < args.timeout <= 600:
        _parser().exit(2, "trace: --timeout must be between 0 and 600 seconds\n")
    try:
        program, blocking_sleep = program_for(args.target, args.blocking)
    except ValueError as exc:
        _parser().exit(2, f"trace: {exc}\n")
    limits = dataclasses.replace(LIMITS, timeout=args.timeout)
    ahead = _start_ahead(limits, program.filename)
    try:
        support = sandbox.detect()
        if ahead is not None and not _same_sandbox(ahead.support, support):
            ahead.close()
            ahead = None
        if not support.full:
            print(f"trace: warning: {support.describe()}", file=sys.stderr)
        options = Options(blocking=args.blocking, clock=args.clock, blocking_sleep=blocking_sleep)
        try:
            run = Run(program, options, limits, support, allow_reduced=args.trust, spares=ahead)
        except SandboxUnavailable as exc:
            _parser().exit(2, f"trace: {exc} Pass --trust to run it anyway.\n")
        _write(run)
    finally:
        if ahead is not None:
            ahead.close()  # (a child no run took: e.g. the file was refused)
    return 0


def _start_ahead(limits, filename):
    """The run's child, started while `sandbox.detect()` probes the sandbox, for the sandbox the
    probe most likely finds (bubblewrap, where it is installed): the probe and the child's start
    are each an interpreter's start, and on two cores they take the time of one. None where there
    is no bubblewrap to expect."""
    bwrap = shutil.which("bwrap")
    if bwrap is None or os.environ.get("LOOPSCOPE_NO_BWRAP"):
        return None
    expected = sandbox.Support(bwrap=bwrap)
    try:
        expected.cgroups = cgroup.find()
    except cgroup.Unavailable:
        pass
    return Ahead(expected, limits, filename)


def _same_sandbox(expected, support):
    """The child started ahead has the sandbox `support` says the host gives (a run in it gets
    the same layers as one started now: bubblewrap, and a memory cgroup if and only if promised)."""
    return expected.bwrap == support.bwrap and (expected.cgroups is None) == (support.cgroups is None)


def _write(run):
    out = sys.stdout.buffer
    batches = run.batches(pauses=True)
    dumps = orjson.dumps
    try:
        # Written as they come, in one write per read from the child (None: it is silent for now),
        # not one per event; the JSON is the WebSocket's (protocol.encode).
        for events in batches:
            if events is None:
                out.flush()
            else:
                out.write(b"".join([dumps(event) + b"\n" for event in events]))
        out.flush()
    except BrokenPipeError:  # e.g. piped into `head`: the reader has all it wanted
        batches.close()
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


if __name__ == "__main__":
    sys.exit(main())
