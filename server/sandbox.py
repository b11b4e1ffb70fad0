"""Where a run executes: the command that starts one sandboxed interpreter, and what this host provides.

Layers, outermost first (see the README's "Sandbox" section):
- `prlimit`: CPU seconds, address space, threads, file size, open files, no core files;
- `bwrap`: new pid, network, ipc and uts namespaces (plus a user namespace when
  not root), an empty environment, only `/usr`, the interpreter, the engine and the
  event stream's modules bound read-only, a small private `/tmp`;
- inside (`engine/guard.py`): drop to an unprivileged uid of the run's own, a seccomp filter against
  starting processes, signalling, ptrace, mounting and similar escapes, and an
  audit hook that words refusals for people.
Where bubblewrap cannot make namespaces the other layers still apply, and
`Support.full` is false: callers refuse untrusted code unless an operator
trusts it explicitly.
"""

import compileall
import errno
import functools
import itertools
import math
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from . import cgroup

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSIDE_ROOT = "/opt/loopscope"  # where the engine appears inside the sandbox
NOGROUP = 65534
# As root, each run drops to a uid of its own from this range (no account uses them): the
# kernel counts RLIMIT_NPROC (threads) per uid, so one run's threads cannot starve another's.
RUN_UIDS = range(200_000, 265_000)
_run_numbers = itertools.count(os.getpid() * 1009)  # other server processes start elsewhere in the range
MiB = 1024 * 1024

_ENV = {"PYTHONHASHSEED": "0", "HOME": "/tmp", "LANG": "C.UTF-8", "PATH": "/usr/bin:/bin"}

# Denied with EPERM. Threads stay allowed: `clone` is refused only without CLONE_THREAD.
_DENIED = (
    "execve", "execveat", "fork", "vfork", "ptrace", "process_vm_readv", "process_vm_writev", "kill",
    "mount", "umount2", "unshare", "setns", "pivot_root", "chroot", "bpf", "perf_event_open", "keyctl",
    "add_key", "request_key", "reboot", "init_module", "finit_module", "delete_module", "kexec_load",
    "kexec_file_load", "swapon", "swapoff", "userfaultfd", "open_by_handle_at", "name_to_handle_at",
    "acct", "settimeofday", "clock_settime", "setuid", "setgid", "setreuid", "setregid", "setresuid",
    "setresgid", "setgroups", "personality", "mknod", "mknodat", "io_uring_setup",
    # Memory that no mapping shows, so the address-space limit never sees it (a learner's program
    # has no use for it): SysV shared memory, message queues and semaphores, and memfd files.
    "shmget", "shmat", "shmctl", "msgget", "msgsnd", "msgrcv", "msgctl", "semget", "semop", "semtimedop",
    "semctl", "memfd_create", "memfd_secret",
)
# socket() families allowed: Unix (asyncio's self-pipe), IPv4 and IPv6 (loopback inside the
# network namespace). Others (AF_VSOCK, AF_NETLINK, ...) reach past the namespace or the kernel.
_SOCKET_FAMILIES = (1, 2, 10)
_SOL_SOCKET = 1
_BUFFER_OPTIONS = (7, 8, 32, 33)  # SO_SNDBUF, SO_RCVBUF, SO_SNDBUFFORCE, SO_RCVBUFFORCE
_CLONE_THREAD = 0x00010000


@dataclass(frozen=True)
class Limits:
    timeout: float = 10.0  # wall-clock seconds
    memory: int = 512 * MiB  # all of a run's memory (its cgroup, where the host has one) and its address space
    tcp_buffers: int = 64 * MiB  # socket buffers, which a cgroup v1 counts apart from the rest
    threads: int = 256  # RLIMIT_NPROC for the unprivileged uid (threads count)
    file_size: int = 16 * MiB
    open_files: int = 256
    tmp_size: int = 16 * MiB
    tmp_files: int = 4096  # files and folders in /tmp (tmpfs inodes)
    events: int = 50_000
    output: int = 4 * MiB  # program output and the strings it makes, as the client receives them
    pipe: int = 32 * MiB  # bytes of event stream read from the child
    text: int = 200  # characters of any one string field an event carries out of the server
    sent: int = 16 * MiB  # bytes of all the strings a run's events carry (names as cut, output), sent to the client
    source: int = 64 * 1024  # bytes of a program's source (own code, a file given to the CLI)
    client_backlog: int = 8 * MiB  # bytes waiting to be sent to one client before it is cut off
    client_stall: float = 10.0  # seconds one send to a client may make no progress before it is cut off

    @property
    def cpu_seconds(self):
        return math.ceil(self.timeout) + 1

    def for_child(self):
        """The limits the child words its messages with (it enforces none of them itself)."""
        return {"memory": self.memory, "file_size": self.file_size, "open_files": self.open_files,
                "tmp_size": self.tmp_size, "tmp_files": self.tmp_files}


