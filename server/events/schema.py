"""The event stream's schema: the one definition of every event Loopscope emits.

The tracer (inside the sandbox) reports these events, the runner checks them
(`Checker`, against `TYPES`), the CLI prints them and the WebSocket forwards them
unchanged. `web/events.js` mirrors the kinds and the README's table is generated
from `KINDS` (`markdown_table`); tests fail when the three disagree.

Every event carries the common fields `v` (schema version), `seq` (0, 1, 2, ...
strictly increasing within a run), `t` (loop seconds since the run started)
and `kind`. The fields listed per kind below come after those, always present
(possibly null).

How events travel from the sandboxed child to the runner is `wire.py`'s business;
everything that leaves the runner (CLI, WebSocket) is the object form defined here.
This module imports nothing outside the standard library: the sandbox imports it too.
"""

import math
import re

VERSION = 1

COMMON_FIELDS = ("v", "seq", "t", "kind")

# kind -> (what it means, {field: what it holds}).
KINDS = {
    "run.start": (
        "The run began: the program is about to be compiled and executed.",
        {
            "target": "scenario id or file name that runs",
            "blocking": "true when the blocking variant runs",
            "clock": "`virtual` or `real`",
            "python": "the interpreter version, e.g. `3.11.7`",
            "file": "the file name the program's lines refer to (for the CLI's file TARGET, its path as "
                    "`python TARGET` names it)",
            "threshold": "seconds a callback may hold the loop before `loop.blocked`",
        },
    ),
    "program.hint": (
        "Read in the program's source before it runs (sent right after `run.start`): a line that is "
        "likely a mistake.",
        {
            "hint": "`dropped_task`: a task created by a statement of its own (`asyncio.create_task(...)`, "
                    "`ensure_future`), its result thrown away; asyncio keeps only a weak reference to a "
                    "running task, so nothing keeps it alive",
            "line": "line in the program",
            "text": "the code in question, e.g. `asyncio.create_task(work())`",
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
            "via": "the program's own coroutines the await passes through, outermost first, as "
                   "`main() line 30 → producer() line 12` (the last one's line is `line`); null when "
                   "the task's own coroutine awaits itself",
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
            "cause": "`sleep` (a `time.sleep` call), `cpu` (code kept running) or `wait` (a call that "
                     "waited outside asyncio, e.g. on a lock, a `queue.Queue`, a socket or a thread: the "
                     "loop's thread used little CPU meanwhile)",
            "call": "what the time went in, where known: the function the program's line called (e.g. "
                    "`time.sleep`, `threading.Event.wait`, `queue.Queue.get`), or null (its own code, or a "
                    "built-in such as a socket's `recv`)",
        },
    ),
    "loop.stalled": (
        "One callback has held the loop for a while and has not returned yet: sent after a tenth of a "
        "second of real time (under the virtual clock, a tenth of a second of CPU, or three tenths of "
        "real time: its waits for a CPU are not the program's), then every quarter second while it "
        "lasts, so a page sees a loop that is stuck while it is stuck. Its `loop.blocked` follows if it "
        "returns having held the loop past the threshold (almost always; a `handle.end` with no "
        "`loop.blocked` says it did not).",
        {
            "handle": "handle id of the callback",
            "task": "task id or null",
            "line": "line in the program where the time goes so far (the one seen most often), or null",
            "running": "real seconds it has held the loop so far (under the virtual clock loop time does "
                       "not move while a callback runs)",
            "cause": "`sleep`, `cpu` or `wait` so far, as in `loop.blocked`",
            "call": "what the time goes in so far, as in `loop.blocked`, or null",
        },
    ),
    "loop.exception": (
        "The loop's exception handler was called (e.g. an exception in a callback, "
        "or a task exception nobody retrieved).",
        {"message": "the handler's message", "task": "task id or null", "exception": "the exception or null"},
    ),
    "coroutine.unawaited": (
        "A coroutine object was destroyed without ever being awaited (`fetch()` where `await fetch()` was "
        "meant): Python warns `coroutine ... was never awaited` on stderr, at the line named here.",
        {
            "coro": "qualified name of the coroutine",
            "line": "line in the program that dropped it (the program's own code ran when it was destroyed), "
                    "else the one line that makes such a coroutine and keeps it (`pending = fetch()`), or null",
        },
    ),
    "job.start": (
        "A worker thread starts running a job (a function passed to `asyncio.to_thread`, "
        "`loop.run_in_executor` or a `ThreadPoolExecutor`); the loop's thread is free meanwhile.",
        {
            "job": "int id of the job, unique in the run",
            "thread": "the worker thread's name (e.g. `asyncio_0`)",
            "label": "the function the job runs",
            "task": "id of the task that handed the job over (its await waits on a future with waiter kind "
                    "`thread`), or null",
        },
    ),
    "job.end": (
        "A worker thread finished a job.",
        {
            "job": "job id",
            "thread": "the worker thread's name",
            "state": "`result`, `exception` or `cancelled` (cancelled before it started)",
        },
    ),
    "shield.new": (
        "`asyncio.shield()` put a shield around a task: its caller awaits a new outer future, which a "
        "cancel stops without cancelling the inner task.",
        {
            "future": "id of the outer future (a later `future.done` tells how it ended)",
            "task": "id of the inner, shielded task, or null (a plain future)",
            "line": "line in the program that called `shield()`, or null",
        },
    ),
    "semaphore.new": (
        "The program made an `asyncio.Semaphore` (or `BoundedSemaphore`).",
        {
            "semaphore": "int id of the semaphore",
            "value": "how many slots it has (its initial value)",
            "line": "line in the program where it was made, or null",
        },
    ),
    "semaphore.change": (
        "A task asked for a slot of a semaphore, got one, gave up waiting, or released one (who holds a slot and who waits for one follow from these, in order: a wait is first in line after the earlier ones).",
        {
            "semaphore": "semaphore id",
            "action": "`wait` (no free slot: it suspends in `acquire()`), `acquire` (it got a slot), "
                      "`give_up` (its wait ended without a slot, e.g. cancelled) or `release` (a slot comes back: a semaphore has no owner, so any task may release one)",
            "task": "id of the task that did it, or null",
            "free": "slots free now, as asyncio counts them: a release while tasks wait hands its slot to "
                    "the first of them at once, so it is not free",
        },
    ),
    "queue.new": (
        "The program made an `asyncio.Queue` (or a `PriorityQueue` or `LifoQueue`).",
        {
            "queue": "int id of the queue",
            "maxsize": "how many items it holds at most; 0 for no limit",
            "line": "line in the program where it was made, or null",
        },
    ),
    "queue.change": (
        "An item went into or out of a queue, or a task started or stopped waiting on it (a task that waited stops waiting when it puts or gets, or gives up).",
        {
            "queue": "queue id",
            "action": "`put`, `get`, `wait_put` (the queue is full: the task suspends in `put()`), "
                      "`wait_get` (it is empty: the task suspends in `get()`) or `give_up` (a wait ended "
                      "without an item, e.g. cancelled)",
            "task": "id of the task that did it, or null",
            "item": "for `put` and `get`: the item's repr, shortened; else null",
            "size": "items in the queue now",
        },
    ),
    "clock.note": (
        "Something the program did with time that a run under Loopscope cannot time as a plain run "
        "does (e.g. `setitimer(ITIMER_VIRTUAL)`, which counts CPU time, Loopscope's too): said where it "
        "happens, once per kind of thing.",
        {
            "text": "a plain sentence saying what differs from a plain run, and why",
            "line": "line in the program that did it, or null",
        },
    ),
    "stdout": (
        "The program printed (one event per line, or per flush).",
        {
            "text": "the text",
            "task": "id of the task that printed, or null",
            "stream": "`stdout`, `stderr`, or `raw` (bytes the program wrote straight to the event pipe)",
        },
    ),
    "error": (
        "The program failed: it did not compile, raised, or broke a sandbox rule. Or Loopscope's tracer "
        "did (a hook raised): then tracing stops and the program goes on.",
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
            "exit": "the program's exit status, as a plain `python` run would end: 0 for a normal end (or "
                    "`sys.exit()`), the status it gave `sys.exit(n)` or `os._exit(n)` (0 to 255), 1 for an "
                    "exception nobody caught, -2 for a `KeyboardInterrupt` nobody caught (Python then ends "
                    "itself with SIGINT); null when it never got to exit (time limit, stopped, killed by a limit "
                    "or a signal)",
        },
    ),
}

