"""Ending a child and everything it started: the sandbox's processes live in a session and a pid
namespace of their own, where a signal to the child's process group does not reach."""

import os
import signal
import time


def kill_tree(process, timeout=5):
    """Kill `process` (a Popen) and every process below it, and wait until they are gone (at most
    `timeout` seconds for the ones below: they are not ours to reap)."""
    inner = descendants(process.pid) if process.poll() is None else []
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    for pid in inner:  # the sandbox's own session and pid namespace: killpg does not reach them
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    process.wait()
    deadline = time.monotonic() + timeout
    while any(alive(pid) for pid in inner) and time.monotonic() < deadline:
        time.sleep(0.005)


def descendants(pid):
    """Every process below `pid` (from /proc's children lists)."""
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                with open(f"/proc/{parent}/task/{tid}/children") as handle:
                    children = [int(p) for p in handle.read().split()]
            except OSError:
                continue
            found += children
            todo += children
    return found


def alive(pid):
    """Running (a zombie waiting for its reaper no longer runs anything)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rpartition(")")[2].split()[0] not in ("Z", "X")
    except OSError:
        return False
