"""Sandboxes started ahead: a few children, each with its interpreter up and asyncio and the engine
imported (`engine.child._wait_for_the_run`), waiting for the configuration of the one run it will
serve. A run that finds a spare of its kind skips what most of a start costs.

A spare serves exactly one run and is never handed out twice: `take` removes it from the pool
(the run then owns it and ends it like any child), and a fresh one is started in its place in
the background. So nothing of one run (or of a spare's own start) can reach another: every run
still gets a process, a /tmp and a memory cgroup that no other run had. The pool never holds
more than its size; a spare that died while it waited is dropped and replaced.
"""

import logging
import subprocess
import threading

from . import sandbox
from .processes import kill_tree

log = logging.getLogger("loopscope")


class NoCgroup(Exception):
    """The run's memory cgroup could not be made (the host promised one: no run without it)."""


class Spare:
    """A started child waiting for its run: its process and its memory cgroup (or None)."""

    def __init__(self, process, cgroup):
        self.process = process
        self.cgroup = cgroup

    def discard(self):
        # (the whole tree: killed while bubblewrap sets up, its inner process may miss the signal
        # that --die-with-parent asks for)
        kill_tree(self.process)
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            stream.close()
        if self.cgroup is not None:
            self.cgroup.remove()


def start_child(support, limits, argv, cwd):
    """(process, cgroup) of a child started for a run with these sandbox settings; its stdin takes
    the run's configuration. Raises NoCgroup and OSError."""
    cgroup = None
    if support.cgroups is not None:
        try:
            cgroup = support.cgroups.create(limits.memory, limits.tcp_buffers)
        except OSError as exc:  # fail closed: no run without the limit the host promised
            raise NoCgroup(f"The run's memory cgroup could not be made: {exc.strerror}.") from None
        argv = cgroup.command_prefix() + argv
    try:
        process = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd,
            env=sandbox.environment(), start_new_session=True, close_fds=True,
        )
    except BaseException:
        if cgroup is not None:
            cgroup.remove()
        raise
    return process, cgroup


class SparePool:
    """Up to `size` spares for runs of `support` and `limits` whose program file is `filename`
    (the sandbox's command depends on where the file goes: other runs start their own child)."""

    def __init__(self, size, support, limits, filename):
        self.size = size
        self._support, self._limits = support, limits
        self._argv, _, self._cwd = sandbox.command(support, limits, filename)
        self._spares = []
        self._lock = threading.Lock()
        self._wanted = threading.Condition(self._lock)
        self._closed = False
        self.started = 0  # spares started so far (each serves one run at most)
        if size > 0:
            threading.Thread(target=self._refill, name="loopscope-spares", daemon=True).start()

    def take(self, argv, cwd):
        """A spare started with exactly `argv` and `cwd`, now the caller's to run and end; or None."""
        if argv != self._argv or cwd != self._cwd:
            return None
        with self._lock:
            while self._spares:
                spare = self._spares.pop(0)
                self._wanted.notify()
                if spare.process.poll() is None:
                    return spare
                threading.Thread(target=spare.discard, daemon=True).start()  # it died waiting
        return None

    def ready(self):
        """Spares waiting now."""
        with self._lock:
            return sum(1 for spare in self._spares if spare.process.poll() is None)

    def pids(self):
        """The processes of the spares waiting now (for tests and the health check)."""
        with self._lock:
            return [spare.process.pid for spare in self._spares]

    def _refill(self):
        while True:
            with self._lock:
                while not self._closed and len(self._spares) >= self.size and all(
                        spare.process.poll() is None for spare in self._spares):
                    self._wanted.wait(timeout=1.0)  # (and now and then: has one died waiting?)
                if self._closed:
                    return
                dead = [spare for spare in self._spares if spare.process.poll() is not None]
                for spare in dead:
                    self._spares.remove(spare)
                missing = self.size - len(self._spares)
            for spare in dead:
                spare.discard()
            for _ in range(missing):
                try:
                    process, cgroup = start_child(self._support, self._limits, self._argv, self._cwd)
                except (OSError, NoCgroup) as exc:
                    log.warning("a spare sandbox could not start: %s", exc)
                    with self._lock:
                        self._wanted.wait(timeout=5.0)  # (do not spin on a host that cannot start one)
                    break
                with self._lock:
                    if self._closed:
                        closing = Spare(process, cgroup)
                    else:
                        self._spares.append(Spare(process, cgroup))
                        self.started += 1
                        continue
                closing.discard()
                return

    def close(self):
        """End every spare; no more are started."""
        with self._lock:
            self._closed = True
            spares, self._spares = self._spares, []
            self._wanted.notify_all()
        for spare in spares:
            spare.discard()


class Ahead:
    """One child started in the background for one run whose sandbox is not known for sure yet
    (the CLI's: `sandbox.detect()` probes while it starts). `take` (a SparePool's interface) hands
    it over if it was started with exactly the run's command; `close` ends it if no run took it.
    Nothing runs in it before its run sends the configuration."""

    def __init__(self, support, limits, filename):
        self.support = support
        self._argv, _, self._cwd = sandbox.command(support, limits, filename)
        self._spare = None
        self._thread = threading.Thread(target=self._start, args=(limits,), name="loopscope-ahead", daemon=True)
        self._thread.start()

    def _start(self, limits):
        try:
            self._spare = Spare(*start_child(self.support, limits, self._argv, self._cwd))
        except (OSError, NoCgroup):
            pass  # the run starts its own child, and says why if that fails too

    def take(self, argv, cwd):
        self._thread.join()
        spare, self._spare = self._spare, None
        if spare is not None and argv == self._argv and cwd == self._cwd and spare.process.poll() is None:
            return spare
        if spare is not None:
            spare.discard()
        return None

    def close(self):
        self._thread.join()
        spare, self._spare = self._spare, None
        if spare is not None:
            spare.discard()
