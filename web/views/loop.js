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
  join(container, shown, (id) => id, () => el("li", "chip"), (element, id) => describe(element, id));
  const more = ids.length - shown.length;
  container.dataset.more = more > 0 ? `+${more} more` : "";
}

export function renderLoop(root, state, positions) {
  const area = (name) => root.querySelector(`[data-area="${name}"]`);
  chips(area("ready"), state, state.ready, (element, id) => {
    const handle = state.handles[id];
    element.textContent = handleText(state, handle);
    element.className = `chip handle ${handle.task !== null && handle.task !== undefined ? "step" : "callback"}`;
    element.dataset.handle = id;
  });
  const running = state.running !== null && state.handles[state.running] ? [state.running] : [];
  chips(area("running"), state, running, (element, id) => {
    element.textContent = handleText(state, state.handles[id]);
    element.className = `chip handle running${state.blocked ? " blocked" : ""}`;
    element.dataset.handle = id;
  });
  chips(area("timers"), state, state.timers, (element, id) => {
    const handle = state.handles[id];
    const left = Math.max(0, handle.when - state.t);
    element.textContent = `${handleText(state, handle)} · t=${Number(handle.when.toFixed(4))} (in ${Number(left.toFixed(3))} s)`;
    element.className = "chip handle timer";
    element.dataset.handle = id;
  });
  const tasks = Object.values(state.tasks).filter((task) => !task.internal);
  chips(area("waiting"), state, tasks.filter((t) => t.state === "waiting").map((t) => t.id), (element, id) => {
    const task = state.tasks[id];
    element.textContent = `${task.name} awaits ${task.awaiting}`;
    element.className = `chip task waiting${task.cancelling ? " cancelling" : ""}`;
    element.dataset.task = id;
  });
  const done = tasks.filter((t) => t.state === "done").sort((a, b) => a.doneAt - b.doneAt);
  chips(area("done"), state, done.map((t) => t.id), (element, id) => {
    const task = state.tasks[id];
    const said = { result: `returned ${task.detail}`, exception: `raised ${task.detail}`, cancelled: "cancelled" };
    element.textContent = `${task.name}: ${said[task.outcome]}`;
    element.className = `chip task done ${task.outcome}`;
    element.dataset.task = id;
    element.title = task.detail;
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
  if (positions) glide(root, positions);
}

// FLIP: where every chip was before this render.
export function chipPositions(root) {
  const positions = new Map();
  for (const chip of root.querySelectorAll(".chip[data-handle]")) positions.set(`h${chip.dataset.handle}`, chip.getBoundingClientRect());
  for (const chip of root.querySelectorAll(".chip[data-task]")) positions.set(`t${chip.dataset.task}`, chip.getBoundingClientRect());
  return positions;
}

function glide(root, positions) {
  if (reducedMotion()) return;
  for (const chip of root.querySelectorAll(".chip")) {
    const key = chip.dataset.handle !== undefined ? `h${chip.dataset.handle}` : `t${chip.dataset.task}`;
    const before = positions.get(key);
    if (!before) {
      chip.animate([{ opacity: 0, transform: "scale(0.6)" }, { opacity: 1, transform: "none" }], { duration: 250 });
      continue;
    }
    const after = chip.getBoundingClientRect();
    const dx = before.left - after.left;
    const dy = before.top - after.top;
    if (Math.abs(dx) > 1 || Math.abs(dy) > 1) {
      chip.animate([{ transform: `translate(${dx}px, ${dy}px)` }, { transform: "none" }], { duration: 350, easing: "ease-out" });
    }
  }
}
