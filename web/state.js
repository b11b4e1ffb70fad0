// The picture's state is a pure fold over the trace: state after event i = apply(state after i-1, event i).
// The live view, stepping back and scrubbing are all foldTo(trace, index); checkpoints keep it fast.
import { initialCoach, note, saidAt } from "./coach.js";
import { KINDS } from "./events.js";
import { narrate } from "./narrate.js";
import { checkpoint, fresh, removeFrom, resume, writable } from "./sharing.js";

const CHECKPOINT_EVERY = 1000; // folding 1000 events takes a few milliseconds; a checkpoint, a shallow copy (sharing.js)

export function initialState() {
  return {
    index: -1, // the last event applied
    t: 0,
    iteration: 0,
    start: null,
    end: null,
    tasks: {}, // id -> {id, name, coro, parent, internal, state, line, awaiting, waiter, via, outcome, detail, finished}
    handles: {}, // id -> {id, label, task, owner, queue: "ready" | "timers" | "running", when}
    ready: [], // handle ids, FIFO
    // The phase of asyncio's _run_once the loop is in: "io" (poll / wait for I/O, until the next
    // timer), "timers" (due timers join the ready queue), "ready" (run what was ready), or null.
    phase: null,
    // In the "ready" phase: ready[nextFrom..] were queued during this iteration, so they run in
    // the next one (_run_once runs only the handles that were ready when it began running them).
    nextFrom: null,
    timers: [], // handle ids, by due time
    running: null, // handle id
    blocked: null, // {duration, task, line, cause} while a callback holds the loop too long
    idle: null, // {until} while the loop waits
    output: [], // {text, task, stream}
    errors: [],
    exceptions: [],
    coach: initialCoach(), // the mistakes seen so far (coach.js)
    // asyncio's objects (views/objects.js), each by its id in the trace:
    futures: {}, // id -> {id, awaiting, kind, waiters: [task ids], state, detail}: futures tasks await
    jobs: {}, // id -> {id, thread, label, task, start, end, state, ran}: worker threads' jobs
    shields: {}, // outer future id -> {future, task, line, state}: what asyncio.shield() made
    semaphores: {}, // id -> {id, value, line, holders: [task ids], waiters: [task ids], free}
    queues: {}, // id -> {id, maxsize, line, items: [reprs], getters: [task ids], putters: [task ids], size}
    callbacksRun: 0, // callbacks begun so far (a worker's job tells how many ran on the loop meanwhile)
    narration: "Press Run to start.",
  };
}

// The parts of a state a handler changes, made safe to change in place first (sharing.js).
const own = (s, name) => writable(s, s, name); // a map or list of the state: "tasks", "ready", ...
const entry = (s, map, id) => (s[map][id] ? writable(s, own(s, map), id) : null); // one task, handle, ...
const part = (s, map, id, name) => writable(s, entry(s, map, id), name); // a list inside one entry
const drop = (s, name, id) => removeFrom(s, s, name, id);

// Insert a timer keeping the heap's order (by due time, then by scheduling order): binary search.
function insertTimer(state, id) {
  const { timers, handles } = state;
  const when = handles[id].when;
  let low = 0;
  let high = timers.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    const other = handles[timers[middle]];
    if (other.when < when || (other.when === when && timers[middle] < id)) low = middle + 1;
    else high = middle;
  }
  own(state, "timers").splice(low, 0, id);
}

// A handle left the ready queue from `at`: one fewer of this iteration's, if it was one of them.
function leftReady(s, at) {
  if (at >= 0 && s.nextFrom !== null && at < s.nextFrom) s.nextFrom -= 1;
}

function finish(state, id) {
  const task = entry(state, "tasks", id);
  Object.assign(task, { state: "done", ...task.finished, doneAt: state.index + 1, waiter: null, finished: null });
}

function setTask(s, id, fields) {
  if (id !== null && id !== undefined && s.tasks[id]) Object.assign(entry(s, "tasks", id), fields);
}

