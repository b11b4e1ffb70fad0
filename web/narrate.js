// One plain-English sentence per event, said from the loop's point of view. asyncio's own names
// are said in plain words unless "show asyncio internals" is on (plain.js).
import { awaitFrames } from "./events.js";
import { plainLabel } from "./plain.js";
import { settings } from "./settings.js";

const said = (label) => (settings.internals ? label : plainLabel(label, settings.source));
const fmt = (t) => (t === null || t === undefined ? "?" : `${Number(t.toFixed(4))}`);

function who(state, task) {
  const found = state.tasks[task];
  if (found && found.internal && !settings.internals) return "asyncio.run()'s shutdown task";
  return found ? `Task \`${found.name}\`` : "A task";
}

function callback(state, handle) {
  const found = state.handles[handle];
  if (!found) return "a callback";
  if (found.task !== null && found.task !== undefined) {
    const task = state.tasks[found.task];
    if (task && task.internal && !settings.internals) return "asyncio.run()'s own shutdown work";
    return `${who(state, found.task)}'s ${found.label.split(" ")[0]}`;
  }
  // (a label said in plain words is a description, not a name: quoted, it reads as the callback's name)
  return settings.internals || plainLabel(found.label, settings.source) === found.label ? `\`${found.label}\`` : `“${said(found.label)}”`;
}

