"""A run's memory is all of its memory: floods of memory no mapping shows stop below the limit.

Each test measures the host's memory (`/proc/meminfo`) while the hostile program runs:
before these limits, each of them held gigabytes of the host's memory.
"""

import threading

import pytest

from conftest import of_kind, stdout_of, trace
from server import sandbox
from server.runner import Options, Program, Run

pytestmark = pytest.mark.usefixtures("no_leftovers")
MiB = 2**20


def host_memory_in_use():
    """Bytes of the host's memory that are in use and cannot be given back (MemTotal - MemAvailable)."""
    fields = {}
    with open("/proc/meminfo") as handle:
        for line in handle:
            name, value = line.split(":")
            fields[name] = int(value.split()[0]) * 1024
    return fields["MemTotal"] - fields["MemAvailable"]


class PeakMemory:
    """The most host memory in use, above what was in use at the start, while the block runs."""

    def __enter__(self):
        self.base = host_memory_in_use()
        self.peak = self.base
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample)
        self._thread.start()
        return self

    def _sample(self):
        while not self._done.wait(0.01):
            self.peak = max(self.peak, host_memory_in_use())

    def __exit__(self, *exc):
        self._done.set()
        self._thread.join()

    @property
    def growth(self):
        return self.peak - self.base


def errors(events):
    return " ".join(e["message"] for e in of_kind(events, "error"))


MEMFD_FLOOD = """
import os
files = []
while len(files) < 128:  # 2 GiB kept by descriptor, never mapped
    fd = os.memfd_create("hoard")
    for _ in range(16):
        os.write(fd, b"x" * 2**20)
    files.append(fd)
"""

RAW_MEMFD_FLOOD = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
files = []
while len(files) < 128:
    fd = libc.syscall(319, b"hoard", 0)  # memfd_create on x86-64, past any Python-level wrapper
    if fd < 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    for _ in range(16):
        os.write(fd, b"x" * 2**20)
    files.append(fd)
"""

SYSV_FLOOD = """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
for _ in range(32):  # 2 GiB of segments, each mapped only while it is filled
    segment = libc.shmget(0, 64 * 2**20, 0o1600)
    address = libc.shmat(segment, None, 0)
    ctypes.memset(address, 1, 64 * 2**20)
    libc.shmdt(ctypes.c_void_p(address))
"""

RAW_SYSV = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
segment = libc.syscall(29, 0, 64 * 2**20, 0o1600)  # shmget on x86-64
print(segment, os.strerror(ctypes.get_errno()))
"""

INODE_FLOOD = """
i = 0
while True:  # empty files: no bytes of /tmp's size, but kernel memory for each
    open(f"/tmp/empty-{i}", "w").close()
    i += 1
"""


@pytest.mark.parametrize("source", [MEMFD_FLOOD, SYSV_FLOOD], ids=["memfd", "sysv-shm"])
def test_shared_memory_floods_are_refused_with_a_plain_message(source):
    with PeakMemory() as memory:
        events = trace(source)
    assert events[-1]["status"] == "error"
    assert "shared memory (SysV IPC, memfd_create, shm_open) is not available here" in errors(events)
    assert memory.growth < 200 * MiB, f"the host's memory grew by {memory.growth / MiB:.0f} MiB"


def test_memfd_past_the_python_wrapper_is_refused_by_seccomp():
    with PeakMemory() as memory:
        events = trace(RAW_MEMFD_FLOOD)
    assert events[-1]["status"] == "error"
    assert "Operation not permitted" in errors(events)
    assert memory.growth < 200 * MiB


def test_sysv_shared_memory_past_ctypes_names_is_refused_by_seccomp():
    events = trace(RAW_SYSV)
    assert [e["text"] for e in of_kind(events, "stdout")] == ["-1 Operation not permitted\n"]


def test_an_inode_flood_stops_at_the_tmp_file_limit():
    with PeakMemory() as memory:
        events = trace(INODE_FLOOD)
    end = events[-1]
    assert end["status"] == "limit", end
    assert end["reason"] == ("The program filled the sandbox's /tmp on line 4: it holds at most 16 MiB in at most "
                             "4,096 files and folders.")
    assert memory.growth < 200 * MiB


def test_the_host_gives_each_run_a_memory_cgroup():
    assert sandbox.detect().cgroups is not None, sandbox.detect().describe()


