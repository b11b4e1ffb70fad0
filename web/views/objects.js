// asyncio's objects, each drawn from the trace: the futures tasks await (who waits, what they got),
// the worker threads' jobs beside the loop's own thread, shield()'s outer future and inner task,
// semaphore slots, queue contents and who waits on them, and the tasks' await chain (who made
// whom, what each awaits). Only what exists in the run is drawn; the panel hides when nothing does.
import { awaitFrames } from "../events.js";
import { el, join } from "../join.js";
import { isInternalTask, plainLabel } from "../plain.js";
import { settings } from "../settings.js";

const FUTURES = 6; // futures drawn at most (the latest; pending ones first)
const ITEMS = 8; // queue items drawn at most
const CHILDREN = 8; // tasks drawn under one task at most
const NAMED = 8; // tasks named in a list of who waits (2,000 names made the page 8,000 px long)
const SLOTS = 12; // a semaphore's slots drawn at most
const said = (label) => (settings.internals ? label : plainLabel(label, settings.source));
const secs = (value) => `${Number(value.toFixed(1))} s`; // (thread times are real: a tenth is what they tell)
const shownTask = (state, id) => settings.internals || !isInternalTask(state, id);

function name(state, id) {
  if (id === null || id === undefined) return "the program";
  return state.tasks[id] ? state.tasks[id].name : `task ${id}`;
}

function names(state, ids) {
  const named = ids.slice(0, NAMED).map((id) => name(state, id)).join(", ");
  return ids.length > NAMED ? `${named} and ${ids.length - NAMED} more` : named;
}

function outcome(state, detail) {
  if (state === "result") return `got ${detail}`;
  if (state === "exception") return `raised ${detail}`;
  return state === "cancelled" ? "cancelled" : "pending";
}

// What a task is doing, in a few words (its place on the loop picture, said shortly).
function doing(state, task) {
  if (task.state === "done") return outcome(task.outcome, task.detail).replace(/^got/, "returned");
  if (task.finished) { // (done, as the loop picture says too, though its last step has not returned yet)
    return `${outcome(task.finished.outcome, task.finished.detail).replace(/^got/, "returned")}, its last step ending`;
  }
  if (task.state === "waiting") return `awaits ${said(task.awaiting)}`;
  return task.state;
}

// One row of a group: [key, data-object, className, parts: [[text, className]]].
function rows(container, items) {
  join(container, items, (item) => item[0], () => el("li"), (li, [, object, className, parts]) => {
    li.dataset.object = object;
    if (li.className !== className) li.className = className;
    const said = parts.map(([text]) => text).join("\u0001");
    if (li.dataset.said === said) return;
    li.dataset.said = said;
    li.replaceChildren(...parts.map(([text, part]) => el("span", part, text)));
  });
}

function futureRows(state, hidden) {
  const futures = Object.values(state.futures).filter((f) => f.kind === "future"
    && f.waiters.some((id) => shownTask(state, id)) && !hidden(f));
  const pending = futures.filter((f) => f.state === null);
  const latest = [...pending, ...futures.filter((f) => f.state !== null).reverse()].slice(0, FUTURES).sort((a, b) => a.id - b.id);
  return latest.map((f) => [`future:${f.id}`, "future", `object-row ${f.state || "pending"}`, [
    [`Future #${f.id}`, "what"], [said(f.awaiting) === `future #${f.id}` ? "" : said(f.awaiting), "note"],
    [`awaited by ${names(state, f.waiters)}`, "who"], [outcome(f.state, f.detail), "state"]]]);
}

