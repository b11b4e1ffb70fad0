"""The sandbox's inner layers, set up by the child before the program runs.

The outer layers (namespaces, read-only file system, resource limits) come
from `server.sandbox`. Here: dropping to an unprivileged uid, the seccomp
filter (it is the real barrier against starting processes), and an audit
hook. The audit hook is *not* a boundary: it only turns what seccomp and the
namespaces would refuse anyway into a message a learner understands.
"""

import ctypes
import os
import socket
import sys

_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
_SECCOMP_MODE_FILTER = 2
_MS_NOSUID, _MS_NODEV = 2, 4
_CAPABILITY_VERSION_3 = 0x20080522
_M_ARENA_MAX = -8

PREFIX = "Loopscope sandbox: "

_PROCESS_EVENTS = {
    "os.system", "os.exec", "os.fork", "os.forkpty", "os.posix_spawn", "os.spawn", "os.startfile",
    "subprocess.Popen", "pty.spawn",
}
_SIGNAL_EVENTS = {"os.kill", "os.killpg", "signal.pthread_kill"}
_LOOPBACK = ("127.", "::1", "localhost", "0.0.0.0", "::")
_SOCKET_FAMILIES = {socket.AF_UNIX: "AF_UNIX", socket.AF_INET: "AF_INET", socket.AF_INET6: "AF_INET6"}
# C functions a program could reach through ctypes for memory no limit sees; seccomp refuses the
# system calls, this only says so in words.
_SHARED_MEMORY = {b"shmget", b"shmat", b"msgget", b"semget", b"memfd_create", b"shm_open"}
_NO_SHARED_MEMORY = ("shared memory (SysV IPC, memfd_create, shm_open) is not available here: "
                     "keep data in the program's own memory or in a file under /tmp")
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def mount_tmp(size, files):
    """A fresh private /tmp bounded in bytes *and* in files (tmpfs inodes). bubblewrap's --tmpfs
    sets only a size, and millions of empty files there cost the host kernel memory but no bytes."""
    libc = ctypes.CDLL(None, use_errno=True)
    options = f"size={size},nr_inodes={files},mode=1777".encode()
    if libc.mount(b"tmpfs", b"/tmp", b"tmpfs", ctypes.c_ulong(_MS_NOSUID | _MS_NODEV), options):
        raise OSError(ctypes.get_errno(), "mounting the sandbox's /tmp failed")
    os.chdir("/tmp")  # the working directory was the /tmp now hidden below


def few_malloc_arenas():
    """glibc gives threads malloc arenas of their own, up to 8 per core, each reserving 64 MiB of
    address space: under the run's address-space limit a program's threads then fail at random
    (a new thread's first allocation fails and `Thread.start()` waits for it forever). Two arenas
    keep threads within the limit; a program cannot tell, but for speed with many busy threads."""
    ctypes.CDLL(None).mallopt(_M_ARENA_MAX, 2)


def drop_privileges(uid, gid):
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)


def drop_capabilities():
    """Give up every capability (mount_tmp needed one). As root, setuid has done it already;
    in a user namespace (a server that is not root) this is what does it."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_CAP_AMBIENT, ctypes.c_ulong(_PR_CAP_AMBIENT_CLEAR_ALL), ctypes.c_ulong(0), ctypes.c_ulong(0),
               ctypes.c_ulong(0))
    header = (ctypes.c_uint32 * 2)(_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable (two 32-bit words each): none
    if libc.capset(header, data):
        raise OSError(ctypes.get_errno(), "capset failed")


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


def install_seccomp(program):
    """Load a compiled BPF filter (from `server.sandbox.seccomp_program`) for this thread and its future threads."""
    libc = ctypes.CDLL(None, use_errno=True)
    count = len(program) // ctypes.sizeof(_SockFilter)
    filters = (_SockFilter * count).from_buffer_copy(program)
    fprog = _SockFprog(count, filters)
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, ctypes.c_ulong(1), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0)):
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
    if libc.prctl(_PR_SET_SECCOMP, ctypes.c_ulong(_SECCOMP_MODE_FILTER), ctypes.byref(fprog), ctypes.c_ulong(0),
                  ctypes.c_ulong(0)):
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP) failed")


def _is_write(mode, flags):
    if isinstance(mode, str) and any(c in mode for c in "wax+"):
        return True
    return isinstance(flags, int) and flags > 0 and bool(flags & _WRITE_FLAGS)


def _audit(event, args):
    if event in _PROCESS_EVENTS:
        raise PermissionError(PREFIX + "starting or replacing a process is not allowed here")
    if event in _SIGNAL_EVENTS:
        if event == "os.kill" and args[0] == os.getpid():
            raise PermissionError(PREFIX + "os.kill is not allowed here; to signal this program itself, "
                                  "use signal.raise_signal()")
        raise PermissionError(PREFIX + "sending signals to processes is not allowed here")
    if event == "socket.__new__":
        family = args[1]
        if family not in _SOCKET_FAMILIES and family != -1:  # -1: socket.socket(fileno=...) finds it out
            name = getattr(socket.AddressFamily._value2member_map_.get(family), "name", str(family))
            raise PermissionError(PREFIX + f"only Unix and internet (loopback) sockets are allowed here, not {name}")
    elif event == "ctypes.dlsym" and isinstance(args[1], (str, bytes)):
        if os.fsencode(args[1]) in _SHARED_MEMORY:
            raise PermissionError(PREFIX + _NO_SHARED_MEMORY)
    elif event in ("socket.connect", "socket.sendto"):
        address = args[1]
        if isinstance(address, tuple) and args[0].family in (socket.AF_INET, socket.AF_INET6):
            host = str(address[0])
            if not host.startswith(_LOOPBACK):
                raise PermissionError(
                    PREFIX + f"no network outside the sandbox; connect to 127.0.0.1 instead of {host}"
                )
    elif event == "open":
        path, mode, flags = args
        if isinstance(path, (str, bytes)) and _is_write(mode, flags):
            text = os.fsdecode(path)
            if not os.path.abspath(text).startswith("/tmp/"):
                raise PermissionError(PREFIX + f"only files under /tmp can be written, not {text}")


def _no_memfd(*args, **kwargs):
    raise PermissionError(PREFIX + _NO_SHARED_MEMORY)


_NO_MULTIPROCESSING = ("starting processes is not allowed here, so multiprocessing (and a ProcessPoolExecutor) "
                       "cannot work: run the work in threads instead, with asyncio.to_thread() or a "
                       "ThreadPoolExecutor")


def _word_multiprocessing():
    """multiprocessing's locks, queues, pools and ProcessPoolExecutor all start from a `SemLock`, which the
    sandbox refuses with a bare `PermissionError` (there is no shared memory to make it in): the same
    exception, with a sentence. Checked on Python 3.11: `multiprocessing.synchronize` makes each one
    as `_multiprocessing.SemLock(...)`, read from the module when it is made."""
    try:
        import _multiprocessing
    except ImportError:
        return
    plain = _multiprocessing.SemLock

    class SemLock(plain):
        def __new__(cls, *args, **kwargs):
            try:
                return super().__new__(cls, *args, **kwargs)
            except PermissionError:
                raise PermissionError(PREFIX + _NO_MULTIPROCESSING) from None

    SemLock.__module__, SemLock.__qualname__ = plain.__module__, plain.__qualname__
    _multiprocessing.SemLock = SemLock


def install_audit_hook():
    sys.addaudithook(_audit)
    os.memfd_create = _no_memfd  # it raises no audit event of its own
    _word_multiprocessing()