@dataclass
class Support:
    bwrap: str = None
    seccomp: bytes = None
    cgroups: cgroup.Hierarchy = None  # where each run gets a memory cgroup, if the host offers one
    problems: list = field(default_factory=list)
    notes: list = field(default_factory=list)  # missing extras that do not make the sandbox unsafe

    @property
    def full(self):
        """All layers are there: safe for untrusted code."""
        return bool(self.bwrap and self.seccomp)

    def describe(self):
        memory = (f"a memory cgroup per run (v{self.cgroups.version})" if self.cgroups
                  else "no memory cgroup: " + "; ".join(self.notes))
        if self.full:
            return f"full sandbox (bubblewrap namespaces, seccomp, resource limits, {memory})"
        return "reduced sandbox: " + "; ".join(self.problems)


def seccomp_program():
    """The BPF filter, compiled with libseccomp (pyseccomp), as bytes."""
    import pyseccomp as sc

    rules = sc.SyscallFilter(sc.ALLOW)
    for name in _DENIED:
        try:
            rules.add_rule(sc.ERRNO(errno.EPERM), name)
        except (OSError, ValueError, RuntimeError):
            pass  # not a syscall on this architecture
    rules.add_rule(sc.ERRNO(errno.EPERM), "clone", sc.Arg(0, sc.MASKED_EQ, _CLONE_THREAD, 0))
    # One comparison per argument and rule: the families allowed cut the number line into ranges.
    bounds = (-1,) + _SOCKET_FAMILIES
    for low, high in zip(bounds, bounds[1:]):
        for family in range(low + 1, high):
            rules.add_rule(sc.ERRNO(errno.EAFNOSUPPORT), "socket", sc.Arg(0, sc.EQ, family))
    rules.add_rule(sc.ERRNO(errno.EAFNOSUPPORT), "socket", sc.Arg(0, sc.GT, _SOCKET_FAMILIES[-1]))
    # Socket buffers grown by hand (up to 8 MiB each here) are kernel memory a v1 cgroup counts only
    # up to its TCP limit, if at all: a program keeps the kernel's own sizes.
    for option in _BUFFER_OPTIONS:
        rules.add_rule(sc.ERRNO(errno.EPERM), "setsockopt", sc.Arg(1, sc.EQ, _SOL_SOCKET), sc.Arg(2, sc.EQ, option))
    # A system call of another architecture (x32, i386's int 0x80) ends the whole process at once,
    # not just its thread (which left the run waiting for its time limit).
    rules.set_attr(sc.Attr.ACT_BADARCH, sc.KILL_PROCESS)
    # clone3 passes its flags in memory a filter cannot read: make libc fall back to clone.
    rules.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    with tempfile.TemporaryFile() as out:
        rules.export_bpf(out)
        out.seek(0)
        return out.read()


def _interpreter():
    return os.path.realpath(sys.executable)


def _binds():
    """Read-only binds besides /usr: the interpreter's installation and the engine."""
    binds = []
    for prefix in sorted({os.path.realpath(sys.base_prefix), os.path.realpath(sys.base_exec_prefix)}):
        if not (prefix + "/").startswith("/usr/"):
            binds.append((prefix, prefix))
    # Only what runs inside: the engine and the event stream's schema and wire (not the server's own code).
    for part in ("__init__.py", "engine", "events"):
        binds.append((str(PROJECT_ROOT / "server" / part), f"{INSIDE_ROOT}/server/{part}"))
    for name in ("hosts", "nsswitch.conf"):  # "localhost" resolves, as on any machine
        binds.append((str(PROJECT_ROOT / "server" / "engine" / "etc" / name), "/etc/" + name))
    return binds


def _parents(path):
    parts = Path(path).parts[1:-1]
    return ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]


def _prlimit(limits, as_root):
    args = [
        "prlimit", f"--cpu={limits.cpu_seconds}", f"--as={limits.memory}", f"--fsize={limits.file_size}",
        f"--nofile={limits.open_files}", "--core=0",
    ]
    if as_root:  # counted per uid: only meaningful for the uid we drop to
        args.append(f"--nproc={limits.threads}")
    return args + ["--"]


def bootstrap(root):
    """The `python -c` code that starts the engine's child from the checkout at `root`."""
    return f"import sys; sys.path.insert(0, {root!r}); from server.engine.child import main; main()"


@functools.lru_cache(maxsize=1)
def _compile_engine():
    """Write the engine's bytecode next to its source, once per process. The child (`-B`) only
    reads it: compiling the engine's modules anew cost every run's start about 25 ms."""
    try:
        compileall.compile_dir(str(PROJECT_ROOT / "server"), quiet=2)
    except OSError:
        pass  # e.g. a read-only checkout: each child compiles in memory, a little later