STATUSES = ("ok", "error", "timeout", "limit", "stopped")
QUEUES = ("ready", "timers")
SOURCES = ("call_soon", "threadsafe", "timer", "io", "call_at")
STATES = ("result", "exception", "cancelled")
WAITER_KINDS = ("none", "task", "timer", "future", "thread", "io")
CAUSES = ("sleep", "cpu", "wait")
HINTS = ("dropped_task",)
SEMAPHORE_ACTIONS = ("wait", "acquire", "give_up", "release")
QUEUE_ACTIONS = ("put", "get", "wait_put", "wait_get", "give_up")

# kind -> {field: type}, for checking what the untrusted child sends. Types: "int" (an id, line
# or counter), "number" (finite), "bool", "name" (a string the server shortens to `Limits.text`
# characters), "text" (the program's own output, kept whole and counted as output), a tuple of
# allowed values, "waiter" (the `task.suspend` object), "ints" (a list of ids). "?" after a type:
# or null.
TYPES = {
    "run.start": {"target": "name", "blocking": "bool", "clock": ("virtual", "real"), "python": "name?",
                  "file": "name", "threshold": "number"},
    "program.hint": {"hint": HINTS, "line": "int", "text": "name"},
    "loop.iteration": {"n": "int"},
    "task.new": {"task": "int", "name": "name", "coro": "name", "parent": "int?", "line": "int?",
                 "internal": "bool"},
    "task.rename": {"task": "int", "name": "name"},
    "task.cancel": {"task": "int", "by": "int?", "msg": "name?"},
    "handle.schedule": {"handle": "int", "queue": QUEUES, "when": "number?", "task": "int?", "label": "name",
                        "source": SOURCES, "owner": "int?"},
    "handle.cancel": {"handle": "int", "task": "int?"},
    "handle.begin": {"handle": "int", "task": "int?"},
    "handle.end": {"handle": "int", "task": "int?", "duration": "number"},
    "task.suspend": {"task": "int", "line": "int?", "awaiting": "name", "waiter": "waiter", "via": "name?"},
    "task.done": {"task": "int", "state": STATES, "detail": "name?", "line": "int?"},
    "future.done": {"future": "int", "state": STATES, "detail": "name?", "waiters": "ints"},
    "loop.idle": {"until": "number?"},
    "loop.blocked": {"duration": "number", "task": "int?", "line": "int?", "handle": "int",
                     "cause": CAUSES, "call": "name?"},
    "loop.stalled": {"handle": "int", "task": "int?", "line": "int?", "running": "number", "cause": CAUSES,
                     "call": "name?"},
    "loop.exception": {"message": "name", "task": "int?", "exception": "name?"},
    "coroutine.unawaited": {"coro": "name", "line": "int?"},
    "job.start": {"job": "int", "thread": "name", "label": "name", "task": "int?"},
    "job.end": {"job": "int", "thread": "name", "state": STATES},
    "shield.new": {"future": "int", "task": "int?", "line": "int?"},
    "semaphore.new": {"semaphore": "int", "value": "int", "line": "int?"},
    "semaphore.change": {"semaphore": "int", "action": SEMAPHORE_ACTIONS, "task": "int?", "free": "int"},
    "queue.new": {"queue": "int", "maxsize": "int", "line": "int?"},
    "queue.change": {"queue": "int", "action": QUEUE_ACTIONS, "task": "int?", "item": "name?", "size": "int"},
    "clock.note": {"text": "name", "line": "int?"},
    "stdout": {"text": "text", "task": "int?", "stream": ("stdout", "stderr", "raw")},
    "error": {"message": "name", "line": "int?", "traceback": "text?"},
    "run.end": {"status": STATUSES, "reason": "name", "elapsed": "number", "exit": "int?"},
}
assert {kind: set(fields) for kind, (_, fields) in KINDS.items()} == {k: set(f) for k, f in TYPES.items()}
_MAX_INT = 2**53  # what a page's JavaScript still reads exactly