function threadRows(state) {
  const jobs = Object.values(state.jobs);
  if (!jobs.length) return [];
  const running = jobs.filter((j) => j.state === null);
  const handle = state.running !== null ? state.handles[state.running] : null;
  let loop = state.idle ? "waits for the next timer or I/O" : handle ? "runs a callback" : "between callbacks";
  if (handle && handle.task !== null && handle.task !== undefined && shownTask(state, handle.task)) {
    loop = `runs ${handle.label.split(" ")[0]} · ${name(state, handle.task)}`;
  }
  if (state.blocked) loop = "blocked by a callback that holds it";
  const ran = running.length ? state.callbacksRun - Math.min(...running.map((j) => j.ran)) : 0;
  const meanwhile = running.length ? `not held by the job: ${ran} callback${ran === 1 ? "" : "s"} ran meanwhile` : "";
  const lanes = [["thread:loop", "thread", "object-row lane loop-lane", [["loop's thread", "what"], [loop, "who"], [meanwhile, "note"]]]];
  for (const thread of [...new Set(jobs.map((j) => j.thread))]) {
    const mine = jobs.filter((j) => j.thread === thread);
    const job = mine.find((j) => j.state === null) || mine[mine.length - 1];
    const whose = job.task ? ` for ${name(state, job.task)}` : "";
    const parts = job.state === null
      ? [[`${job.label}()${whose}`, "job"], [`running for ${secs(state.t - job.start)}`, "state"]]
      : [[`idle · last: ${job.label}()${whose}`, "who"], [`${job.state === "result" ? "done" : job.state} after ${secs(job.end - job.start)}`, "state"]];
    lanes.push([`thread:${thread}`, "thread", `object-row lane ${job.state === null ? "busy" : "idle"}`, [[`worker ${thread}`, "what"], ...parts]]);
  }
  return lanes;
}

function shieldRows(state) {
  return Object.values(state.shields).map((shield) => {
    const task = shield.task !== null ? state.tasks[shield.task] : null;
    const inner = task ? `inner: task ${task.name} ${doing(state, task)}` : "inner: a future";
    const outer = shield.state === null ? "outer future: pending" : `outer future: ${outcome(shield.state, "")}`.trim();
    const survived = shield.state === "cancelled" && task && task.outcome !== "cancelled";
    return [`shield:${shield.future}`, "shield", `object-row ${survived ? "survived" : ""}`, [
      [`shield()${shield.line ? ` · line ${shield.line}` : ""}`, "what"], [outer, "outer"], [inner, "inner"],
      [survived ? (task.state === "done" ? "the cancel stopped at the shield" : "the cancel stopped at the shield: it goes on") : "", "note"]]];
  });
}

function semaphoreRows(state) {
  return Object.values(state.semaphores).map((semaphore) => {
    const { holders, waiters, free, value } = semaphore;
    const handed = Math.max(0, value - holders.length - free);
    const slots = [...holders.map((id) => [name(state, id), "slot held"]),
      ...Array.from({ length: handed }, () => [`→ ${waiters.length ? name(state, waiters[0]) : "next"}`, "slot handed"]),
      ...Array.from({ length: Math.min(SLOTS, Math.max(0, free)) }, () => ["free", "slot free"])];
    const more = holders.length + handed + Math.max(0, free) - SLOTS;
    if (more > 0) slots.splice(SLOTS, Infinity, [`+${more} more`, "slot more"]);
    return [`semaphore:${semaphore.id}`, "semaphore", "object-row", [
      [`Semaphore${semaphore.line ? ` · line ${semaphore.line}` : ""}`, "what"],
      [`${holders.length} of ${value} slot${value === 1 ? "" : "s"} held`, "state"], ...slots,
      [waiters.length ? `waiting: ${names(state, waiters)}` : "nobody waits", "who"]]];
  });
}

function queueRows(state) {
  return Object.values(state.queues).map((queue) => {
    const items = queue.items.slice(0, ITEMS).map((item) => [item, "item"]);
    const more = queue.size - items.length;
    const waits = [queue.getters.length ? `waiting to get: ${names(state, queue.getters)}` : "",
      queue.putters.length ? `waiting to put: ${names(state, queue.putters)}` : ""].filter(Boolean).join(" · ");
    return [`queue:${queue.id}`, "queue", "object-row", [
      [`Queue${queue.line ? ` · line ${queue.line}` : ""}`, "what"],
      [`${queue.size}${queue.maxsize ? ` of ${queue.maxsize}` : ""} item${queue.size === 1 ? "" : "s"}`, "state"],
      ...(items.length ? items : [["empty", "item empty"]]), [more > 0 ? `+${more} more` : "", "note"],
      [waits || "nobody waits", "who"]]];
  });
}