# Where the program's own file cannot be put: what the sandbox binds read-only, or makes itself.
_NOT_FOR_THE_PROGRAM = ("/usr", "/proc", "/dev", "/tmp", "/etc", INSIDE_ROOT, "/lib", "/lib64", "/bin", "/sbin")


def program_folder(filename):
    """The folder outside /tmp the sandbox makes for the program's file (the child writes it there, so
    that `open(__file__)` works), or None: a relative name, or one under /tmp, goes in the child's /tmp."""
    if not os.path.isabs(filename) or os.path.normpath(filename) != filename:
        return None
    folder = os.path.dirname(filename)
    if folder == "/" or any(folder == top or folder.startswith(top + "/") for top in _NOT_FOR_THE_PROGRAM):
        return None
    return folder


def command(support, limits, program_file=None):
    """(argv, drop_to, cwd) that start the child for one run (`program_file`: the program's file name,
    whose folder the sandbox makes if it is outside /tmp)."""
    _compile_engine()
    as_root = os.geteuid() == 0
    python = _interpreter()
    flags = [python, "-S", "-B", "-P"]
    if not support.bwrap:
        return _prlimit(limits, as_root) + flags + ["-c", bootstrap(str(PROJECT_ROOT))], None, tempfile.gettempdir()
    argv = _prlimit(limits, as_root) + [support.bwrap, "--die-with-parent", "--new-session", "--clearenv"]
    if as_root:
        # Root keeps only what the child needs to drop to its uid; no user namespace is needed.
        argv += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
                 "--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        argv += ["--unshare-all"]
    # CAP_SYS_ADMIN only for the child's first step: it mounts a /tmp bounded in files too
    # (`guard.mount_tmp`), then gives up every capability before anything else runs.
    argv += ["--cap-add", "CAP_SYS_ADMIN"]
    argv += ["--hostname", "loopscope", "--ro-bind", "/usr", "/usr"]
    for name in ("lib", "lib64", "bin", "sbin"):
        if os.path.islink("/" + name):
            argv += ["--symlink", os.readlink("/" + name), "/" + name]
    made = set()
    folder = program_folder(program_file) if program_file else None
    if folder is not None:
        for parent in _parents(folder + "/file"):
            made.add(parent)
            argv += ["--perms", "0755", "--dir", parent]
    for source, target in _binds():
        for parent in _parents(target):
            if parent not in made and not parent.startswith("/usr"):
                made.add(parent)
                argv += ["--perms", "0755", "--dir", parent]  # else bwrap copies e.g. /root's 0700
        argv += ["--ro-bind", source, target]
    argv += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--size", str(limits.tmp_size), "--tmpfs", "/tmp",
             "--chdir", "/tmp"]
    for key, value in _ENV.items():
        argv += ["--setenv", key, value]
    argv += ["--"] + flags + ["-c", bootstrap(INSIDE_ROOT)]
    return argv, (run_uid(), NOGROUP) if as_root else None, None


def run_uid():
    """An unprivileged uid for one run: a different one for each of the next 65,000 runs."""
    return RUN_UIDS[next(_run_numbers) % len(RUN_UIDS)]


def environment():
    return dict(_ENV)


@functools.lru_cache(maxsize=1)
def detect():
    """What this host provides, checked once by starting a real sandbox."""
    support = Support()
    try:
        support.cgroups = cgroup.find()
        support.cgroups.remove_stale()
    except cgroup.Unavailable as exc:
        support.notes.append(str(exc))
    try:
        support.seccomp = seccomp_program()
    except Exception as exc:  # noqa: BLE001 - any failure means: no seccomp layer
        support.problems.append(f"no seccomp filter ({type(exc).__name__}: {exc})")
    bwrap = shutil.which("bwrap")
    if os.environ.get("LOOPSCOPE_NO_BWRAP"):  # an operator's (or a test's) way to run without namespaces
        support.problems.append("bubblewrap is switched off (LOOPSCOPE_NO_BWRAP is set)")
        return support
    if bwrap is None:
        support.problems.append("bubblewrap (bwrap) is not installed")
        return support
    probe = Support(bwrap=bwrap)
    limits = Limits()
    argv, _, _ = command(probe, limits)
    argv[argv.index("-c") + 1] = (f"import sys; sys.path.insert(0, {INSIDE_ROOT!r}); from server.engine import guard; "
                                  f"guard.mount_tmp({limits.tmp_size}, {limits.tmp_files}); print('ok')")
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        support.problems.append(f"bubblewrap could not start ({exc})")
        return support
    if done.stdout.strip() != "ok":
        reason = done.stderr.strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
        support.problems.append(f"bubblewrap cannot create namespaces here ({reason[0]})")
        return support
    support.bwrap = bwrap
    return support
