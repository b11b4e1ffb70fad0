"""The event stream: the one definition of every event Loopscope emits.

The tracer (inside the sandbox) writes these events as JSON lines, the runner
checks them, the CLI prints them and the WebSocket forwards them unchanged.
`web/events.js` mirrors the kinds and the README documents them; tests fail
when the three disagree.

Every event carries the common fields `v` (schema version), `seq` (0, 1, 2, ...
strictly increasing within a run), `t` (loop seconds since the run started)
and `kind`. The fields listed per kind below come after those. Fields marked
optional may be missing; all other fields are always present (possibly null).

This module must import nothing outside the standard library: the sandbox
imports it too.

Between the sandboxed child and the runner, events travel in batches: one JSON
list per line, whose items are objects (`t`, `kind` and the fields) or, for the
hot kinds, compact "wire" arrays `[code, t, field values in the order listed
here]` (`code` indexes `KINDS`). The runner expands them with `decode`.
Everything that leaves the runner (CLI, WebSocket) is the object form
documented here.
"""

import json

VERSION = 1

COMMON_FIELDS = ("v", "seq", "t", "kind")

# kind -> (what it means, {field: what it holds}); a field name ending in "?"
# is optional.
KINDS = {
    "run.start": (
        "The run began: the program is about to be compiled and executed.",
        {
            "target": "scenario id or file name that runs",
            "blocking": "true when the blocking variant runs",
            "clock": "`virtual` or `real`",
            "python": "the interpreter version, e.g. `3.11.7`",
            "file": "the file name the program's lines refer to",
            "threshold": "seconds a callback may hold the loop before `loop.blocked`",
        },
    ),
    "loop.iteration": (
        "One pass of the event loop (`_run_once`) begins: it polls for I/O, moves "
        "due timers to the ready queue, then runs exactly the handles that are ready "
        "at that point.",
        {"n": "iteration number, counted across the run"},
    ),
    "task.new": (
        "A task was created (its first step enters the ready queue next).",
        {
            "task": "int id, unique in the run",
            "name": "the task's name (a later `task.rename` changes it)",
            "coro": "qualified name of the task's coroutine",
            "parent": "id of the task that created it, or null",
            "line": "line in the program where it was created, or null",
            "internal": "true for tasks asyncio creates for itself (e.g. shutdown)",
        },
    ),
    "task.rename": ("A task got a new name.", {"task": "task id", "name": "the new name"}),
    "task.cancel": (
        "Someone asked a task to cancel (it ends later, when it next runs).",
        {"task": "task id", "by": "id of the requesting task, or null", "msg": "cancel message or null"},
    ),
    "handle.schedule": (
        "A callback entered the ready queue (FIFO) or the timer heap.",
        {
            "handle": "int id of this scheduling; a timer keeps its id when it becomes due",
            "queue": "`ready` or `timers`",
            "when": "loop time the timer is due; null for callbacks that never were timers",
            "task": "id of the task whose step this is, or null",
            "label": "readable name of the callback",
            "source": "`call_soon`, `threadsafe` (from another thread), `timer` (a timer "
            "became due), `io` (a file descriptor became ready) or `call_at`",
            "owner": "for a callback that resolves a future a task awaits (e.g. a "
            "sleep timer): that task's id, else null",
        },
    ),
    "handle.cancel": (
        "A scheduled callback was cancelled before it ran; it will never run.",
        {"handle": "handle id", "task": "task id or null"},
    ),
    "handle.begin": (
        "The loop started running one callback: nothing else runs until it ends.",
        {"handle": "handle id", "task": "task id or null"},
    ),
    "handle.end": (
        "The callback returned control to the loop.",
        {"handle": "handle id", "task": "task id or null", "duration": "loop seconds it held the loop"},
    ),
    "task.suspend": (
        "A task's step ended at an `await` that has to wait.",
        {
            "task": "task id",
            "line": "line in the program where it waits, or null",
            "awaiting": "readable description of what it waits for",
            "waiter": "object: `kind` (`task`, `timer`, `future`, `thread`, `io` or "
            "`none`) and, where known, `task`, `future`, `handle`, `when`",
        },
    ),
    "task.done": (
        "A task finished.",
        {
            "task": "task id",
            "state": "`result`, `exception` or `cancelled`",
            "detail": "the result's repr, the exception, or the cancel message",
            "line": "line where it raised (exceptions), or null",
        },
    ),
    "future.done": (
        "A future that somebody waits on got its result, exception or was cancelled.",
        {
            "future": "int id of the future",
            "state": "`result`, `exception` or `cancelled`",
            "detail": "readable result or exception",
            "waiters": "ids of the tasks waiting on it",
        },
    ),
    "loop.idle": (
        "Nothing is ready: the loop waits for I/O, at most until the next timer.",
        {"until": "loop time of the next timer, or null for \"until I/O\""},
    ),
    "loop.blocked": (
        "One callback held the loop longer than the threshold: no other task, timer "
        "or I/O could run meanwhile.",
        {
            "duration": "loop seconds the loop was held",
            "task": "task id or null",
            "line": "line in the program where the time was spent, or null",
            "handle": "handle id",
            "cause": "`sleep` (a `time.sleep` call) or `cpu` (code kept running)",
        },
    ),
    "loop.exception": (
        "The loop's exception handler was called (e.g. an exception in a callback, "
        "or a task exception nobody retrieved).",
        {"message": "the handler's message", "task": "task id or null", "exception": "the exception or null"},
    ),
    "stdout": (
        "The program printed (one event per line, or per flush).",
        {"text": "the text", "task": "id of the task that printed, or null", "stream": "`stdout` or `stderr`"},
    ),
    "error": (
        "The program failed: it did not compile, raised, or broke a sandbox rule.",
        {
            "message": "a plain message, e.g. `ZeroDivisionError: division by zero`",
            "line": "line in the program, or null",
            "traceback": "the program's own traceback frames (never Loopscope's), as text",
        },
    ),
    "run.end": (
        "The run is over; always the last event.",
        {
            "status": "`ok`, `error`, `timeout`, `limit` or `stopped`",
            "reason": "a plain sentence saying why it ended",
            "elapsed": "loop seconds from start to end",
        },
    ),
}

