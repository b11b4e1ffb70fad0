// The loop picture: the cycle of _run_once with its phase lit and the running callback at its hub,
// the ready queue (this iteration's, then the next's), the timer heap on a time axis, the tasks.
// Chips are keyed by handle / task id; a chip that changes place glides there (FLIP), unless the
// user prefers reduced motion.
import { el, join } from "../join.js";
import { isInternalTask, plainLabel } from "../plain.js";
import { settings } from "../settings.js";

const SHOWN = 60; // chips in the ready queue, which wraps them in rows; the rest are counted
// Chips in an area that stacks them one a line (the timer heap, the tasks' columns): with 60 each, at
// the event cap they made the page 5,700 px long and most of each frame's layout (2,000 tasks).
const STACKED = 20;
const reducedMotion = () => window.matchMedia("(prefers-reduced-motion: reduce)").matches;

function taskName(state, id) {
  return state.tasks[id] ? state.tasks[id].name : `task ${id}`;
}

const said = (label) => (settings.internals ? label : plainLabel(label, settings.source));

function handleText(state, handle) {
  if (handle.task !== null && handle.task !== undefined) {
    if (!settings.internals && isInternalTask(state, handle.task)) return "asyncio.run()'s own shutdown work";
    return `${handle.label.split(" ")[0]} · ${taskName(state, handle.task)}`;
  }
  return handle.owner ? `${said(handle.label)} · ${taskName(state, handle.owner)}` : said(handle.label);
}

// `describe(id, place)` -> [text, className, extra]: extra is a timer's share of the axis (0..1)
// or a ready handle's turn ("this" / "next" iteration).
function chips(container, state, ids, describe, most = STACKED) {
  const shown = ids.slice(0, most);
  join(container, shown, (id) => id, () => el("li", "chip"), (element, id, place) => {
    const [text, className, extra] = describe(id, place);
    if (element.textContent !== text) element.textContent = text;
    if (element.className !== className) element.className = className;
    if (typeof extra === "number") {
      const left = extra.toFixed(3);
      if (element.left !== left) element.style.setProperty("--left", (element.left = left)); // (a style change costs a recalculation)
    } else if (extra && element.dataset.turn !== extra) element.dataset.turn = extra;
  });
  const more = ids.length - shown.length;
  const label = more > 0 ? `+${more} more` : "";
  if (container.dataset.more !== label) container.dataset.more = label;
}

// How long chips glide (ms), set from the playback speed: 0 for no gliding.
let glideFor = 350;
export function setGlide(milliseconds) {
  glideFor = milliseconds;
}

// Seconds, as a learner reads them: 2 s, 0.5 s, 0.001 s.
const secs = (value) => `${Number(value.toFixed(3))} s`;

function timerRow(state, handle, furthest) {
  const left = handle.when - state.t;
  const said = left > 1e-9 ? `in ${secs(left)}` : left < -1e-9 ? `overdue by ${secs(-left)}` : "due now";
  return [`${handleText(state, handle)} · t=${Number(handle.when.toFixed(4))} (${said})`,
    `chip handle timer${left < -1e-9 ? " overdue" : ""}`, furthest > 0 ? Math.max(0, left) / furthest : 0];
}

// Each task is in one place only: ready or running (its step is queued or runs), waiting, or done.
const TASK_SAYS = {
  ready: (task) => `${task.name} · ready`,
  // (a task whose last step finished it is done, though that step has not returned yet: said so)
  running: (task) => (task.finished ? `${task.name} · done, its last step ending` : `${task.name} · running`),
  waiting: (task) => `${task.name} awaits ${said(task.awaiting)}`,
};

// The tasks shown, by their place on the board (one pass over them: 2,000 at the event cap).
function tasksByPlace(state) {
  const active = [];
  const waiting = [];
  const done = [];
  for (const task of Object.values(state.tasks)) {
    if (task.internal && !settings.internals) continue;
    if (task.state === "waiting") waiting.push(task);
    else if (task.state === "done") done.push(task);
    else active.push(task);
  }
  done.sort((a, b) => a.doneAt - b.doneAt);
  return { active, waiting, done };
}

