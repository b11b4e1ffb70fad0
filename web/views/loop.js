// The loop picture: ready queue, the running callback, the timer heap, waiting tasks, finished tasks.
// Chips are keyed by handle / task id; a chip that changes place glides there (FLIP), unless the
// user prefers reduced motion.
import { el, join } from "../join.js";

const SHOWN = 60; // chips per area; the rest are counted
const reducedMotion = () => window.matchMedia("(prefers-reduced-motion: reduce)").matches;

function taskName(state, id) {
  return state.tasks[id] ? state.tasks[id].name : `task ${id}`;
}

function handleText(state, handle) {
  if (handle.task !== null && handle.task !== undefined) {
    return `${handle.label.split(" ")[0]} · ${taskName(state, handle.task)}`;
  }
  return handle.owner ? `${handle.label} · ${taskName(state, handle.owner)}` : handle.label;
}

function chips(container, state, ids, describe) {
  const shown = ids.slice(0, SHOWN);
  join(container, shown, (id) => id, () => el("li", "chip"), (element, id) => {
    const [text, className] = describe(id);
    if (element.textContent !== text) element.textContent = text;
    if (element.className !== className) element.className = className;
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

export function renderLoop(root, state) {
  const positions = glideFor > 0 ? chipPositions(root) : null;
  const area = (name) => root.querySelector(`[data-area="${name}"]`);
  chips(area("ready"), state, state.ready, (id) => {
    const handle = state.handles[id];
    return [handleText(state, handle), `chip handle ${handle.task !== null && handle.task !== undefined ? "step" : "callback"}`];
  });
  const running = state.running !== null && state.handles[state.running] ? [state.running] : [];
  chips(area("running"), state, running, (id) => [handleText(state, state.handles[id]),
    `chip handle running${state.blocked ? " blocked" : ""}`]);
  chips(area("timers"), state, state.timers, (id) => {
    const handle = state.handles[id];
    const left = Math.max(0, handle.when - state.t);
    return [`${handleText(state, handle)} · t=${Number(handle.when.toFixed(4))} (in ${Number(left.toFixed(3))} s)`,
      "chip handle timer"];
  });
  const tasks = Object.values(state.tasks).filter((task) => !task.internal);
  chips(area("waiting"), state, tasks.filter((t) => t.state === "waiting").map((t) => t.id), (id) => {
    const task = state.tasks[id];
    return [`${task.name} awaits ${task.awaiting}`, `chip task waiting${task.cancelling ? " cancelling" : ""}`];
  });
  const done = tasks.filter((t) => t.state === "done").sort((a, b) => a.doneAt - b.doneAt);
  chips(area("done"), state, done.map((t) => t.id), (id) => {
    const task = state.tasks[id];
    const said = { result: `returned ${task.detail}`, exception: `raised ${task.detail}`, cancelled: "cancelled" };
    return [`${task.name}: ${said[task.outcome]}`, `chip task done ${task.outcome}`];
  });
  root.classList.toggle("is-blocked", Boolean(state.blocked));
  root.classList.toggle("is-idle", Boolean(state.idle));
  const clock = root.querySelector("[data-clock]");
  clock.textContent = `t = ${state.t.toFixed(3)} s · iteration ${state.iteration}`;
  const banner = root.querySelector("[data-blocked]");
  banner.hidden = !state.blocked;
  if (state.blocked) {
    const where = state.blocked.line ? ` at line ${state.blocked.line}` : "";
    const why = state.blocked.cause === "sleep" ? "time.sleep()" : "code that keeps computing";
    banner.textContent = `Loop blocked for ${Number(state.blocked.duration.toFixed(3))} s by ${why}${where}: nothing else can run.`;
  }
  const idle = root.querySelector("[data-idle]");
  idle.textContent = state.idle ? (state.idle.until === null ? "waiting for I/O" : `sleeping until t=${Number(state.idle.until.toFixed(4))}`) : "";
  if (positions) glide(root, positions, glideFor);
}

// FLIP: where every chip was before this render.
// Only callback chips travel between areas (timers → ready → running); task chips just appear.
const TRAVELLING = '[data-area="ready"] .chip, [data-area="running"] .chip, [data-area="timers"] .chip';

function chipPositions(root) {
  const positions = new Map();
  for (const chip of root.querySelectorAll(TRAVELLING)) positions.set(chip.dataset.key, chip.getBoundingClientRect());
  return positions;
}

function glide(root, positions, duration) {
  if (reducedMotion()) return;
  for (const chip of root.querySelectorAll(TRAVELLING)) {
    const before = positions.get(chip.dataset.key);
    if (!before) {
      chip.animate([{ opacity: 0, transform: "scale(0.6)" }, { opacity: 1, transform: "none" }], { duration });
      continue;
    }
    const after = chip.getBoundingClientRect();
    const dx = before.left - after.left;
    const dy = before.top - after.top;
    if (Math.abs(dx) > 1 || Math.abs(dy) > 1) {
      chip.animate([{ transform: `translate(${dx}px, ${dy}px)` }, { transform: "none" }], { duration, easing: "ease-out" });
    }
  }
}
