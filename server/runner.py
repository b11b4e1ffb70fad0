"""One run: start the sandboxed child, hand its events on (see `stream.py`), always end the process.

`Run(program, options).events()` is the whole interface the CLI and the
WebSocket use, so where runs execute can change without touching them.
"""

import base64
import json
import subprocess
import threading
from dataclasses import dataclass

from . import catalog, sandbox
from .processes import kill_tree
from .spares import NoCgroup, start_child
from .stream import Ending, EventStream

_STDERR_KEEP = 64 * 1024


@dataclass(frozen=True)
class Program:
    source: str
    filename: str  # the name its lines and tracebacks refer to, e.g. "tasks.py"
    target: str  # what run.start reports: a scenario id or the file's name
    trusted: bool = False  # a scenario of ours (may run with a reduced sandbox)
    argv0: str = ""  # the program's sys.argv[0] (default: filename); a file's path as the CLI was given it

    @classmethod
    def of_scenario(cls, scenario_id, blocking=False):
        """The program a scenario runs in a mode; catalog.UnknownScenario, catalog.NoBlockingVariant."""
        scenario = catalog.get(scenario_id)
        return cls(scenario.source(blocking), scenario.filename, scenario.id, trusted=True)


@dataclass(frozen=True)
class Options:
    blocking: bool = False
    clock: str = "virtual"
    blocking_sleep: bool = False  # own code in blocking mode: asyncio.sleep holds the loop
    threshold: float = 0.05


class SandboxUnavailable(Exception):
    """Untrusted code, and the host cannot provide the full sandbox."""


class Run:
    def __init__(self, program, options=None, limits=None, support=None, allow_reduced=False, spares=None):
        self.program = program
        self.spares = spares  # a spares.SparePool whose children may serve this run (started ahead)
        self.options = options or Options()
        self.limits = limits or sandbox.Limits()
        self.support = support or sandbox.detect()
        if not self.support.full and not (program.trusted or allow_reduced):
            raise SandboxUnavailable(
                f"Refusing to run untrusted code without the full sandbox: {self.support.describe()}."
            )
        self._stop = threading.Event()
        self._process = None
        self._cgroup = None
        self._killed = False
        self._stderr = bytearray()
        self._stream = EventStream(program, self.options, self.limits)

    @property
    def count(self):
        """Events produced so far."""
        return self._stream.seq

    def stop(self):
        """Ask the run to end (thread-safe); `events()` then ends it with status `stopped`."""
        self._stop.set()

    def events(self, pauses=False):
        """Start the child and yield its events as dicts, `run.start` first and `run.end` last.

        With `pauses`, also yield None whenever the child has nothing more to say for
        now (after each chunk it wrote, and every tick it is silent), so a consumer
        that batches events knows when to send what it holds.
        """
        batches = self.batches(pauses)
        try:
            for batch in batches:
                if batch is None:
                    yield None
                else:
                    yield from batch
        finally:
            batches.close()

    def batches(self, pauses=False):
        """As `events`, the events in lists (never empty) as they came from the child: for a
        consumer that sends them on in batches, without handling each one on its way."""
        stream = self._stream
        stream.pauses = pauses
        try:
            try:
                self._start()
            except (OSError, SandboxUnavailable) as exc:
                yield stream.end(Ending("error", f"The sandbox could not start: {exc}"))
                return
            ending = yield from stream.read(self._process.stdout.fileno(), self._stop.is_set)
            if ending is None:  # the child closed the pipe: it is ending by itself
                ending = stream.ending_of_child(self._exit_code(), self.stderr_text(), self.out_of_memory())
            else:
                self._kill()
            yield stream.end(ending)
        finally:
            self._kill()

    # -- process ---------------------------------------------------------------------

    def _config(self):
        program, options = self.program, self.options
        argv, drop_to, cwd = sandbox.command(self.support, self.limits, program.filename)
        config = {
            "source": program.source, "filename": program.filename, "target": program.target,
            "argv0": program.argv0,
            "blocking": options.blocking, "blocking_sleep": options.blocking_sleep, "clock": options.clock,
            "threshold": options.threshold, "drop_to": drop_to, "limits": self.limits.for_child(),
            "tmp": {"size": self.limits.tmp_size, "files": self.limits.tmp_files} if self.support.bwrap else None,
            # In a sandbox of its own (a private root and /tmp), the program's file is on its disk too.
            "program_on_disk": bool(self.support.bwrap),
            "seccomp": base64.b64encode(self.support.seccomp).decode() if self.support.seccomp else None,
        }
        return argv, cwd, json.dumps(config).encode()

    def _start(self):
        argv, cwd, config = self._config()
        spare = self.spares.take(argv, cwd) if self.spares is not None else None
        if spare is not None:  # started ahead, with exactly this command: it waits for `config`
            self._process, self._cgroup = spare.process, spare.cgroup
        else:
            try:
                self._process, self._cgroup = start_child(self.support, self.limits, argv, cwd)
            except NoCgroup as exc:
                raise SandboxUnavailable(str(exc)) from None
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        try:
            self._process.stdin.write(config)
            self._process.stdin.close()
        except BrokenPipeError:
            pass  # the child died at once; its exit status tells why

    def _exit_code(self):
        """The child's exit status, once it has exited (it is killed if it has not within 2 s)."""
        try:
            return self._process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self._kill()
            return self._process.returncode

    def _drain_stderr(self):
        stream = self._process.stderr
        for chunk in iter(lambda: stream.read1(65536), b""):
            room = _STDERR_KEEP - len(self._stderr)
            if room > 0:
                self._stderr += chunk[:room]

    def _kill(self):
        """End the child and everything it started, and wait until they are gone."""
        process = self._process
        if self._killed:
            return
        self._killed = True  # (once: a reaped child's pid may be another process's by the next call)
        if process is None:
            if self._cgroup is not None:
                self._cgroup.remove()
            return
        kill_tree(process)
        process.stdout.close()
        if self._cgroup is not None:
            self._cgroup.remove()

    def out_of_memory(self):
        """The kernel stopped the run for breaking its memory limit (only known with a memory cgroup)."""
        return self._cgroup is not None and self._cgroup.out_of_memory()

    def stderr_text(self):
        return self._stderr.decode("utf-8", "replace")