def _is_int(value):
    return type(value) is int and -_MAX_INT < value < _MAX_INT


def _is_number(value):
    return (type(value) is float and value - value == 0) or _is_int(value)


class Checker:
    """Checks events from the child against `TYPES` and makes them safe to send: strings that are
    names (labels, reprs, ...) are cut to `limit` characters, with the full length noted, and
    lone surrogates (which no UTF-8 text can carry) become U+FFFD. `text_size` adds up the
    characters of the program's output that passed (for the run's output limit)."""

    def __init__(self, limit):
        self.limit = limit
        self.text_size = 0  # bytes of the program's output that passed
        self.sent_size = 0  # bytes of every string that passed (names as cut), the bulk of what is sent
        self._plans = {kind: tuple((name, type_.rstrip("?") if isinstance(type_, str) else type_,
                                    isinstance(type_, str) and type_.endswith("?"))
                                   for name, type_ in fields.items()) for kind, fields in TYPES.items()}

    def check(self, event):
        """The event made safe to send, or None when it does not fit the schema."""
        if type(event) is not dict:
            return None
        kind = event.get("kind")
        plan = self._plans.get(kind) if type(kind) is str else None
        if plan is None or len(event) != len(plan) + len(COMMON_FIELDS) or not _is_number(event.get("t")):
            return None
        for name, type_, nullable in plan:
            if name not in event:
                return None
            value = event[name]
            if value is None:
                if nullable:
                    continue
                return None
            if type_ == "name" or type_ == "text":
                if type(value) is not str:
                    return None
                if type_ == "name" and len(value) > self.limit + _CUT_ROOM:
                    value = event[name] = shorten(value, self.limit)  # cut first: what follows is then cheap
                if not value.isascii():
                    value = event[name] = clean(value)
                    size = len(value.encode("utf-8"))
                else:
                    size = len(value)
                self.sent_size += size
                if type_ == "text":
                    self.text_size += size
            elif type_ == "int":
                if not _is_int(value):
                    return None
            elif type_ == "number":
                if not _is_number(value):
                    return None
            elif type_ == "bool":
                if type(value) is not bool:
                    return None
            elif type_ == "waiter":
                if not _is_waiter(value):
                    return None
            elif type_ == "ints":
                if type(value) is not list or not all(_is_int(item) for item in value):
                    return None
                self.sent_size += 8 * len(value)  # (what a list of ids costs on the wire, about)
            elif value not in type_ or type(value) is not str:
                return None
        return event