const HANDLERS = {
  "run.start": (s, e) => { s.start = e; },
  "program.hint": () => {}, // (the coach's: see apply)
  "loop.iteration": (s, e) => { s.iteration = e.n; s.phase = "io"; s.nextFrom = null; },
  "task.new": (s, e) => {
    own(s, "tasks")[e.task] = fresh(s, { id: e.task, name: e.name, coro: e.coro, parent: e.parent, internal: e.internal,
      state: "ready", createdAt: e.line, line: null, awaiting: null, waiter: null, via: null, outcome: null, detail: null, cancelling: false, finished: null });
  },
  "task.rename": (s, e) => { setTask(s, e.task, { name: e.name }); },
  "task.cancel": (s, e) => { setTask(s, e.task, { cancelling: true }); },
  "handle.schedule": (s, e) => {
    const known = s.handles[e.handle];
    if (known && known.queue === "timers") drop(s, "timers", e.handle); // a timer fell due
    else if (known && known.queue === "ready") leftReady(s, drop(s, "ready", e.handle));
    if (e.source === "timer") s.phase = "timers";
    const handle = known ? entry(s, "handles", e.handle) : fresh(s, { id: e.handle, owner: null });
    Object.assign(handle, { label: e.label, task: e.task, owner: e.owner ?? handle.owner, when: e.when, queue: e.queue });
    own(s, "handles")[e.handle] = handle;
    if (e.queue === "ready") own(s, "ready").push(e.handle);
    else insertTimer(s, e.handle);
    setTask(s, e.task, { state: "ready" });
    s.idle = null;
  },
  "handle.cancel": (s, e) => {
    leftReady(s, drop(s, "ready", e.handle));
    drop(s, "timers", e.handle);
    if (s.handles[e.handle]) delete own(s, "handles")[e.handle];
  },
  "handle.begin": (s, e, context) => {
    if (s.phase !== "ready") { s.phase = "ready"; s.nextFrom = s.ready.length; }
    leftReady(s, drop(s, "ready", e.handle));
    if (!s.handles[e.handle]) own(s, "handles")[e.handle] = fresh(s, { id: e.handle, label: "callback", task: e.task });
    entry(s, "handles", e.handle).queue = "running";
    s.running = e.handle;
    s.callbacksRun += 1;
    s.idle = null;
    const blocked = context.blockedBy.get(e.handle);
    s.blocked = blocked ? { duration: blocked.duration, task: blocked.task, line: blocked.line, cause: blocked.cause, call: blocked.call } : null;
    setTask(s, e.task, { state: "running" });
  },
  "handle.end": (s, e) => {
    const task = s.handles[e.handle] && s.tasks[s.handles[e.handle].task];
    if (task && task.finished) finish(s, task.id);
    if (s.handles[e.handle]) delete own(s, "handles")[e.handle];
    if (s.running === e.handle) s.running = null;
    s.blocked = null;
  },
  "task.suspend": (s, e) => {
    const task = s.tasks[e.task];
    if (task) {
      const fields = { state: "waiting", line: e.line, awaiting: e.awaiting, waiter: e.waiter, via: e.via ?? null };
      if (task.line !== e.line || task.awaiting !== e.awaiting) fields.since = s.index + 1; // (a new await)
      setTask(s, e.task, fields);
    }
    const awaited = (e.waiter.kind === "future" || e.waiter.kind === "thread") && e.waiter.future;
    if (awaited) {
      if (!s.futures[awaited]) own(s, "futures")[awaited] = fresh(s, { id: awaited, awaiting: e.awaiting, kind: e.waiter.kind, waiters: fresh(s, []), state: null, detail: null });
      if (!s.futures[awaited].waiters.includes(e.task)) part(s, "futures", awaited, "waiters").push(e.task);
    }
    if (e.waiter.kind === "timer" && s.handles[e.waiter.handle]) entry(s, "handles", e.waiter.handle).owner = e.task;
  },
  "task.done": (s, e) => {
    const task = s.tasks[e.task];
    if (!task) return;
    setTask(s, e.task, { finished: { outcome: e.state, detail: e.detail, line: e.line ?? task.line } });
    // The step that finished it is still running (its end comes next): the task stays on the
    // running side until the loop gets control back, so a blocked moment shows it there.
    const running = s.running !== null ? s.handles[s.running] : null;
    if (!running || running.task !== e.task) finish(s, e.task);
  },
  "future.done": (s, e) => {
    if (s.futures[e.future]) Object.assign(entry(s, "futures", e.future), { state: e.state, detail: e.detail });
    if (s.shields[e.future]) entry(s, "shields", e.future).state = e.state;
  },
  "job.start": (s, e) => {
    own(s, "jobs")[e.job] = { id: e.job, thread: e.thread, label: e.label, task: e.task, start: e.t, end: null, state: null, ran: s.callbacksRun };
  },
  "job.end": (s, e) => {
    const job = s.jobs[e.job];
    if (job) Object.assign(entry(s, "jobs", e.job), { end: e.t, state: e.state, ran: s.callbacksRun - job.ran });
  },
  "shield.new": (s, e) => { own(s, "shields")[e.future] = { future: e.future, task: e.task, line: e.line, state: null }; },
  "semaphore.new": (s, e) => {
    own(s, "semaphores")[e.semaphore] = { id: e.semaphore, value: e.value, line: e.line, holders: [], waiters: [], free: e.value };
  },
  "semaphore.change": (s, e) => {
    const semaphore = entry(s, "semaphores", e.semaphore);
    if (!semaphore) return;
    semaphore.free = e.free;
    if (e.action === "wait") writable(s, semaphore, "waiters").push(e.task);
    else if (e.action === "acquire") { removeFrom(s, semaphore, "waiters", e.task); writable(s, semaphore, "holders").push(e.task); }
    else if (e.action === "give_up") removeFrom(s, semaphore, "waiters", e.task);
    else if (removeFrom(s, semaphore, "holders", e.task) < 0) writable(s, semaphore, "holders").shift(); // (any task may release)
  },
  "queue.new": (s, e) => {
    own(s, "queues")[e.queue] = { id: e.queue, maxsize: e.maxsize, line: e.line, items: [], getters: [], putters: [], size: 0 };
  },
  "queue.change": (s, e) => {
    const queue = entry(s, "queues", e.queue);
    if (!queue) return;
    queue.size = e.size;
    if (e.action === "put") { writable(s, queue, "items").push(e.item); removeFrom(s, queue, "putters", e.task); }
    else if (e.action === "get") {
      if (removeFrom(s, queue, "items", e.item) < 0) writable(s, queue, "items").shift();
      removeFrom(s, queue, "getters", e.task);
    } else if (e.action === "wait_put") writable(s, queue, "putters").push(e.task);
    else if (e.action === "wait_get") writable(s, queue, "getters").push(e.task);
    else { removeFrom(s, queue, "getters", e.task); removeFrom(s, queue, "putters", e.task); }
  },
  "loop.idle": (s, e) => { s.idle = { until: e.until }; s.phase = "io"; },
  // Usually known in advance (context.blockedBy), so the freeze shows while it lasts; live, it may arrive late.
  "loop.blocked": (s, e) => {
    if (s.running === e.handle) s.blocked = { duration: e.duration, task: e.task, line: e.line, cause: e.cause, call: e.call };
  },
  // Live: the callback still runs. The picture shows it blocked, its task at the line it holds the loop on.
  "loop.stalled": (s, e) => {
    if (s.running !== e.handle) return;
    s.blocked = { duration: e.running, task: e.task, line: e.line, cause: e.cause, live: true };
    if (e.line) setTask(s, e.task, { line: e.line });
  },
  "loop.exception": (s, e) => { own(s, "exceptions").push(e); },
  "coroutine.unawaited": () => {},
  "clock.note": () => {}, // (the narration says it)
  "stdout": (s, e) => { own(s, "output").push({ text: e.text, task: e.task, stream: e.stream, seq: e.seq }); },
  "error": (s, e) => { own(s, "errors").push(e); },
  "run.end": (s, e) => {
    for (const task of Object.values(s.tasks)) if (task.finished) finish(s, task.id);
    s.end = e; s.running = null; s.blocked = null; s.idle = null; s.phase = null; s.nextFrom = null;
  },
};

