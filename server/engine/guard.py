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
_SECCOMP_MODE_FILTER = 2

PREFIX = "Loopscope sandbox: "

_PROCESS_EVENTS = {
    "os.system", "os.exec", "os.fork", "os.forkpty", "os.posix_spawn", "os.spawn", "os.startfile",
    "subprocess.Popen", "pty.spawn",
}
_SIGNAL_EVENTS = {"os.kill", "os.killpg", "signal.pthread_kill"}
_LOOPBACK = ("127.", "::1", "localhost", "0.0.0.0", "::")
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def drop_privileges(uid, gid):
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)


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
    if event in ("socket.connect", "socket.sendto"):
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


def install_audit_hook():
    sys.addaudithook(_audit)