// The tasks as a tree: each under the task that made it, with what it awaits; a task that waits
// inside its own nested coroutines (`await producer()` → `await put_item()` → `Queue.put()`)
// has a row per coroutine under it. A finished task stays while the task that made it still
// awaits what it awaited when that one finished.
function chainRows(state) {
  const tasks = Object.values(state.tasks).filter((t) => shownTask(state, t.id));
  const children = new Map();
  for (const task of tasks) {
    const parent = task.parent !== null && state.tasks[task.parent] && shownTask(state, task.parent) ? task.parent : null;
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(task);
  }
  const nested = (task) => (task.state === "waiting" ? awaitFrames(task.via) : []);
  if (!tasks.some((t) => (t.parent !== null && state.tasks[t.parent] && shownTask(state, t.parent))
    || nested(t).length > 1)) return [];
  const out = [];
  const row = (key, className, parts, depth) => { out.push([key, "chain", className, parts]); out[out.length - 1].depth = depth; };
  const visit = (parent, depth) => {
    const mine = (children.get(parent ? parent.id : null) || []).filter((t) => t.state !== "done" || !parent
      || (t.doneAt ?? 0) >= (parent.since ?? 0) || (children.get(t.id) || []).some((c) => c.state !== "done"));
    for (const task of mine.slice(0, CHILDREN)) {
      const awaitsTask = task.state === "waiting" && task.waiter && task.waiter.kind === "task";
      const frames = nested(task);
      const awaitsText = frames.length > 1 ? `awaits ${frames[1].name}() on line ${frames[0].line}` : doing(state, task);
      row(`chain:${task.id}`, `object-row chain-row ${task.state}${awaitsTask ? " awaits-task" : ""}`,
        [[depth ? "└ " : "", "branch"], [`${task.name} · ${task.coro.split(".").pop()}()`, "what"], [awaitsText, "state"]], depth);
      frames.slice(1).forEach((frame, i) => {
        const next = frames[i + 2];
        row(`chain:${task.id}:${i + 1}:${frame.name}`, "object-row chain-row frame", [["└ ", "branch"],
          [`${frame.name}()`, "what"], [next ? `awaits ${next.name}() on line ${frame.line}` : `${doing(state, task)} on line ${frame.line}`, "state"]],
        depth + i + 1);
      });
      if (depth < 6) visit(task, depth + 1);
    }
    if (mine.length > CHILDREN) row(`chain-more:${parent ? parent.id : 0}`, "object-row chain-row more", [["", "branch"], [`+${mine.length - CHILDREN} more tasks`, "note"]], depth);
  };
  visit(null, 0);
  return out;
}

const GROUPS = [
  ["semaphore", "Semaphores", "slots, and who waits for one"],
  ["queue", "Queues", "items, first in first out"],
  ["thread", "Worker threads", "a job runs there; the loop stays free"],
  ["shield", "shield()", "a cancel stops at the outer future"],
  ["future", "Futures", "who awaits them, what they got"],
  ["chain", "Await chain", "who made which task, what each awaits, through which coroutines"],
];

export function renderObjects(root, state) {
  // Drawn elsewhere: waits in a semaphore or queue drawn above, and a TaskGroup's (the chain shows it).
  const drawnAbove = Object.keys(state.semaphores).length > 0 || Object.keys(state.queues).length > 0;
  const explained = (f) => f.awaiting.startsWith("its TaskGroup's tasks") || (drawnAbove
    && /^(Bounded)?Semaphore\.acquire|^(Priority|Lifo)?Queue\.(get|put)\(/.test(f.awaiting));
  const drawn = {
    chain: chainRows(state), future: futureRows(state, explained), thread: threadRows(state),
    shield: shieldRows(state), semaphore: semaphoreRows(state), queue: queueRows(state),
  };
  const groups = GROUPS.filter(([kind]) => drawn[kind].length);
  root.hidden = groups.length === 0;
  join(root.querySelector("[data-groups]"), groups, ([kind]) => kind, ([, title, hint]) => {
    const group = el("div", "object-group");
    const heading = el("h4", "", title);
    heading.append(" ", el("small", "", `(${hint})`));
    group.append(heading, el("ol", "object-rows"));
    return group;
  }, (group, [kind]) => {
    group.dataset.group = kind;
    const list = group.querySelector("ol");
    rows(list, drawn[kind]);
    drawn[kind].forEach((row, i) => { if (row.depth !== undefined) list.children[i].style.setProperty("--depth", row.depth); });
  });
}