// Returns the chips' glide, if any, for app.js to run once every view has drawn (it reads the layout).
export function renderLoop(root, state) {
  const positions = glideFor > 0 && !reducedMotion() ? chipPositions(root) : null;
  const area = (name) => root.querySelector(`[data-area="${name}"]`);
  // The ready queue in two parts: what this iteration runs, then what waits for the next one.
  const ready = area("ready");
  const split = state.nextFrom === null ? state.ready.length : state.nextFrom;
  for (const [turn, ids] of [["this", state.ready.slice(0, split)], ["next", state.ready.slice(split)]]) {
    chips(ready.querySelector(`[data-turn="${turn}"]`), state, ids, (id) => {
      const handle = state.handles[id];
      return [handleText(state, handle), `chip handle ${handle.task !== null && handle.task !== undefined ? "step" : "callback"}`, turn];
    }, SHOWN);
  }
  ready.querySelector(".fifo-divider").hidden = state.nextFrom === null;
  const running = state.running !== null && state.handles[state.running] ? [state.running] : [];
  chips(area("running"), state, running, (id) => [handleText(state, state.handles[id]),
    `chip handle running${state.blocked ? " blocked" : ""}`]);
  const furthest = Math.max(0, ...state.timers.slice(0, STACKED).map((id) => state.handles[id].when - state.t));
  chips(area("timers"), state, state.timers, (id) => timerRow(state, state.handles[id], furthest));
  const { active, waiting, done } = tasksByPlace(state);
  chips(area("active"), state, active.map((t) => t.id), (id) => {
    const task = state.tasks[id];
    return [TASK_SAYS[task.state](task), `chip task ${task.state}${task.cancelling ? " cancelling" : ""}`];
  });
  chips(area("waiting"), state, waiting.map((t) => t.id), (id) => {
    const task = state.tasks[id];
    return [TASK_SAYS.waiting(task), `chip task waiting${task.cancelling ? " cancelling" : ""}`];
  });
  chips(area("done"), state, done.map((t) => t.id), (id) => {
    const task = state.tasks[id];
    const said = { result: `returned ${task.detail}`, exception: `raised ${task.detail}`, cancelled: "cancelled" };
    return [`${task.name}: ${said[task.outcome]}`, `chip task done ${task.outcome}`];
  });
  const cycle = root.querySelector(".cycle");
  const phase = state.phase || "";
  if (cycle.dataset.phase !== phase) cycle.dataset.phase = phase;
  root.classList.toggle("is-blocked", Boolean(state.blocked));
  root.classList.toggle("is-idle", Boolean(state.idle));
  const clock = root.querySelector("[data-clock]");
  clock.textContent = `t = ${state.t.toFixed(3)} s · iteration ${state.iteration}`;
  const banner = root.querySelector("[data-blocked]");
  banner.hidden = !state.blocked;
  if (state.blocked) {
    const where = state.blocked.line ? ` at line ${state.blocked.line}` : "";
    const { cause, call } = state.blocked;
    const why = cause === "sleep" ? "time.sleep()"
      : cause === "wait" ? `a blocking wait${call ? ` in ${call}()` : ""}` : "code that keeps computing";
    banner.textContent = `Loop blocked for ${Number(state.blocked.duration.toFixed(3))} s by ${why}${where}: nothing else can run.`;
  }
  const idle = root.querySelector("[data-idle]");
  idle.textContent = state.idle ? (state.idle.until === null ? "waiting for I/O" : `sleeping until t=${Number(state.idle.until.toFixed(4))}`) : "";
  const duration = glideFor;
  return positions && (() => glide(root, positions, duration));
}

// FLIP: where every chip was before this render.
// Only callback chips travel between areas (timers → ready → running); task chips just appear.
const TRAVELLING = '[data-area="ready"] .chip, [data-area="running"] .chip, [data-area="timers"] .chip';

function chipPositions(root) {
  const positions = new Map();
  for (const chip of root.querySelectorAll(TRAVELLING)) positions.set(chip.dataset.key, chip.getBoundingClientRect());
  return positions;
}

// Every chip's place is read before any animation starts: an animation started between two reads
// made each read lay the page out again (once per travelling chip, up to 81 a frame).
function glide(root, positions, duration) {
  if (reducedMotion()) return;
  const chips = [...root.querySelectorAll(TRAVELLING)];
  const after = chips.map((chip) => positions.has(chip.dataset.key) && chip.getBoundingClientRect());
  chips.forEach((chip, i) => {
    const before = positions.get(chip.dataset.key);
    if (!before) {
      chip.animate([{ opacity: 0, transform: "scale(0.6)" }, { opacity: 1, transform: "none" }], { duration });
      return;
    }
    const dx = before.left - after[i].left;
    const dy = before.top - after[i].top;
    if (Math.abs(dx) > 1 || Math.abs(dy) > 1) {
      chip.animate([{ transform: `translate(${dx}px, ${dy}px)` }, { transform: "none" }], { duration, easing: "ease-out" });
    }
  });
}