// Where a nested await sits: " (inside `put_item()`, which `producer()` awaits on line 8, which …)".
function nesting(via) {
  const frames = awaitFrames(via).reverse();
  if (frames.length < 2) return "";
  return ` (inside \`${frames[0].name}()\`${frames.slice(1).map((f) => `, which \`${f.name}()\` awaits on line ${f.line}`).join("")})`;
}

const lower = (text) => text.charAt(0).toLowerCase() + text.slice(1); // (a name keeps its case)

const SENTENCES = {
  "run.start": (e) => `The program starts (${e.clock} clock${e.blocking ? ", blocking variant" : ""}).`,
  "program.hint": (e) => `Read before the run: line ${e.line} creates a task and keeps no reference to it (${e.text}).`,
  "loop.iteration": (e) => `Loop iteration ${e.n}: poll for I/O, move due timers to the ready queue, then run what is ready now.`,
  "task.new": (e, s) => (e.internal && !settings.internals
    ? `asyncio.run() starts its own shutdown work: ${said(e.coro)}.`
    : `${e.parent ? `${who(s, e.parent)} creates` : "The program creates"} task \`${e.name}\` for \`${e.coro}()\`${e.internal ? " (asyncio's own shutdown work)" : ""}.`),
  "task.rename": (e) => `The task is renamed \`${e.name}\`.`,
  "task.cancel": (e, s) => `${e.by ? who(s, e.by) : "The program"} asks ${lower(who(s, e.task))} to cancel${e.msg ? ` ("${e.msg}")` : ""}: it will get a CancelledError at its next await.`,
  "handle.schedule": (e, s) => {
    const what = callback(s, e.handle);
    if (e.queue === "timers") return `${what} waits in the timer heap until t=${fmt(e.when)}.`;
    if (e.source === "timer") return `The timer due at t=${fmt(e.when)} fires: ${what} joins the ready queue.`;
    if (e.source === "threadsafe") return `Another thread hands ${what} to the loop (call_soon_threadsafe).`;
    if (e.source === "io") return `A socket is ready: ${what} joins the ready queue.`;
    return `${what} joins the back of the ready queue.`;
  },
  "handle.cancel": () => "A scheduled callback is cancelled: it leaves its queue without ever running.",
  "handle.begin": (e, s) => (s.blocked
    ? `The loop runs ${callback(s, e.handle)}, which holds the loop for ${fmt(s.blocked.duration)} s${s.blocked.line ? ` at line ${s.blocked.line}` : ""}: nothing else can run until it returns.`
    : `The loop runs ${callback(s, e.handle)}; nothing else can run until it returns.`),
  "handle.end": (e, s) => `${e.task !== null ? who(s, e.task) : "The callback"} gives control back to the loop after ${fmt(e.duration)} s.`,
  "task.suspend": (e, s) => `${who(s, e.task)} awaits ${said(e.awaiting)}${e.line ? ` on line ${e.line}` : ""}${nesting(e.via)} and gives the loop back.`,
  "task.done": (e, s) => `${who(s, e.task)} is done: ${e.state === "result" ? `it returned ${e.detail}` : e.state === "exception" ? `it raised ${e.detail}` : "it was cancelled"}.`,
  "future.done": (e) => `A future gets its ${e.state === "result" ? `result (${e.detail})` : e.state === "exception" ? `exception (${e.detail})` : "cancellation"}; ${e.waiters.length ? `${e.waiters.length} waiting task(s) will wake up` : "nobody waits on it"}.`,
  "loop.idle": (e) => (e.until === null ? "Nothing is ready: the loop waits for I/O." : `Nothing is ready: the loop sleeps until the next timer at t=${fmt(e.until)}.`),
  "loop.blocked": (e, s) => `${e.task !== null ? `${who(s, e.task)}'s step` : "That callback"} held the loop for ${fmt(e.duration)} s${e.cause === "sleep" ? " in time.sleep()" : e.cause === "wait" ? ` waiting in ${e.call ? `${e.call}()` : "a blocking call"}` : " computing"}${e.line ? ` at line ${e.line}` : ""}: every other task, timer and socket had to wait.`,
  "loop.stalled": (e) => `The loop is still held${e.line ? ` at line ${e.line}` : ""}, for ${fmt(e.running)} s of real time so far: that callback has not returned, so nothing else can run.`,
  "loop.exception": (e) => `The loop's exception handler: ${e.message}.`,
  "coroutine.unawaited": (e) => `Python warns that coroutine \`${e.coro}\`${e.line ? ` (made on line ${e.line})` : ""} was never awaited: its code never ran.`,
  "job.start": (e, s) => `Worker thread ${e.thread} starts \`${e.label}()\`${e.task ? ` for ${lower(who(s, e.task))}` : ""}: the loop's own thread stays free to run other callbacks.`,
  "job.end": (e, s) => `Worker thread ${e.thread} is done with \`${s.jobs[e.job] ? s.jobs[e.job].label : "its job"}()\`${e.state === "exception" ? ", which raised" : e.state === "cancelled" ? " (cancelled before it started)" : ""}; its result goes back to the loop through call_soon_threadsafe.`,
  "shield.new": (e, s) => `asyncio.shield() wraps ${e.task ? lower(who(s, e.task)) : "a future"} in an outer future: cancelling the outer one leaves the inner one running.`,
  "semaphore.new": (e) => `The program makes a semaphore with ${e.value} slot${e.value === 1 ? "" : "s"}${e.line ? ` on line ${e.line}` : ""}.`,
  "semaphore.change": (e, s) => {
    const task = e.task ? who(s, e.task) : "The program";
    const semaphore = s.semaphores[e.semaphore];
    const held = semaphore ? ` (${semaphore.holders.length} of ${semaphore.value} slots held)` : "";
    if (e.action === "wait") return `${task} finds no free slot and waits in acquire()${held}.`;
    if (e.action === "acquire") return `${task} takes a slot of the semaphore${held}.`;
    if (e.action === "give_up") return `${task} stops waiting for a slot.`;
    return `${task} gives its slot back${semaphore && semaphore.waiters.length && e.free === 0 ? ": it goes straight to the first task in line" : ""}.`;
  },
  "queue.new": (e) => `The program makes a queue${e.maxsize ? ` that holds at most ${e.maxsize} item${e.maxsize === 1 ? "" : "s"}` : ""}${e.line ? ` on line ${e.line}` : ""}.`,
  "queue.change": (e, s) => {
    const task = e.task ? who(s, e.task) : "The program";
    const item = e.item === null ? "" : `\`${e.item.replaceAll("`", "'")}\``;
    if (e.action === "put") return `${task} puts ${item} into the queue (${e.size} in it now).`;
    if (e.action === "get") return `${task} takes ${item} out of the queue (${e.size} left).`;
    if (e.action === "wait_put") return `The queue is full: ${lower(task)} waits in put() until there is room.`;
    if (e.action === "wait_get") return `The queue is empty: ${lower(task)} waits in get() for an item.`;
    return `${task} stops waiting on the queue.`;
  },
  "clock.note": (e) => `Timing differs from a plain run${e.line ? ` (line ${e.line})` : ""}: ${e.text}`,
  "stdout": (e) => `The program prints ${JSON.stringify(e.text.replace(/\n$/, ""))}.`,
  "error": (e) => `Error${e.line ? ` on line ${e.line}` : ""}: ${e.message}`,
  "run.end": (e) => `The run ends (${e.status}): ${e.reason} Loop time: ${fmt(e.elapsed)} s.`,
};

export function narrate(event, state) {
  const sentence = SENTENCES[event.kind];
  if (!sentence) throw new Error(`no narration for event kind ${event.kind}`);
  return sentence(event, state);
}
