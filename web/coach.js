// The coach: beginner mistakes a run's events reveal, each at its line, with what to do instead.
// A fold like state.js's (which calls `note` for every event, in order): plain data, shared with the
// fold's checkpoints and copied where it changes (sharing.js), so stepping back takes messages back.
// Pure: no DOM.
//
// Messages: {kind, line, title, advice, at, count, live}. `kind` (the page's `data-coach`):
// unawaited, unretrieved, blocking-sleep, blocking-cpu, blocking-wait, dropped-task, endless.
// One message per kind and line (`count` says how often); `at` is the seq of the event that
// said it last (the narration adds the advice there); `live` the handle of a callback still
// holding the loop (its message changes once the callback ends).

export function initialCoach() {
  return { messages: [], tasks: {} }; // tasks: id -> {name, created, raised}
}

import { writable } from "./sharing.js";

const code = (text) => `\`${text}\``;
const seconds = (value) => `${Number(value.toFixed(2))} s`;

const WAITS = [ // what a blocking wait (loop.blocked's `call`) has in asyncio instead
  [/^threading\.Event\./, "use an `asyncio.Event` and `await event.wait()`"],
  [/^queue\./, "use an `asyncio.Queue` and `await queue.get()` / `await queue.put(...)`"],
  [/^threading\.(Lock|RLock|Semaphore|BoundedSemaphore|Condition|Barrier)/,
    "use asyncio's own (`asyncio.Lock`, `asyncio.Semaphore`, `asyncio.Condition`), awaited with `async with`"],
  [/^threading\.Thread\.join/, "`await asyncio.to_thread(thread.join)` lets the loop run while the thread ends"],
  [/^concurrent\.futures\./, "`await asyncio.wrap_future(future)` (or `await loop.run_in_executor(...)`) instead of `.result()`"],
  [/^(socket|ssl|selectors)\./, "use asyncio's streams (`await asyncio.open_connection(...)`, `await reader.read()`)"],
];

function waitAdvice(call) {
  const found = call && WAITS.find(([pattern]) => pattern.test(call));
  const instead = found ? found[1]
    : "use asyncio's own kind of wait (`asyncio.Event`, `asyncio.Queue`, `asyncio.Lock`, streams)";
  return `Waiting outside asyncio holds the loop: nothing else runs meanwhile. ${instead[0].toUpperCase()}${instead.slice(1)}; `
    + "or run the blocking call in a worker thread with `await asyncio.to_thread(...)`.";
}

// A callback that held the loop, by its cause: the message's kind, title and advice. `held` says
// how long ("for 0.3 s", "for 1.2 s so far", "until the run was stopped").
const BLOCKING = {
  sleep: {
    kind: "blocking-sleep",
    title: (call, held) => `${code("time.sleep()")} held the loop ${held}`,
    advice: () => "Inside a coroutine use `await asyncio.sleep(...)`: it gives the loop back while it waits, so other tasks run.",
  },
  cpu: {
    kind: "blocking-cpu",
    title: (call, held) => `Code that kept computing${call ? ` (in ${code(call)})` : ""} held the loop ${held}`,
    advice: () => "No other task, timer or socket gets a turn until it returns. Move heavy work off the loop with "
      + "`await asyncio.to_thread(work, ...)` (or `loop.run_in_executor`), or `await asyncio.sleep(0)` now and then "
      + "inside a long loop.",
  },
  wait: {
    kind: "blocking-wait",
    title: (call, held) => `${call ? code(`${call}()`) : "A call that waits outside asyncio"} held the loop ${held}`,
    advice: (call) => waitAdvice(call),
  },
  endless: { // a callback that keeps computing and has not returned (yet)
    kind: "endless",
    title: (call, held) => `Code that never gives the loop back held it ${held}`,
    advice: () => "A loop that never awaits never gives the loop back: no other task runs and no timer fires. Put an "
      + "`await` inside it (`await asyncio.sleep(0)` at least, or the real wait it stands for), or give it an end.",
  },
};

// Message `at` of the coach's, safe for `owner` (the fold's state) to change.
const messageAt = (owner, coach, at) => writable(owner, writable(owner, coach, "messages"), at);

function say(owner, coach, event, kind, line, title, advice, live = null) {
  let at = coach.messages.findIndex((m) => m.kind === kind && m.line === line);
  if (at < 0) {
    at = coach.messages.length;
    writable(owner, coach, "messages").push({ kind, line, title, advice, at: event.seq, count: 0, live });
  }
  const message = messageAt(owner, coach, at);
  Object.assign(message, { title, advice, at: event.seq, live });
  message.count += live === null ? 1 : 0;
  return message;
}