STATUSES = ("ok", "error", "timeout", "limit", "stopped")


def required_fields(kind):
    """The fields an event of `kind` must carry (common ones included)."""
    fields = KINDS[kind][1]
    return COMMON_FIELDS + tuple(name for name in fields if not name.endswith("?"))


def problems(event):
    """Why `event` does not fit the schema (an empty list when it does)."""
    if not isinstance(event, dict):
        return ["an event must be a JSON object"]
    kind = event.get("kind")
    if kind not in KINDS:
        return [f"unknown kind {kind!r}"]
    allowed = set(COMMON_FIELDS) | {name.rstrip("?") for name in KINDS[kind][1]}
    found = [f"missing field {name!r}" for name in required_fields(kind) if name not in event]
    found += [f"unexpected field {name!r}" for name in event if name not in allowed]
    return found


CODES = {kind: code for code, kind in enumerate(KINDS)}
_WIRE = [(kind, tuple(name.rstrip("?") for name in fields)) for kind, (_, fields) in KINDS.items()]


def from_wire(items):
    """The event for a wire array `[code, t, values...]`, or None when it is not one."""
    if not isinstance(items, list) or len(items) < 2 or type(items[0]) is not int or not 0 <= items[0] < len(_WIRE):
        return None
    kind, names = _WIRE[items[0]]
    if len(items) != 2 + len(names):
        return None
    event = {"v": VERSION, "seq": 0, "t": items[1], "kind": kind}
    event.update(zip(names, items[2:]))
    return event


def decode(text):
    """The events on one line from the child — a JSON list of wire tuples and objects — or None.

    An item that is not a valid event comes back as None in its place.
    """
    try:
        batch = json.loads(text)
    except ValueError:
        return None
    if not isinstance(batch, list):
        return None
    return [_item(item) for item in batch]


def _item(item):
    if isinstance(item, list):
        return from_wire(item)
    if isinstance(item, dict):
        return {"v": VERSION, "seq": 0, **item}
    return None


def markdown_table():
    """The README's event table, generated from KINDS (a test keeps the README in step)."""
    rows = ["| kind | meaning | fields |", "| --- | --- | --- |"]
    for kind, (meaning, fields) in KINDS.items():
        listed = "; ".join(f"`{name.rstrip('?')}`{' (optional)' if name.endswith('?') else ''}: {text}"
                           for name, text in fields.items())
        rows.append(f"| `{kind}` | {meaning} | {listed.replace('|', '/')} |")
    return "\n".join(rows) + "\n"