def test_memory_the_address_space_limit_cannot_see_counts_against_the_runs_limit():
    # /tmp may hold more than the run's memory here: only the memory cgroup stops it.
    limits = sandbox.Limits(memory=96 * MiB, tmp_size=512 * MiB, file_size=512 * MiB)
    source = "with open('/tmp/big', 'wb') as f:\n    for _ in range(400):\n        f.write(b'x' * 2**20)\n"
    run = Run(Program(source, "main.py", "main.py"), Options(), limits)
    with PeakMemory() as memory:
        events = list(run.events())
    end = events[-1]
    assert end["status"] == "limit", end
    assert end["reason"].startswith("The program used more than 96 MiB of memory (the run's limit")
    assert memory.growth < (96 + 100) * MiB, f"the host's memory grew by {memory.growth / MiB:.0f} MiB"


def test_an_ordinary_run_is_not_troubled_by_its_cgroup():
    events = trace("import asyncio\nasync def main():\n    await asyncio.sleep(0.1)\n    print('done')\n"
                   "asyncio.run(main())\n")
    assert events[-1]["status"] == "ok"
    assert [e["text"] for e in of_kind(events, "stdout")] == ["done\n"]


TCP_FLOOD = """
import socket
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(64)
queued, kept = 0, []
for _ in range(60):  # 120 loopback sockets, each filled until the kernel takes no more
    client = socket.socket()
    client.connect(listener.getsockname())
    server, _ = listener.accept()
    for end in (client, server):
        end.setblocking(False)
        try:
            while True:
                queued += end.send(b"x" * 65536)
        except OSError:
            pass
    kept.append((client, server))
print(queued // 2**20)
"""


def test_tcp_buffers_count_against_the_run_too():
    # cgroup v1 counts TCP buffers only once they have a limit of their own (Limits.tcp_buffers).
    with PeakMemory() as memory:
        events = trace(TCP_FLOOD, clock="real")
    assert events[-1]["status"] == "ok", events[-1]
    queued = int(stdout_of(events))
    assert queued <= sandbox.Limits().tcp_buffers // MiB + 8, f"{queued} MiB queued"
    assert memory.growth < 250 * MiB, f"the host's memory grew by {memory.growth / MiB:.0f} MiB"


def test_socket_buffers_cannot_be_grown_by_hand():
    source = ("import socket\nfor option in (socket.SO_RCVBUF, socket.SO_SNDBUF):\n"
              "    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):\n"
              "        try:\n            socket.socket(socket.AF_INET, kind).setsockopt(socket.SOL_SOCKET, option, 2**23)\n"
              "        except OSError as exc:\n            print(exc)\n")
    assert stdout_of(trace(source)).splitlines() == ["[Errno 1] Operation not permitted"] * 4


def test_run_cgroups_are_removed_when_runs_end():
    hierarchy = sandbox.detect().cgroups
    for _ in range(5):
        assert trace("print('hi')\n")[-1]["status"] == "ok"
    import os
    left = [name for name in os.listdir(hierarchy.base) if name.startswith(f"loopscope-{os.getpid()}-")]
    assert left == []


def test_removing_a_runs_cgroup_ends_any_process_still_in_it():
    # (a sandbox's inner process that escaped the kill of its tree, e.g. a spare ended while
    # bubblewrap was still setting up, is still in the run's cgroup)
    import os
    import subprocess

    from servers import wait_until

    group = sandbox.detect().cgroups.create(64 * 2**20, 16 * 2**20)
    stray = subprocess.Popen(group.command_prefix() + ["sleep", "60"], start_new_session=True)
    assert wait_until(lambda: str(stray.pid) in open(f"{group.directory}/cgroup.procs").read().split(), 10)
    group.remove()
    assert stray.wait(timeout=10) == -9
    assert not os.path.exists(group.directory)


def test_the_servers_max_memory_option_sets_each_runs_limit():
    from servers import LiveServer

    live = LiveServer("--max-memory", "128")
    try:
        connection = live.client()
        events, _ = connection.run(code="hoard = []\nwhile True:\n    hoard.append(bytearray(16 * 2**20))\n")
        assert events[-1]["status"] == "limit" and "128 MiB" in events[-1]["reason"], events[-1]
        connection.close()
    finally:
        live.stop()