for (const kind of Object.keys(KINDS)) {
  if (!HANDLERS[kind]) throw new Error(`state.js does not handle event kind ${kind}`);
}

export function apply(state, event, context) {
  const handler = HANDLERS[event.kind];
  if (!handler) throw new Error(`unknown event kind ${event.kind}`);
  handler(state, event, context);
  note(state, event);
  state.index += 1;
  state.t = event.t;
  return state;
}

// A recorded run: its events, what can be known ahead (which callbacks block), and checkpoints.
// `request`: what it is a run of ({scenario, blocking}), or null. `ended` once its run.end is in.
export function createTrace(request = null) {
  return { events: [], context: { blockedBy: new Map() }, checkpoints: [initialState()], request, ended: false };
}

export function addEvents(trace, events) {
  for (const event of events) {
    trace.events.push(event);
    if (event.kind === "loop.blocked") trace.context.blockedBy.set(event.handle, event);
    else if (event.kind === "run.end") trace.ended = true;
  }
}

// The state after events[0..index] (index -1: before the first event). `from`, a state at or
// before `index`, is advanced in place instead of starting again from a checkpoint, unless a
// checkpoint lies between the two: then no position is more than CHECKPOINT_EVERY events of folding
// away once the trace has been played through (a scrub forward was up to 5,000).
export function foldTo(trace, index, from = null) {
  const last = Math.max(-1, Math.min(index, trace.events.length - 1));
  let at = Math.floor((last + 1) / CHECKPOINT_EVERY);
  while (at > 0 && !trace.checkpoints[at]) at -= 1;
  let state = from;
  if (!state || state.index > last || state.index < at * CHECKPOINT_EVERY - 1) state = resume(trace.checkpoints[at]);
  for (let i = state.index + 1; i <= last; i += 1) {
    apply(state, trace.events[i], trace.context);
    const slot = (i + 1) / CHECKPOINT_EVERY;
    if (Number.isInteger(slot) && !trace.checkpoints[slot] && !hasPendingBlock(trace, state)) {
      trace.checkpoints[slot] = checkpoint(state);
    }
  }
  // Only the sentence for the event at the cursor is ever shown: say it once.
  state.narration = last >= 0 ? narrate(trace.events[last], state)
    : trace.events.length > 0 ? "Before the first event: nothing has happened yet. Play (Space) or → steps through the run."
      : initialState().narration;
  const tip = last >= 0 ? saidAt(state.coach, trace.events[last].seq) : null;
  if (tip) state.narration += ` Coach: ${tip.title}. ${tip.advice}`.replaceAll("`", "");
  return state;
}

// While live, a running callback may still turn out to block: don't freeze that state in a checkpoint.
function hasPendingBlock(trace, state) {
  return state.running !== null && !trace.ended;
}

// Index of the `loop.iteration` event that starts the next (direction 1) or previous (-1) iteration.
export function iterationBoundary(trace, index, direction) {
  for (let i = index + direction; i >= 0 && i < trace.events.length; i += direction) {
    if (trace.events[i].kind === "loop.iteration") return i;
  }
  return direction > 0 ? trace.events.length - 1 : -1;
}