// A callback that held the loop ended (its loop.blocked, or its handle.end with none: it was reported
// while it ran long in real time, and turned out not to hold the loop past the threshold): its live
// message goes, unless counted already.
function ended(owner, coach, handle) {
  coach.messages = coach.messages.filter((m) => m.live !== handle || m.count > 0);
  coach.messages.forEach((m, at) => { if (m.live === handle) messageAt(owner, coach, at).live = null; });
}

// Task `id` as the coach knows it, safe for `owner` to change.
const taskOf = (owner, coach, id) => writable(owner, writable(owner, coach, "tasks"), id);

const NOTES = {
  "task.new": (c, e, o) => { writable(o, c, "tasks")[e.task] = { name: e.name, created: e.line, raised: null }; },
  "task.rename": (c, e, o) => { if (c.tasks[e.task]) taskOf(o, c, e.task).name = e.name; },
  "task.done": (c, e, o) => { if (c.tasks[e.task] && e.state === "exception") taskOf(o, c, e.task).raised = e.line; },
  "program.hint": (c, e, o) => {
    say(o, c, e, "dropped-task", e.line, `Nothing keeps the task that ${code(e.text)} makes`,
      "asyncio keeps only a weak reference to a task: nothing stops it from being garbage-collected before it "
      + "ends, and nobody can await it or hear of its exception. Keep what `create_task` returns (in a variable, "
      + "or a set you discard it from when done) and await it, or create it in an `async with asyncio.TaskGroup()`.");
  },
  "coroutine.unawaited": (c, e, o) => {
    say(o, c, e, "unawaited", e.line, `${code(`${e.coro}()`)} was never awaited`,
      `Calling a coroutine function only makes a coroutine object: none of its code runs. Write ${code(`await ${e.coro.split(".").pop()}(...)`)}, `
      + "or hand it to `asyncio.create_task(...)` / `asyncio.gather(...)` to run it concurrently.");
  },
  "loop.exception": (c, e, o) => {
    if (e.message !== "Task exception was never retrieved" || e.task === null) return;
    const task = c.tasks[e.task] || { name: `task ${e.task}`, created: null, raised: null };
    say(o, c, e, "unretrieved", task.raised ?? task.created, `Task ${code(task.name)} raised ${code(e.exception || "an exception")} and nobody retrieved it`,
      "Nobody awaited the task, so its exception went nowhere but this warning. Keep the task and `await` it (or "
      + "`await asyncio.gather(...)` it, or create it in an `async with asyncio.TaskGroup()`) so the exception "
      + "reaches your code.");
  },
  "handle.end": (c, e, o) => ended(o, c, e.handle),
  "loop.stalled": (c, e, o) => {
    ended(o, c, e.handle); // (its line may have moved since the last report)
    const blocking = BLOCKING[e.cause === "cpu" ? "endless" : e.cause];
    const message = say(o, c, e, blocking.kind, e.line, blocking.title(e.call, `for ${seconds(e.running)} so far`),
      blocking.advice(e.call), e.handle);
    message.call = e.call;
  },
  "loop.blocked": (c, e, o) => {
    ended(o, c, e.handle);
    const blocking = BLOCKING[e.cause];
    if (!blocking) return;
    const message = say(o, c, e, blocking.kind, e.line, "", blocking.advice(e.call));
    message.held = (message.held || 0) + e.duration;
    message.title = blocking.title(e.call, message.count > 1
      ? `for ${seconds(message.held)} in all, ${message.count} times` : `for ${seconds(e.duration)}`);
  },
  "run.end": (c, e, o) => { // a callback still holding the loop never returned
    c.messages.forEach((m, at) => {
      if (m.live === null) return;
      const message = messageAt(o, c, at);
      const blocking = Object.values(BLOCKING).find((b) => b.kind === message.kind);
      message.title = blocking.title(message.call, "until the run was stopped");
      message.at = e.seq;
    });
  },
};

// Take `event` (the next one of the run) into `state.coach` (`state`: the fold's, or any object with a coach).
// Kinds of which only some events concern the coach, asked first of the coach as it is: the most
// frequent kind, a callback's end, then copies nothing (sharing.js) unless a message is live.
const CONCERNS = { "handle.end": (coach, e) => coach.messages.some((m) => m.live === e.handle) };

export function note(state, event) {
  const noting = NOTES[event.kind];
  const concerns = CONCERNS[event.kind];
  if (noting && (!concerns || concerns(state.coach, event))) noting(writable(state, state, "coach"), event, state);
}

// The message the event `seq` said (or changed), if any: what the narration adds.
export function saidAt(coach, seq) {
  return coach.messages.find((m) => m.at === seq) || null;
}

// Every message of a whole trace (a list of events), in the order they came.
export function coachOf(events) {
  const state = { coach: initialCoach() };
  for (const event of events) note(state, event);
  return state.coach.messages;
}
