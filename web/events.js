// The event kinds and their fields, mirrored from server/events/schema.py (the definition).
// tests/test_events.py fails when the two disagree.

export const VERSION = 1;

export const KINDS = {
  "run.start": ["target", "blocking", "clock", "python", "file", "threshold"],
  "program.hint": ["hint", "line", "text"],
  "loop.iteration": ["n"],
  "task.new": ["task", "name", "coro", "parent", "line", "internal"],
  "task.rename": ["task", "name"],
  "task.cancel": ["task", "by", "msg"],
  "handle.schedule": ["handle", "queue", "when", "task", "label", "source", "owner"],
  "handle.cancel": ["handle", "task"],
  "handle.begin": ["handle", "task"],
  "handle.end": ["handle", "task", "duration"],
  "task.suspend": ["task", "line", "awaiting", "waiter", "via"],
  "task.done": ["task", "state", "detail", "line"],
  "future.done": ["future", "state", "detail", "waiters"],
  "loop.idle": ["until"],
  "loop.blocked": ["duration", "task", "line", "handle", "cause", "call"],
  "loop.stalled": ["handle", "task", "line", "running", "cause", "call"],
  "loop.exception": ["message", "task", "exception"],
  "coroutine.unawaited": ["coro", "line"],
  "job.start": ["job", "thread", "label", "task"],
  "job.end": ["job", "thread", "state"],
  "shield.new": ["future", "task", "line"],
  "semaphore.new": ["semaphore", "value", "line"],
  "semaphore.change": ["semaphore", "action", "task", "free"],
  "queue.new": ["queue", "maxsize", "line"],
  "queue.change": ["queue", "action", "task", "item", "size"],
  "stdout": ["text", "task", "stream"],
  "error": ["message", "line", "traceback"],
  "run.end": ["status", "reason", "elapsed", "exit"],
};

// `task.suspend.via` read: the program's own coroutines an await passes through, outermost
// first, as [{name, line}] (empty when the task's own coroutine awaits itself).
export function awaitFrames(via) {
  if (!via) return [];
  return via.split(" → ").map((part) => {
    const found = /^(.*)\(\) line (\d+)$/.exec(part);
    return found ? { name: found[1], line: Number(found[2]) } : { name: part, line: null };
  });
}