_SURROGATE = re.compile("[\ud800-\udfff]")


_TYPE_CHECK = Checker(math.inf)


_CUT_ROOM = 32  # characters the note on a cut string takes at most: what is that long already stays whole


def shorten(text, limit):
    """`text` cut to `limit` characters, saying how long it was (names carried out of the server).
    Cutting what was cut leaves it as it is."""
    return text if len(text) <= limit + _CUT_ROOM else f"{text[:limit]}… ({len(text):,} characters)"


def clean(text):
    """`text` with each lone surrogate (which no UTF-8 text can carry) made U+FFFD."""
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


def _is_waiter(value):
    if type(value) is not dict or value.get("kind") not in WAITER_KINDS or type(value["kind"]) is not str:
        return False
    for key, item in value.items():
        if key == "when":
            if not _is_number(item):
                return False
        elif key != "kind" and (key not in ("task", "future", "handle") or not _is_int(item)):
            return False
    return True


def required_fields(kind):
    """The fields an event of `kind` carries (common ones included)."""
    return COMMON_FIELDS + tuple(KINDS[kind][1])


def problems(event):
    """Why `event` does not fit the schema (an empty list when it does)."""
    if not isinstance(event, dict):
        return ["an event must be a JSON object"]
    kind = event.get("kind")
    if kind not in KINDS:
        return [f"unknown kind {kind!r}"]
    allowed = set(COMMON_FIELDS) | set(KINDS[kind][1])
    found = [f"missing field {name!r}" for name in required_fields(kind) if name not in event]
    found += [f"unexpected field {name!r}" for name in event if name not in allowed]
    if not found and _TYPE_CHECK.check(dict(event)) is None:
        found.append("a field's value is not of its type (see TYPES)")
    return found



def markdown_table():
    """The README's event table, generated from KINDS (a test keeps the README in step)."""
    rows = ["| kind | meaning | fields |", "| --- | --- | --- |"]
    for kind, (meaning, fields) in KINDS.items():
        listed = "; ".join(f"`{name}`: {text}" for name, text in fields.items())
        rows.append(f"| `{kind}` | {meaning} | {listed.replace('|', '/')} |")
    return "\n".join(rows) + "\n"
