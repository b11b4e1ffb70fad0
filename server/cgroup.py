"""A memory cgroup per run, where the host offers one: the run's limit then counts *all* its memory.

The address-space limit (`prlimit --as`) only sees what a process maps. Shared memory
that is not mapped, files on the private `/tmp`, pipe buffers and other kernel memory
grow the host's memory without it; a memory cgroup charges all of them to the run.

Two layouts (found in `/proc/self/cgroup` and `/proc/self/mountinfo`):
- cgroup v1 with the `memory` controller mounted and the server's own cgroup writable
  (this machine, checked on Linux 6.18): each run gets a child of the server's cgroup.
- cgroup v2 with the `memory` controller enabled for the server's cgroup's children
  (`cgroup.subtree_control`), e.g. a systemd unit with `Delegate=yes` whose processes
  live in a child group of their own. Not available on the machine this was written on:
  the v2 paths follow the kernel's documentation (Documentation/admin-guide/cgroup-v2.rst)
  and are not exercised by the tests here.
A process joins its run's cgroup before it executes anything (`command_prefix`), so
everything it starts is counted from its first byte.
"""

import itertools
import os
import signal
import time
from dataclasses import dataclass

# v1 file, v2 file
_FILES = {
    "limit": ("memory.limit_in_bytes", "memory.max"),
    "swap": ("memory.memsw.limit_in_bytes", "memory.swap.max"),
    "events": ("memory.oom_control", "memory.events"),  # both have an "oom_kill N" line
    "peak": ("memory.max_usage_in_bytes", "memory.peak"),
    "tcp": ("memory.kmem.tcp.limit_in_bytes", None),  # v2 counts socket buffers with the rest
}
_numbers = itertools.count(1)


class Unavailable(Exception):
    """The host has no memory cgroup this server may use; the text says why."""


@dataclass(frozen=True)
class Hierarchy:
    """Where the server may make run cgroups: a directory and the cgroup version it belongs to."""

    base: str
    version: int

    def file(self, directory, name):
        return os.path.join(directory, _FILES[name][self.version - 1])

    def create(self, limit, tcp_limit):
        """A new cgroup for one run, limited to `limit` bytes of memory (swap included). v1 counts TCP
        buffers apart, and only once they have a limit of their own: `tcp_limit` bytes."""
        directory = os.path.join(self.base, f"loopscope-{os.getpid()}-{next(_numbers)}")
        os.mkdir(directory)
        group = RunCgroup(self, directory)
        try:
            _write(self.file(directory, "limit"), limit)
            swap = self.file(directory, "swap")
            if os.path.exists(swap):  # v1: memory + swap; v2: swap alone
                _write(swap, limit if self.version == 1 else 0)
            if self.version == 1:
                _write(self.file(directory, "tcp"), tcp_limit)
        except OSError:
            group.remove()
            raise
        return group

    def remove_stale(self):
        """Remove run cgroups that servers which have ended left behind (v1 keeps an empty group
        until it is removed)."""
        for name in os.listdir(self.base):
            parts = name.split("-")
            if len(parts) == 3 and parts[0] == "loopscope" and parts[1].isdigit() and not _alive(int(parts[1])):
                try:
                    os.rmdir(os.path.join(self.base, name))
                except OSError:
                    pass  # still has a process, or not ours to remove


class RunCgroup:
    def __init__(self, hierarchy, directory):
        self.hierarchy = hierarchy
        self.directory = directory

    def command_prefix(self):
        """argv to put before a command so that it runs inside this cgroup from its start."""
        procs = os.path.join(self.directory, "cgroup.procs")
        return ["/bin/sh", "-c", 'echo $$ > "$0" && exec "$@"', procs]

    def out_of_memory(self):
        """True once the kernel has killed a process of this cgroup for breaking its limit."""
        try:
            with open(self.hierarchy.file(self.directory, "events")) as handle:
                for line in handle:
                    name, _, value = line.partition(" ")
                    if name == "oom_kill":
                        return int(value) > 0
        except (OSError, ValueError):
            pass
        return False

    def peak(self):
        """Most bytes the run's processes held at once, or None."""
        try:
            with open(self.hierarchy.file(self.directory, "peak")) as handle:
                return int(handle.read())
        except (OSError, ValueError):
            return None

    def remove(self):
        """Kill what is left in the cgroup and remove it. Its processes are the run's alone, and one
        may have escaped the kill of the run's process tree (a sandbox's inner process that was
        not yet its parent's child when the tree was listed). The kernel may still be letting go
        of the last one for a moment (EBUSY): try again for up to a second."""
        for _ in range(100):
            self._kill_members()
            try:
                os.rmdir(self.directory)
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.01)

    def _kill_members(self):
        try:
            with open(os.path.join(self.directory, "cgroup.procs")) as handle:
                members = [int(pid) for pid in handle.read().split()]
        except (OSError, ValueError):
            return
        for pid in members:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _write(path, value):
    with open(path, "w") as handle:
        handle.write(str(value))


def _own_cgroups():
    """{controller or "" for v2: path} from /proc/self/cgroup."""
    found = {}
    with open("/proc/self/cgroup") as handle:
        for line in handle:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            for name in controllers.split(",") if controllers else [""]:
                found[name] = path
    return found


def _mounts():
    """(mount point, root inside the hierarchy, fstype, super options) of each cgroup mount."""
    with open("/proc/self/mountinfo") as handle:
        for line in handle:
            fields = line.split()
            dash = fields.index("-")
            fstype, options = fields[dash + 1], fields[dash + 3]
            if fstype in ("cgroup", "cgroup2"):
                yield fields[4], fields[3], fstype, options.split(",")


def _directory(mount_point, root, path):
    if root != "/" and (path + "/").startswith(root + "/"):
        path = path[len(root):]
    return os.path.join(mount_point, path.lstrip("/"))


def find():
    """The Hierarchy run cgroups go into; Unavailable with the reason when there is none."""
    try:
        own = _own_cgroups()
        mounts = list(_mounts())
    except OSError as exc:
        raise Unavailable(f"cannot read this process's cgroups ({exc})") from None
    for mount_point, root, fstype, options in mounts:
        if fstype == "cgroup" and "memory" in options and "memory" in own:
            directory = _directory(mount_point, root, own["memory"])
            if os.access(directory, os.W_OK):
                return Hierarchy(directory, 1)
            raise Unavailable(f"the memory cgroup {directory} is not writable by this server")
    for mount_point, root, fstype, _ in mounts:
        if fstype == "cgroup2" and "" in own:
            directory = _directory(mount_point, root, own[""])
            return _v2(directory)
    raise Unavailable("no memory cgroup controller is mounted")


def _v2(directory):
    """v2 lets a cgroup hand the memory controller to its children only while it has no processes
    of its own: in a delegated group the server first moves itself into a child group."""
    def read(name):
        with open(os.path.join(directory, name)) as handle:
            return handle.read().split()

    try:
        if "memory" in read("cgroup.subtree_control"):
            return Hierarchy(directory, 2)
        if "memory" not in read("cgroup.controllers"):
            raise Unavailable(f"the memory controller is not available to {directory} (cgroup v2)")
        server = os.path.join(directory, "loopscope-server")
        os.makedirs(server, exist_ok=True)
        _write(os.path.join(server, "cgroup.procs"), os.getpid())
        _write(os.path.join(directory, "cgroup.subtree_control"), "+memory")
    except OSError as exc:
        raise Unavailable(f"cannot use the memory controller below {directory} (cgroup v2: {exc.strerror}; "
                          "delegate the group to this server, e.g. systemd's Delegate=yes)") from None
    return Hierarchy(directory, 2)
